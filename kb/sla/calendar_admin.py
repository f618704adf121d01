"""Admin CRUD of custom calendars (the shipped ``24x7`` and ``cn-business`` are read-only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.auth import audit
from kb.auth.permissions import Principal, check_admin
from kb.db import utcnow
from kb.exceptions import Conflict, InvalidInput, NotFound
from kb.sla import custom, policies
from kb.sla.builtin import builtin_calendars
from kb.sla.models import CalendarDay, CalendarYear, SlaCalendar

EDITABLE = ("zone", "week", "holidays", "description")


def _snapshot(row: SlaCalendar) -> dict[str, Any]:
    return {
        "name": row.name,
        "zone": row.zone,
        "week": row.week,
        "holidays": row.holidays,
        "description": row.description,
        "version": row.version,
    }


def _validate(values: Mapping[str, Any]) -> None:
    custom.check_zone(str(values["zone"]))
    custom.parse_week(values["week"])
    if values["holidays"] not in custom.HOLIDAY_SOURCES:
        raise InvalidInput("holidays：只能是 cn（中国大陆节假日与调休）或 none", details={"field": "holidays"})


def get(session: Session, name: str) -> SlaCalendar:
    """A custom calendar or 404 (409 for a shipped one, which cannot be edited)."""
    if name in builtin_calendars():
        raise Conflict(f"日历“{name}”是内置日历，不能修改或删除；可以新建一个日历", details={"field": "name"})
    row = session.scalar(select(SlaCalendar).where(SlaCalendar.name == name))
    if row is None:
        raise NotFound(f"没有名为“{name}”的自定义日历")
    return row


def create(session: Session, values: Mapping[str, Any], principal: Principal) -> SlaCalendar:
    """Define a new calendar; audited."""
    check_admin(principal, "维护日历")
    name = str(values.get("name", ""))
    if not custom.NAME_PATTERN.match(name):
        raise InvalidInput("name：日历名称用 2–50 个小写字母、数字、- 或 _", details={"field": "name"})
    if name in builtin_calendars() or session.scalar(select(SlaCalendar.id).where(SlaCalendar.name == name)):
        raise Conflict(f"日历“{name}”已存在", details={"field": "name"})
    merged = {"zone": "Asia/Shanghai", "holidays": "none", "description": "", **values}
    _validate(merged)
    row = SlaCalendar(
        name=name,
        zone=merged["zone"],
        week={str(k): v for k, v in merged["week"].items()},
        holidays=merged["holidays"],
        description=merged["description"],
        updated_by=principal.name,
        updated_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor=principal.name, action="sla.calendar_create", entity_type="calendar",
        entity_id=name, before=None, after=_snapshot(row),
    )  # fmt: skip
    return row


def update(
    session: Session, name: str, changes: Mapping[str, Any], principal: Principal, expected_version: int | None
) -> SlaCalendar:
    """Change a custom calendar (optimistic locking); audited, every ticket's clocks replayed."""
    check_admin(principal, "维护日历")
    row = get(session, name)
    if expected_version is not None and expected_version != row.version:
        raise Conflict(f"日历已被他人修改（当前版本 {row.version}），请刷新后重试", details={"version": row.version})
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(f"不能修改的字段：{', '.join(unknown)}", details={"field": unknown[0]})
    before = _snapshot(row)
    merged = {**before, **changes}
    _validate(merged)
    row.zone, row.holidays, row.description = merged["zone"], merged["holidays"], merged["description"]
    row.week = {str(k): v for k, v in merged["week"].items()}
    row.version += 1
    row.updated_by, row.updated_at = principal.name, utcnow()
    audit.record(
        session, actor=principal.name, action="sla.calendar_update", entity_type="calendar",
        entity_id=name, before=before, after=_snapshot(row),
    )  # fmt: skip
    policies.replay_all(session)
    return row


def delete(session: Session, name: str, principal: Principal) -> None:
    """Remove a custom calendar no policy uses (409 naming the use otherwise); audited."""
    check_admin(principal, "维护日历")
    row = get(session, name)
    if name in policies.calendars_in_use(session):
        raise Conflict(f"日历“{name}”仍被 SLA 策略使用，请先修改这些策略", details={"field": "name"})
    audit.record(
        session, actor=principal.name, action="sla.calendar_delete", entity_type="calendar",
        entity_id=name, before=_snapshot(row), after=None,
    )  # fmt: skip
    session.execute(sql_delete(CalendarDay).where(CalendarDay.calendar == name))
    session.execute(sql_delete(CalendarYear).where(CalendarYear.calendar == name))
    session.delete(row)
