"""The calendars in force: the shipped ones with the holidays and make-up days admins loaded on top."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kb.auth import audit
from kb.auth.permissions import Principal, check_admin
from kb.db import utcnow
from kb.exceptions import InvalidInput
from kb.sla import custom
from kb.sla.builtin import builtin_calendars
from kb.sla.calendar import BusinessCalendar
from kb.sla.daysfile import DayEntry
from kb.sla.models import HOLIDAY, CalendarDay, CalendarYear, SlaCalendar


def calendars(session: Session) -> dict[str, BusinessCalendar]:
    """Every calendar by name, with admin-loaded days applied."""
    found = builtin_calendars()
    for row in session.scalars(select(SlaCalendar)):
        if row.name not in found:
            found[row.name] = custom.build(row)
    days = session.scalars(select(CalendarDay)).all()
    years = session.execute(select(CalendarYear.calendar, CalendarYear.year)).all()
    for name, calendar in list(found.items()):
        mine = [d for d in days if d.calendar == name]
        loaded_years = {year for calendar_name, year in years if calendar_name == name}
        if not mine and not loaded_years:
            continue
        holidays, workdays = dict(calendar.holidays), dict(calendar.workdays)
        for day in mine:
            (holidays if day.kind == HOLIDAY else workdays)[day.day] = day.name or (
                "节假日" if day.kind == HOLIDAY else "调休"
            )
            (workdays if day.kind == HOLIDAY else holidays).pop(day.day, None)
        known = None if calendar.known_years is None else frozenset(calendar.known_years | loaded_years)
        found[name] = dataclasses.replace(calendar, holidays=holidays, workdays=workdays, known_years=known)
    return found


def get_calendar(session: Session, name: str) -> BusinessCalendar:
    """The calendar called ``name`` or a 422 listing the available ones."""
    available = calendars(session)
    if name not in available:
        raise InvalidInput(
            f"没有名为“{name}”的日历，可用：{', '.join(sorted(available))}", details={"field": "calendar"}
        )
    return available[name]


def load_days(session: Session, name: str, entries: Sequence[DayEntry], principal: Principal) -> list[int]:
    """Replace the admin-loaded days of the years in ``entries`` and mark those years as known; audited."""
    check_admin(principal, "维护节假日")
    calendar = get_calendar(session, name)
    if calendar.known_years is None:
        raise InvalidInput(f"日历“{name}”全天候工作，没有节假日", details={"field": "calendar"})
    years = sorted({entry.day.year for entry in entries})
    for year in years:
        session.execute(
            delete(CalendarDay).where(
                CalendarDay.calendar == name, CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))
            )
        )
        if session.scalar(select(CalendarYear).where(CalendarYear.calendar == name, CalendarYear.year == year)) is None:
            session.add(CalendarYear(calendar=name, year=year, created_by=principal.name, created_at=utcnow()))
    for entry in entries:
        session.add(
            CalendarDay(
                calendar=name,
                day=entry.day,
                kind=entry.kind,
                name=entry.name,
                created_by=principal.name,
                created_at=utcnow(),
            )
        )
    audit.record(
        session,
        actor=principal.name,
        action="sla.calendar_days",
        entity_type="calendar",
        entity_id=name,
        before=None,
        after={"years": years, "days": [[e.day.isoformat(), e.kind, e.name] for e in entries]},
    )
    return years


def calendar_warning(calendar: BusinessCalendar, year: int) -> str | None:
    """A loud warning when this or next year's holidays are unknown (None when all is well)."""
    missing = [y for y in (year, year + 1) if not calendar.has_data_for(y)]
    if not missing:
        return None
    years = "、".join(str(y) for y in missing)
    return f"日历“{calendar.name}”缺少 {years} 年的节假日和调休数据：这些年份按普通工作日计算，请管理员导入"
