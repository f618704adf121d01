"""The due-time calculator: "when is this due?" for staff and other systems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.deps import ApiPrincipal, ServicesDep
from kb.exceptions import InvalidInput
from kb.sla import calendar as business_time
from kb.sla import registry
from kb.sla.daysfile import FORMATS, read_days
from kb.sla.explain import explain_due
from kb.sla.registry import calendar_warning

router = APIRouter(prefix="/api/v1/sla", tags=["sla"])


class PauseIn(BaseModel):
    """A period during which the clock stops."""

    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> PauseIn:
        if self.end <= self.start:
            raise ValueError("暂停的结束时间必须晚于开始时间")
        return self


class DueIn(BaseModel):
    """What to compute: a start, an amount of working time, a calendar and optional pauses."""

    model_config = ConfigDict(extra="forbid")

    calendar: str = Field(description="日历名称，如 cn-business、24x7")
    start: datetime = Field(description="ISO 8601；没有时区时按日历所在时区理解")
    business_minutes: float = Field(description="工作分钟数（不能为负）", le=10_000_000)
    pauses: list[PauseIn] = Field(default_factory=list, max_length=1000)

    @field_validator("business_minutes")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("工作时长不能为负数")
        return value


class DueOut(BaseModel):
    """The due time (ISO 8601 with the calendar's offset) and why."""

    due_at: datetime
    explanation: str
    missing_holiday_years: list[int]


@router.post("/due", response_model=DueOut)
def due(body: DueIn, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """When is something due that needs ``business_minutes`` of working time from ``start``?"""
    with services.db.session(write=False) as session:
        calendar = registry.get_calendar(session, body.calendar)

    def aware(moment: datetime) -> datetime:
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=calendar.tz)

    start = aware(body.start)
    pauses = [(aware(p.start), aware(p.end)) for p in body.pauses]
    try:
        result = business_time.add_business_minutes(calendar, start, body.business_minutes, pauses)
    except business_time.CalendarError as exc:
        raise InvalidInput(str(exc)) from None
    return DueOut(
        due_at=result.due_at.astimezone(calendar.tz),
        explanation=explain_due(calendar, start, body.business_minutes, result, pauses),
        missing_holiday_years=business_time.missing_years(calendar, start, result.due_at),
    )


class CalendarOut(BaseModel):
    """A calendar: its zone, which years its holidays are known for, and any warning."""

    name: str
    zone: str
    known_years: list[int] | None
    holidays: int
    makeup_workdays: int
    warning: str | None


class DaysIn(BaseModel):
    """A holidays file's content and its format."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(description="yaml、csv 或 ics")
    content: str = Field(max_length=2_000_000)
    filename: str = Field(default="上传的文件", max_length=200)


@router.get("/calendars", response_model=list[CalendarOut])
def list_calendars(services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Calendars with the years their holiday data covers and a warning for missing years."""
    year = datetime.now(UTC).year
    with services.db.session(write=False) as session:
        found = registry.calendars(session)
    return [
        CalendarOut(
            name=c.name,
            zone=c.zone,
            known_years=None if c.known_years is None else sorted(c.known_years),
            holidays=len(c.holidays),
            makeup_workdays=len(c.workdays),
            warning=calendar_warning(c, year),
        )
        for c in found.values()
    ]


@router.post("/calendars/{name}/days")
def load_days(name: str, body: DaysIn, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Admins: load a year's holidays and make-up workdays (YAML, CSV or iCalendar) without a release."""
    if body.format not in FORMATS:
        raise InvalidInput(f"不支持的格式“{body.format}”，可选：{', '.join(FORMATS)}", details={"field": "format"})
    entries = read_days(body.content, body.format, body.filename)
    with services.db.session() as session:
        years = registry.load_days(session, name, entries, principal)
    return {"calendar": name, "years": years, "days": len(entries)}
