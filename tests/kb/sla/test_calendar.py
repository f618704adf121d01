"""Business-time arithmetic against a deliberately simple reference: walk the clock one minute at a time."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.sla.builtin import around_the_clock, cn_business
from kb.sla.calendar import (
    BusinessCalendar,
    CalendarError,
    Interval,
    add_business_minutes,
    business_minutes_between,
    missing_years,
)

MINUTE = timedelta(minutes=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A zone with daylight saving time, lunch breaks, an overnight shift and its own holidays and make-up days.
BERLIN = BusinessCalendar(
    "berlin-shifts",
    "Europe/Berlin",
    {
        **{d: ((time(8), time(12)), (time(13), time(17, 30)), (time(22), time(0))) for d in range(5)},
        **{d: ((time(0), time(2)),) for d in range(1, 6)},
    },
    holidays={date(2026, 3, 30): "test holiday", date(2026, 10, 26): "test holiday"},
    workdays={date(2026, 3, 28): "make-up", date(2026, 10, 24): "make-up"},
    known_years=frozenset({2026}),
    workday_blocks=((time(9), time(15)),),
)
CALENDARS = [cn_business(), around_the_clock(), BERLIN]


_RANGES: dict[tuple[str, date], tuple[tuple[int, int], ...]] = {}


def _minute_ranges(calendar: BusinessCalendar, day: date) -> tuple[tuple[int, int], ...]:
    key = (calendar.name, day)
    if key not in _RANGES:
        _RANGES[key] = tuple(
            (start.hour * 60 + start.minute, 1440 if end == time(0) else end.hour * 60 + end.minute)
            for start, end in calendar.blocks_on(day)
        )
    return _RANGES[key]


def working(calendar: BusinessCalendar, moment: datetime) -> bool:
    """Whether the minute starting at ``moment`` is working time: its local wall-clock time is in a block."""
    local = moment.astimezone(calendar.tz)
    minute = local.hour * 60 + local.minute
    return any(a <= minute < b for a, b in _minute_ranges(calendar, local.date()))


def paused(pauses: list[Interval], moment: datetime) -> bool:
    """Whether ``moment`` lies in a pause."""
    return any(a <= moment < b for a, b in pauses)


def reference_due(calendar: BusinessCalendar, start: datetime, minutes: int, pauses: list[Interval]) -> datetime:
    """Walk minute by minute until ``minutes`` working, unpaused minutes have passed."""
    moment, counted = start.astimezone(UTC), 0
    while counted < minutes:
        if working(calendar, moment) and not paused(pauses, moment):
            counted += 1
        moment += MINUTE
    if minutes:
        # The due time is the end of the last counted minute, not the start of the next working one.
        moment -= MINUTE
        while not (working(calendar, moment) and not paused(pauses, moment)):
            moment -= MINUTE
        moment += MINUTE
    return moment


def reference_between(calendar: BusinessCalendar, start: datetime, end: datetime, pauses: list[Interval]) -> int:
    """Count working, unpaused minutes in [start, end) one by one."""
    moment, counted = start.astimezone(UTC), 0
    while moment < end:
        counted += working(calendar, moment) and not paused(pauses, moment)
        moment += MINUTE
    return counted


INTERESTING = [  # holidays, make-up days, DST changes, year ends
    datetime(2026, 9, 28, tzinfo=UTC),
    datetime(2026, 2, 13, tzinfo=UTC),
    datetime(2026, 4, 30, tzinfo=UTC),
    datetime(2026, 3, 27, tzinfo=UTC),
    datetime(2026, 10, 23, tzinfo=UTC),
    datetime(2025, 12, 30, tzinfo=UTC),
    datetime(2026, 6, 17, tzinfo=UTC),
]


def random_case(rng: random.Random) -> tuple[BusinessCalendar, datetime, int, list[Interval]]:
    """A calendar, a minute-aligned start near an interesting date, a duration and up to three pauses."""
    calendar = rng.choice(CALENDARS)
    start = rng.choice(INTERESTING) + timedelta(minutes=rng.randrange(0, 6 * 1440))
    minutes = rng.choice([0, 1, rng.randrange(1, 60), rng.randrange(60, 600), rng.randrange(600, 1500)])
    pauses = []
    for _ in range(rng.randrange(0, 4)):
        begin = start + timedelta(minutes=rng.randrange(-600, 4 * 1440))
        pauses.append((begin, begin + timedelta(minutes=rng.randrange(1, 2000))))
    return calendar, start, minutes, pauses


def test_ten_thousand_random_due_times_match_the_minute_walk() -> None:
    rng = random.Random(20261121)
    for case in range(10_000):
        calendar, start, minutes, pauses = random_case(rng)
        expected = reference_due(calendar, start, minutes, pauses)
        assert add_business_minutes(calendar, start, minutes, pauses).due_at == expected, (case, calendar.name)


def test_random_spans_count_the_same_working_minutes_as_the_minute_walk() -> None:
    rng = random.Random(7)
    for case in range(2_000):
        calendar, start, _minutes, pauses = random_case(rng)
        end = start + timedelta(minutes=rng.randrange(0, 5 * 1440))
        expected = reference_between(calendar, start, end, pauses)
        assert business_minutes_between(calendar, start, end, pauses) == expected, (case, calendar.name)


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from(CALENDARS),
    offset=st.integers(0, 400 * 1440),
    minutes=st.integers(0, 1500),
)
def test_due_times_anywhere_in_2026_match_the_minute_walk(
    calendar: BusinessCalendar, offset: int, minutes: int
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=offset)
    assert add_business_minutes(calendar, start, minutes).due_at == reference_due(calendar, start, minutes, [])


class TestChineseCalendar:
    def test_the_national_day_holiday_is_skipped_and_the_make_up_saturday_counts(self) -> None:
        start = datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI)
        due = add_business_minutes(cn_business(), start, 240).due_at.astimezone(SHANGHAI)
        assert due == datetime(2026, 10, 8, 11, 0, tzinfo=SHANGHAI)
        saturday = datetime(2026, 10, 10, 9, 0, tzinfo=SHANGHAI)  # 调休上班
        assert add_business_minutes(cn_business(), saturday, 60).due_at == saturday + timedelta(hours=1)

    def test_lunch_break_and_evening_are_not_working_time(self) -> None:
        start = datetime(2026, 6, 16, 11, 30, tzinfo=SHANGHAI)
        due = add_business_minutes(cn_business(), start, 60).due_at.astimezone(SHANGHAI)
        assert due == datetime(2026, 6, 16, 14, 0, tzinfo=SHANGHAI)
        late = datetime(2026, 6, 16, 17, 50, tzinfo=SHANGHAI)
        assert add_business_minutes(cn_business(), late, 20).due_at.astimezone(SHANGHAI) == datetime(
            2026, 6, 17, 9, 10, tzinfo=SHANGHAI
        )

    def test_a_year_without_holiday_data_is_reported(self) -> None:
        start = datetime(2026, 12, 30, 9, 0, tzinfo=SHANGHAI)
        due = add_business_minutes(cn_business(), start, 3 * 450).due_at
        assert missing_years(cn_business(), start, due) == [2027]
        assert missing_years(around_the_clock(), start, due) == []

    def test_negative_durations_and_calendars_without_working_time_are_errors(self) -> None:
        with pytest.raises(CalendarError):
            add_business_minutes(cn_business(), datetime(2026, 1, 5, tzinfo=UTC), -1)
        never = BusinessCalendar("never", "UTC", {})
        with pytest.raises(CalendarError):
            add_business_minutes(never, datetime(2026, 1, 5, tzinfo=UTC), 1)
