"""Business calendars: working hours per weekday, public holidays, make-up workdays (调休), a time zone.

All arithmetic walks the calendar's working intervals (aware datetimes converted to UTC), so daylight-saving
changes, lunch breaks, overnight and weekend spans and holidays need no special cases. Pauses are UTC intervals
subtracted from working time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Block = tuple[time, time]  # [start, end) local wall-clock time; end may be time(0) meaning midnight
Interval = tuple[datetime, datetime]  # [start, end) in UTC

WHOLE_DAY: tuple[Block, ...] = ((time(0), time(0)),)
MAX_SCAN_DAYS = 3660  # ten years of calendar: no real target needs more, and a bad input cannot loop forever


class CalendarError(ValueError):
    """A due time cannot be computed (for example a calendar with no working time at all)."""


@dataclass(frozen=True)
class BusinessCalendar:
    """A named working-time calendar.

    ``week`` maps weekday (0 = Monday) to its working blocks; ``holidays`` are days off whatever the weekday;
    ``workdays`` are make-up working days (usually weekend days) that get ``workday_blocks``. ``known_years``
    says which years the holiday data covers (None: the calendar has no holidays, e.g. 24x7).
    """

    name: str
    zone: str
    week: dict[int, tuple[Block, ...]]
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str] = field(default_factory=dict)
    known_years: frozenset[int] | None = None
    workday_blocks: tuple[Block, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        """The calendar's time zone."""
        return ZoneInfo(self.zone)

    def blocks_on(self, day: date) -> tuple[Block, ...]:
        """Working blocks of a local date (empty on days off)."""
        if day in self.holidays:
            return ()
        if day in self.workdays:
            return self.workday_blocks or self.week.get(0, ())
        return self.week.get(day.weekday(), ())

    def has_data_for(self, year: int) -> bool:
        """Whether holidays and make-up days of ``year`` are known (always true without holiday data)."""
        return self.known_years is None or year in self.known_years

    def intervals_on(self, day: date) -> list[Interval]:
        """Working intervals of a local date, in UTC."""
        zone = self.tz
        found: list[Interval] = []
        for start, end in self.blocks_on(day):
            local_start = datetime.combine(day, start, zone)
            end_day = day + timedelta(days=1) if end == time(0) else day
            local_end = datetime.combine(end_day, end, zone)
            start_utc, end_utc = local_start.astimezone(UTC), local_end.astimezone(UTC)
            if end_utc > start_utc:
                found.append((start_utc, end_utc))
        return found

    def intervals_from(self, start: datetime) -> Iterator[Interval]:
        """Working intervals (UTC) that end after ``start``, clipped to begin no earlier than it, in order."""
        start_utc = start.astimezone(UTC)
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        for _ in range(MAX_SCAN_DAYS):
            for begin, end in self.intervals_on(day):
                if end > start_utc:
                    yield (max(begin, start_utc), end)
            day += timedelta(days=1)


def subtract(intervals: Sequence[Interval], pauses: Sequence[Interval]) -> list[Interval]:
    """``intervals`` minus every pause (all UTC, each list sorted or not)."""
    result = list(intervals)
    for pause_start, pause_end in pauses:
        kept: list[Interval] = []
        for begin, end in result:
            if pause_end <= begin or pause_start >= end:
                kept.append((begin, end))
                continue
            if begin < pause_start:
                kept.append((begin, pause_start))
            if pause_end < end:
                kept.append((pause_end, end))
        result = kept
    return result


@dataclass(frozen=True)
class DueTime:
    """A computed due time and the working intervals that were counted to reach it."""

    due_at: datetime
    counted: list[Interval]
    paused_minutes: float


def _as_utc_pauses(pauses: Sequence[Interval]) -> list[Interval]:
    return sorted((a.astimezone(UTC), b.astimezone(UTC)) for a, b in pauses if b > a)


def add_business_minutes(
    calendar: BusinessCalendar, start: datetime, minutes: float, pauses: Sequence[Interval] = ()
) -> DueTime:
    """The moment ``minutes`` of working time after ``start``, not counting pauses."""
    if minutes < 0:
        raise CalendarError("工作时长不能为负数")
    remaining = timedelta(minutes=minutes)
    utc_pauses = _as_utc_pauses(pauses)
    counted: list[Interval] = []
    paused = timedelta()
    cursor = start.astimezone(UTC)
    if remaining == timedelta():
        return DueTime(cursor, [], 0.0)
    for interval in calendar.intervals_from(start):
        pieces = subtract([interval], utc_pauses)
        paused += (interval[1] - interval[0]) - sum((b - a for a, b in pieces), timedelta())
        for begin, end in pieces:
            length = end - begin
            if length >= remaining:
                counted.append((begin, begin + remaining))
                return DueTime(begin + remaining, counted, paused.total_seconds() / 60)
            counted.append((begin, end))
            remaining -= length
    raise CalendarError(f"日历“{calendar.name}”在 {MAX_SCAN_DAYS} 天内没有足够的工作时间")


def business_minutes_between(
    calendar: BusinessCalendar, start: datetime, end: datetime, pauses: Sequence[Interval] = ()
) -> float:
    """Working minutes in [start, end), not counting pauses."""
    end_utc = end.astimezone(UTC)
    if end_utc <= start.astimezone(UTC):
        return 0.0
    total = timedelta()
    utc_pauses = _as_utc_pauses(pauses)
    for begin, finish in calendar.intervals_from(start):
        if begin >= end_utc:
            break
        for a, b in subtract([(begin, min(finish, end_utc))], utc_pauses):
            total += b - a
    return total.total_seconds() / 60


def missing_years(calendar: BusinessCalendar, start: datetime, end: datetime) -> list[int]:
    """Years between ``start`` and ``end`` (local) whose holidays the calendar does not know."""
    first, last = start.astimezone(calendar.tz).year, end.astimezone(calendar.tz).year
    return [year for year in range(first, last + 1) if not calendar.has_data_for(year)]
