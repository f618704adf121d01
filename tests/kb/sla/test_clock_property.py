"""SLA clocks over random ticket histories against a deliberately simple reference: walk the ticket minute by minute.

The reference knows nothing about segments, intervals or pauses as spans. For every minute from the ticket's creation
it asks: which priority and which status were in effect, is this minute working time on that priority's calendar,
and is the clock paused? Counting the minutes that count gives the elapsed time (up to ``now`` or the stop) and the
due time (the end of the minute in which the count reaches the target of the priority in effect at ``now`` or at
the stop: changes after a clock stopped do not count). From the end of the known history on (``now``, or the stop
if the clock has stopped) nothing pauses: the due time is where the clock would reach its target if it kept running.

All moments are whole minutes, so the walk is exact.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.sla.builtin import builtin_calendars, cn_business
from kb.sla.clock import RESOLVED_STATUSES, ClockState, TicketHistory, compute_clock
from kb.sla.policy import DEFAULT_POLICIES, ClockRules, Policy, Target
from kb.ticket.lifecycle import TRANSITIONS

MINUTE = timedelta(minutes=1)
SH = ZoneInfo("Asia/Shanghai")
FIRST_DAY = date(2026, 1, 1)
DAYS = 430  # 2026 and far enough into 2027 for a P4 ticket created on 2026-12-20 with ten days of history
EPOCH = datetime.combine(FIRST_DAY, time(0), SH).astimezone(UTC)  # minute 0 of the walk
CALENDARS = builtin_calendars()
# P2 on business hours and P3 around the clock: a priority change switches calendars in both directions.
MIXED_POLICIES = {
    **DEFAULT_POLICIES,
    "P2": Policy("P2", Target(60, "cn-business"), Target(240, "cn-business")),
    "P3": Policy("P3", Target(240, "24x7"), Target(3 * 450, "24x7")),
}
POLICY_SETS: dict[str, Mapping[str, Policy]] = {"default": DEFAULT_POLICIES, "mixed": MIXED_POLICIES}
PRIORITIES = ("P1", "P2", "P3", "P4")
KINDS = ("response", "resolution")
ACCEPTING = frozenset({"in_progress", "resolved", "closed"})  # as kb.sla.history: accepting a ticket responds


# --- the reference -----------------------------------------------------------------------------------------------


def index(moment: datetime) -> int:
    """The minute number of a whole-minute moment, counted from 2026-01-01 00:00 Shanghai."""
    offset = moment.astimezone(UTC) - EPOCH
    assert offset % MINUTE == timedelta(0), moment
    return offset // MINUTE


def moment_of(minute: int) -> datetime:
    """The moment minute number ``minute`` starts."""
    return EPOCH + minute * MINUTE


@cache
def working_minutes(calendar_name: str) -> bytes:
    """One flag per minute of the walk: 1 where the calendar's blocks for that local day cover the minute."""
    calendar = CALENDARS[calendar_name]
    flags = bytearray(DAYS * 1440)
    for number in range(DAYS):
        day = FIRST_DAY + timedelta(days=number)
        midnight = datetime.combine(day, time(0), SH)
        assert midnight.utcoffset() == timedelta(hours=8)  # no daylight saving in Shanghai: local minute = offset
        first = index(midnight)
        for start, end in calendar.blocks_on(day):
            begin = start.hour * 60 + start.minute
            finish = 1440 if end == time(0) else end.hour * 60 + end.minute
            flags[first + begin : first + finish] = b"\x01" * (finish - begin)
    return bytes(flags)


@dataclass(frozen=True)
class Expected:
    """What the reference says a clock shows."""

    due_at: datetime
    elapsed_minutes: int
    state: str
    target_minutes: int
    calendar: str


def in_effect(changes: Sequence[tuple[int, str]], minute: int) -> str:
    """The value of the last change at or before ``minute`` (the first change is at creation)."""
    value = changes[0][1]
    for since, changed in changes:
        if since <= minute:
            value = changed
    return value


def reference_clock(history: TicketHistory, kind: str, policies: Mapping[str, Policy], now: datetime) -> Expected:
    """The clock at ``now``, by walking minute by minute from the ticket's creation."""
    paused_statuses = ClockRules().pause_statuses | (RESOLVED_STATUSES if kind == "resolution" else frozenset())
    if kind == "response":
        stop = history.responded_at
    else:
        stop = history.statuses[-1][0] if history.statuses[-1][1] in RESOLVED_STATUSES else None
    end = index(min(now, stop) if stop is not None else now)
    # A clock is judged by the priority in effect when it stopped (or now); later changes do not count.
    final_priority = in_effect([(index(since), p) for since, p in history.priorities], end)
    final = getattr(policies[final_priority], kind)
    # Minute numbers instead of datetimes, only so that the walk is quick.
    priorities = [
        (index(since), getattr(policies[priority], kind).calendar)
        for since, priority in history.priorities
        if index(since) <= end
    ]
    statuses = [(index(since), status) for since, status in history.statuses]
    working = {name: working_minutes(name) for name in CALENDARS}

    minute, counted, elapsed, due = index(history.created_at), 0, 0, None
    while due is None or minute < end:
        calendar = in_effect(priorities, minute)
        is_paused = minute < end and in_effect(statuses, minute) in paused_statuses
        if working[calendar][minute] and not is_paused:
            counted += 1
            elapsed += minute < end
            if counted == final.minutes:
                due = moment_of(minute + 1)  # the end of the minute in which the target is reached
        minute += 1

    if stop is not None:
        state = "met" if stop <= due else "missed"
    elif now >= due:
        state = "breached"
    elif in_effect(statuses, index(now)) in paused_statuses:
        state = "paused"
    else:
        state = "running"
    return Expected(due, elapsed, state, final.minutes, final.calendar)


# --- random ticket histories -------------------------------------------------------------------------------------

# Holidays and make-up workdays nearby: Mid-autumn 09-25..09-27 and National Day 10-01..10-07 (make-up Sunday
# 09-20, Saturday 10-10),
# Spring Festival (02-15..02-23, make-up Saturdays 02-14 and 02-28), Labour Day (make-up Saturday 05-09),
# Dragon Boat (06-19), Qingming (04-04..04-06), New Year (make-up Sunday 01-04).
INTERESTING_STARTS = [
    date(2026, 9, 17),
    date(2026, 9, 24),
    date(2026, 10, 8),
    date(2026, 2, 9),
    date(2026, 2, 12),
    date(2026, 2, 26),
    date(2026, 4, 30),
    date(2026, 5, 7),
    date(2026, 6, 17),
    date(2026, 4, 2),
    date(2026, 1, 1),
]
# Minutes of the day around the edges of office hours and midnight.
EDGES = [9 * 60, 12 * 60, 13 * 60 + 30, 18 * 60, 0]


def random_minute_of_day(rng: random.Random) -> int:
    """Mostly any minute, often one within a few minutes of an office-hours edge."""
    if rng.random() < 0.4:
        return (rng.choice(EDGES) + rng.randrange(-3, 4)) % 1440
    return rng.randrange(1440)


def random_created(rng: random.Random) -> datetime:
    """A whole-minute creation moment in 2026 up to 12-20, a fifth of them in the week before a holiday."""
    if rng.random() < 0.2:
        day = rng.choice(INTERESTING_STARTS) + timedelta(days=rng.randrange(7))
    else:
        day = FIRST_DAY + timedelta(days=rng.randrange((date(2026, 12, 20) - FIRST_DAY).days))
    local = datetime.combine(day, time(0), SH) + random_minute_of_day(rng) * MINUTE
    return local if rng.random() < 0.5 else local.astimezone(UTC)


def random_moments(rng: random.Random, created: datetime, span: int, count: int) -> list[datetime]:
    """``count`` sorted whole-minute moments after ``created`` within ``span`` minutes; some fall on the same minute."""
    offsets: list[int] = []
    for _ in range(count):
        if offsets and rng.random() < 0.1:
            offsets.append(rng.choice(offsets))
        else:
            offsets.append(rng.randrange(1, span + 1))
    moments = [created + offset * MINUTE for offset in sorted(offsets)]
    return [m if rng.random() < 0.5 else m.astimezone(SH) for m in moments]


def random_status_path(rng: random.Random) -> list[str]:
    """Statuses after "new" along the ticket lifecycle's transitions, mostly forward, sometimes reopened.

    Loosely: now and then a ticket waits on the user before anyone accepted it (as an imported ticket may), so that
    the response clock pauses too.
    """
    path: list[str] = []
    status = "new"
    for _ in range(rng.randrange(0, 8)):
        choices = [target for sources, target in TRANSITIONS.values() if status in sources]
        if status in {"new", "assigned"} and rng.random() < 0.3:
            choices.append("pending_user")
        weights = [1 if target in {"new", "assigned"} else 3 for target in choices]
        status = rng.choices(choices, weights)[0]
        path.append(status)
    return path


@dataclass(frozen=True)
class Case:
    """A ticket's history as known at ``now`` and the policies to judge it by."""

    history: TicketHistory
    now: datetime
    policies: str


def known_at(
    created: datetime,
    priorities: list[tuple[datetime, str]],
    statuses: list[tuple[datetime, str]],
    reply: datetime | None,
    now: datetime,
) -> TicketHistory:
    """The history as the ticket's event log shows it at ``now``: nothing later, responded by reply or acceptance."""
    priorities = [(at, p) for at, p in priorities if at <= now]
    statuses = [(at, s) for at, s in statuses if at <= now]
    accepted = next((at for at, status in statuses if status in ACCEPTING), None)
    candidates = [m for m in (reply, accepted) if m is not None and m <= now]
    return TicketHistory(created, priorities, statuses, min(candidates) if candidates else None)


def random_case(rng: random.Random) -> Case:
    """A random ticket: 0–3 priority changes, a lifecycle path, maybe a reply, ``now`` within ten days."""
    created = random_created(rng)
    span = rng.choice([90, 8 * 60, 1440, 3 * 1440, 10 * 1440])
    changes = random_moments(rng, created, span, rng.randrange(0, 4))
    priorities = [(created, rng.choice(PRIORITIES))] + [(at, rng.choice(PRIORITIES)) for at in changes]
    path = random_status_path(rng)
    statuses = [(created, "new"), *zip(random_moments(rng, created, span, len(path)), path, strict=True)]
    reply = random_moments(rng, created, span, 1)[0] if rng.random() < 0.5 else None
    policies = rng.choice(list(POLICY_SETS))

    events = [at for at, _ in priorities[1:]] + [at for at, _ in statuses[1:]] + ([reply] if reply else [])
    choice = rng.random()
    if choice < 0.3:  # anywhere in the history (and a little after it)
        now = created + rng.randrange(0, span + 120) * MINUTE
    elif choice < 0.5 and events:  # at or just after an event
        now = rng.choice(events) + rng.choice([0, 0, 1, 5]) * MINUTE
    elif choice < 0.6:  # long after everything
        now = created + (span + rng.randrange(1, 3 * 1440)) * MINUTE
    else:  # at, just before or just after the due time the reference finds for a random moment
        probe = created + rng.randrange(0, span + 1) * MINUTE
        kind = rng.choice(KINDS)
        due = reference_clock(known_at(created, priorities, statuses, reply, probe), kind, POLICY_SETS[policies], probe)
        now = max(created, due.due_at + rng.choice([-1, 0, 0, 1, 30]) * MINUTE)
    return Case(known_at(created, priorities, statuses, reply, now), now, policies)


def check(case: Case, label: object) -> None:
    """Both clocks of ``case`` agree with the minute walk."""
    policies = POLICY_SETS[case.policies]
    for kind in KINDS:
        expected = reference_clock(case.history, kind, policies, case.now)
        actual = compute_clock(case.history, kind, policies, CALENDARS, case.now)
        context = (label, kind, case, expected)
        assert actual.state == expected.state, context
        assert (actual.target_minutes, actual.calendar) == (expected.target_minutes, expected.calendar), context
        assert actual.due_at == expected.due_at, context
        assert abs(actual.elapsed_minutes - expected.elapsed_minutes) <= 0.01, context


def test_ten_thousand_random_histories_match_the_minute_walk() -> None:
    rng = random.Random(20260917)
    for number in range(10_000):
        check(random_case(rng), number)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**64 - 1))
def test_random_histories_from_any_seed_match_the_minute_walk(seed: int) -> None:
    check(random_case(random.Random(seed)), seed)


# --- hand-written edges ------------------------------------------------------------------------------------------


def sh(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in Shanghai in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


def ticket(
    created: datetime,
    priorities: list[tuple[datetime, str]],
    statuses: list[tuple[datetime, str]] | None = None,
    responded: datetime | None = None,
) -> TicketHistory:
    """A history from its changes (the first priority is the creation priority)."""
    return TicketHistory(
        created, [(created, priorities[0][1]), *priorities[1:]], [(created, "new"), *(statuses or [])], responded
    )


def both(history: TicketHistory, kind: str, now: datetime) -> ClockState:
    """The clock from ``compute_clock`` with the default policies, checked against the reference."""
    actual = compute_clock(history, kind, DEFAULT_POLICIES, CALENDARS, now)
    expected = reference_clock(history, kind, DEFAULT_POLICIES, now)
    assert (actual.due_at, actual.elapsed_minutes, actual.state) == (
        expected.due_at,
        expected.elapsed_minutes,
        expected.state,
    )
    return actual


def test_raising_p3_to_p1_after_35_business_minutes_breaches_when_30_were_reached() -> None:
    # Tuesday 11:50: 10 minutes before lunch, 25 after it; P1's 30 minutes were used up at 13:50.
    raised = ticket(sh(6, 16, 11, 50), [(sh(6, 16, 11, 50), "P3"), (sh(6, 16, 13, 55), "P1")])
    for now in (sh(6, 16, 13, 55), sh(6, 16, 14, 0)):
        state = both(raised, "response", now)
        assert state.due_at == sh(6, 16, 13, 50) and state.state == "breached"
    before = both(ticket(sh(6, 16, 11, 50), [(sh(6, 16, 11, 50), "P3")]), "response", sh(6, 16, 13, 54))
    assert before.state == "running"  # a minute earlier it was P3, 34 of 240 minutes


def test_lowering_p1_to_p4_moves_to_business_hours_keeping_the_elapsed_minutes() -> None:
    # Friday 17:00 P1, 180 minutes around the clock, then P4 (1440 business minutes) from Friday 20:00:
    # 1260 left = Monday 450 + Tuesday 450 + Wednesday 360 (09:00–12:00, 13:30–16:30).
    lowered = ticket(sh(6, 12, 17), [(sh(6, 12, 17), "P1"), (sh(6, 12, 20), "P4")])
    state = both(lowered, "response", sh(6, 13, 10))
    assert state.due_at == sh(6, 17, 16, 30) and state.calendar == "cn-business"
    assert (state.elapsed_minutes, state.state) == (180, "running")


def test_a_pause_over_lunch_and_the_weekend_does_not_count() -> None:
    # P3 Friday 11:00, waiting on the user 11:30 → Monday 14:00: 30 minutes before, none of lunch or the weekend.
    created, waits = sh(6, 12, 11), (sh(6, 12, 11, 30), "pending_user")
    waiting = ticket(created, [(created, "P3")], [waits])
    saturday = both(waiting, "resolution", sh(6, 13, 10))
    assert (saturday.state, saturday.elapsed_minutes) == ("paused", 30)
    # While paused, the due time is where the clock would reach its target if it ran on from now: Monday 9:00 + 1320.
    assert saturday.due_at == sh(6, 17, 17, 30)
    back = ticket(created, [(created, "P3")], [waits, (sh(6, 15, 14), "in_progress")])
    resolution = both(back, "resolution", sh(6, 15, 15))
    assert (resolution.state, resolution.elapsed_minutes) == ("running", 90)
    # 1320 left from Monday 14:00: Monday 240, Tuesday 450, Wednesday 450, Thursday 180 → Thursday 12:00.
    assert resolution.due_at == sh(6, 18, 12)
    response = both(back, "response", sh(6, 15, 15))
    assert response.due_at == sh(6, 15, 17, 30)  # 30 + 210 minutes


def test_make_up_workdays_count_for_a_p3_ticket_and_the_mid_autumn_sunday_does_not() -> None:
    assert {date(2026, 9, 20), date(2026, 10, 10)} <= set(cn_business().workdays)
    assert date(2026, 9, 27) in cn_business().holidays
    # Friday 10-09 17:00: 60 minutes on Friday, 180 on the make-up Saturday morning.
    saturday = ticket(sh(10, 9, 17), [(sh(10, 9, 17), "P3")])
    state = both(saturday, "response", sh(10, 10, 10))
    assert state.due_at == sh(10, 10, 12) and state.elapsed_minutes == 120
    # Friday 09-18 17:30: 30 minutes, then the make-up Sunday 09-20 from 09:00.
    sunday = ticket(sh(9, 18, 17, 30), [(sh(9, 18, 17, 30), "P3")])
    state = both(sunday, "response", sh(9, 20, 10))
    assert state.due_at == sh(9, 20, 14) and state.elapsed_minutes == 90
    # Friday 09-25..Sunday 09-27 are Mid-autumn holidays: Thursday 17:00 + 240 runs into Monday 09-28.
    holiday = ticket(sh(9, 24, 17), [(sh(9, 24, 17), "P3")])
    state = both(holiday, "response", sh(9, 26, 10))
    assert state.due_at == sh(9, 28, 12) and state.elapsed_minutes == 60


# --- known bugs: a stopped clock still looks at what happens after the stop ---------------------------------------


def test_a_priority_change_after_the_response_adds_no_elapsed_minutes() -> None:
    # P1 at 10:00, accepted (responded) at 10:05, raised to P2 at 11:00. The response took 5 minutes; compute_clock
    # says 60 (the P1 segment runs to the change at 11:00, past the stop), percent 100.0 instead of 8.3.
    history = ticket(sh(6, 16, 10), [(sh(6, 16, 10), "P1"), (sh(6, 16, 11), "P2")], [(sh(6, 16, 10, 5), "in_progress")])
    history = TicketHistory(history.created_at, history.priorities, history.statuses, sh(6, 16, 10, 5))
    state = both(history, "response", sh(6, 16, 11))
    assert (state.elapsed_minutes, state.state) == (5, "met")


def test_a_priority_change_after_the_resolution_adds_no_elapsed_minutes() -> None:
    # P1 at 10:00, resolved at 10:30, lowered to P2 at 11:00: resolved in 30 minutes, compute_clock says 60.
    history = ticket(sh(6, 16, 10), [(sh(6, 16, 10), "P1"), (sh(6, 16, 11), "P2")], [(sh(6, 16, 10, 30), "resolved")])
    state = both(history, "resolution", sh(6, 16, 11))
    assert (state.elapsed_minutes, state.state) == (30, "met")


def test_a_wait_on_the_user_after_the_response_does_not_move_its_due_time() -> None:
    # P1 at 10:00, accepted at 10:05 (the response: due 10:30, met), waiting on the user 10:10–10:20.
    # While the wait lasts compute_clock says due 10:30; once it is over, 10:40.
    statuses = [(sh(6, 16, 10, 5), "in_progress"), (sh(6, 16, 10, 10), "pending_user")]
    waiting = ticket(sh(6, 16, 10), [(sh(6, 16, 10), "P1")], statuses, sh(6, 16, 10, 5))
    during = both(waiting, "response", sh(6, 16, 10, 15))
    assert during.due_at == sh(6, 16, 10, 30)
    over = ticket(
        sh(6, 16, 10), [(sh(6, 16, 10), "P1")], [*statuses, (sh(6, 16, 10, 20), "in_progress")], sh(6, 16, 10, 5)
    )
    after = both(over, "response", sh(6, 16, 10, 25))
    assert after.due_at == sh(6, 16, 10, 30)
