"""SLA ORM models: admin calendars and days, policies, recorded SLA events, per-ticket report rows, the lease."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kb.db import Base, UTCDateTime, utcnow

HOLIDAY = "holiday"
WORKDAY = "workday"


class CalendarDay(Base):
    """One date of a calendar that is a holiday or a make-up workday, overriding the shipped data."""

    __tablename__ = "sla_calendar_day"
    __table_args__ = (UniqueConstraint("calendar", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calendar: Mapped[str] = mapped_column(String(50), index=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarYear(Base):
    """A year whose holidays an admin loaded in full, so the calendar no longer warns about it."""

    __tablename__ = "sla_calendar_year"
    __table_args__ = (UniqueConstraint("calendar", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calendar: Mapped[str] = mapped_column(String(50))
    year: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlaPolicy(Base):
    """Response and resolution targets for a priority, optionally narrowed to a category and/or a customer."""

    __tablename__ = "sla_policy"
    __table_args__ = (UniqueConstraint("priority", "category", "customer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    priority: Mapped[str] = mapped_column(String(2))
    category: Mapped[str] = mapped_column(String(100), default="")  # "" matches every category
    customer: Mapped[str] = mapped_column(String(100), default="")  # "" matches every customer
    response_minutes: Mapped[int] = mapped_column(Integer)
    response_calendar: Mapped[str] = mapped_column(String(50))
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    resolution_calendar: Mapped[str] = mapped_column(String(50))
    escalate_at: Mapped[int] = mapped_column(Integer, default=100)  # percent of a target that escalates
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlaCalendar(Base):
    """An admin-defined calendar: a zone, weekly working blocks and optionally mainland-China holidays."""

    __tablename__ = "sla_calendar"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    week: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"0": [["09:00", "12:00"], ...], ...}
    holidays: Mapped[str] = mapped_column(String(10), default="none")  # cn | none
    description: Mapped[str] = mapped_column(String(300), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlaEvent(Base):
    """A warning, breach or escalation that happened, at its real moment; unique so it is recorded once."""

    __tablename__ = "sla_event"
    __table_args__ = (UniqueConstraint("ticket_id", "clock", "kind", "threshold"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    clock: Mapped[str] = mapped_column(String(12))  # response | resolution
    kind: Mapped[str] = mapped_column(String(12))  # warning | breach | escalation
    threshold: Mapped[int] = mapped_column(Integer)  # percent of the target
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketSla(Base):
    """The SLA outcome of one ticket for reports, rewritten from its history by every evaluation."""

    __tablename__ = "ticket_sla"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), unique=True)
    priority: Mapped[str] = mapped_column(String(2), default="")
    policy_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    response_state: Mapped[str] = mapped_column(String(10), default="running")
    resolution_state: Mapped[str] = mapped_column(String(10), default="running")
    response_met: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    resolution_met: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    response_business_minutes: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolution_business_minutes: Mapped[float | None] = mapped_column(Float, nullable=True)
    paused_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    # The due time of the running (or breached, still open) clock due next: what "breaching soon" sorts by.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    next_due_clock: Mapped[str] = mapped_column(String(12), default="", server_default="")
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchedulerLease(Base):
    """Who runs a periodic job until when: one row per job, taken over only once expired."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
