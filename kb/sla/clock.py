"""SLA clocks recomputed from a ticket's history: no counters that can drift, so any change can be replayed.

A clock runs on its policy's calendar from the ticket's creation, pauses while the ticket waits on the user (and,
for resolution, while it is resolved), and stops at the response or the final resolution. A priority change
switches target and calendar at the moment it happened, keeping the working time already elapsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from kb.sla.calendar import (
    BusinessCalendar,
    Interval,
    add_business_minutes,
    business_minutes_between,
    missing_years,
)
from kb.sla.policy import ClockRules, Policy

RESOLVED_STATUSES = frozenset({"resolved", "closed"})


@dataclass(frozen=True)
class TicketHistory:
    """What the clocks need from a ticket's event log."""

    created_at: datetime
    priorities: Sequence[tuple[datetime, str]]  # (since, priority), first at created_at
    statuses: Sequence[tuple[datetime, str]]  # (since, status), first at created_at
    responded_at: datetime | None


@dataclass(frozen=True)
class ClockState:
    """One clock (response or resolution) at a moment."""

    kind: str
    target_minutes: int
    calendar: str
    due_at: datetime
    elapsed_minutes: float
    paused_minutes: float
    pauses: int
    stopped_at: datetime | None
    state: str  # running | paused | met | missed | breached
    percent: float
    warnings_at: tuple[tuple[float, datetime], ...]
    missing_holiday_years: tuple[int, ...]


def _pauses(statuses: Sequence[tuple[datetime, str]], paused: frozenset[str], end: datetime) -> list[Interval]:
    # Only waits before ``end`` (now, or the stop) count: what happens after a clock stopped cannot move it.
    intervals: list[Interval] = []
    for index, (since, status) in enumerate(statuses):
        until = min(statuses[index + 1][0], end) if index + 1 < len(statuses) else end
        if status in paused and until > since:
            intervals.append((since.astimezone(UTC), until.astimezone(UTC)))
    return intervals


def _status_at(history: TicketHistory, now: datetime) -> str:
    current = history.statuses[0][1]
    for since, status in history.statuses:
        if since <= now:
            current = status
    return current


def _stop(history: TicketHistory, kind: str) -> datetime | None:
    if kind == "response":
        return history.responded_at
    last_since, last_status = history.statuses[-1]
    return last_since if last_status in RESOLVED_STATUSES else None


def _segments(history: TicketHistory, end: datetime) -> list[tuple[datetime, datetime, str]]:
    # Priority changes after ``end`` (now, or the stop) do not count: a stopped clock is judged as it stopped.
    changes = [change for index, change in enumerate(history.priorities) if index == 0 or change[0] <= end]
    found = []
    for index, (since, priority) in enumerate(changes):
        until = min(changes[index + 1][0], end) if index + 1 < len(changes) else end
        if until > since or index + 1 == len(changes):
            found.append((since, max(until, since), priority))
    return found


def compute_clock(
    history: TicketHistory,
    kind: str,
    policies: Mapping[str, Policy],
    calendars: Mapping[str, BusinessCalendar],
    now: datetime,
    rules: ClockRules = ClockRules(),
    extra_thresholds: Sequence[float] = (),
) -> ClockState:
    """The state of the ``kind`` ("response" or "resolution") clock of a ticket at ``now``.

    ``warnings_at`` holds the moments of the rules' warning thresholds and of any ``extra_thresholds``.
    """
    stop = _stop(history, kind)
    end = min(now, stop) if stop else now
    paused_statuses = rules.pause_statuses | (RESOLVED_STATUSES if kind == "resolution" else frozenset())
    pauses = _pauses(history.statuses, frozenset(paused_statuses), end)
    elapsed = 0.0
    due: datetime | None = None
    segments = _segments(history, end)
    final = getattr(policies[segments[-1][2]], kind)
    calendar = calendars[final.calendar]
    for since, until, priority in segments:
        target = getattr(policies[priority], kind)
        seg_calendar = calendars[target.calendar]
        remaining = final.minutes - elapsed
        seg_minutes = business_minutes_between(seg_calendar, since, until, pauses)
        if due is None and (remaining <= seg_minutes or (since, until, priority) == segments[-1]):
            # The target is reached in this segment (or, in the last one, at some future point).
            due = add_business_minutes(seg_calendar, since, max(0.0, remaining), pauses).due_at
        elapsed += seg_minutes
    assert due is not None
    last_since = segments[-1][0]
    before_last = _before(segments, policies, calendars, kind, pauses)
    warnings = tuple(
        (
            threshold,
            add_business_minutes(
                calendar, last_since, max(0.0, final.minutes * threshold - before_last), pauses
            ).due_at,
        )
        for threshold in sorted(set(rules.warning_thresholds) | set(extra_thresholds))
    )
    percent = round(100 * elapsed / final.minutes, 1) if final.minutes else 100.0
    if stop is not None and stop <= now:
        state = "met" if stop <= due else "missed"
    elif now >= due:
        state = "breached"
    elif _status_at(history, now) in paused_statuses:
        state = "paused"
    else:
        state = "running"
    paused_total = sum(business_minutes_between(calendar, a, b) for a, b in pauses if a < end.astimezone(UTC))
    return ClockState(
        kind=kind,
        target_minutes=final.minutes,
        calendar=final.calendar,
        due_at=due,
        elapsed_minutes=round(elapsed, 2),
        paused_minutes=round(paused_total, 2),
        pauses=len(pauses),
        stopped_at=stop,
        state=state,
        percent=percent,
        warnings_at=warnings,
        missing_holiday_years=tuple(missing_years(calendar, history.created_at, due)),
    )


def _before(
    segments: Sequence[tuple[datetime, datetime, str]],
    policies: Mapping[str, Policy],
    calendars: Mapping[str, BusinessCalendar],
    kind: str,
    pauses: Sequence[Interval],
) -> float:
    total = 0.0
    for since, until, priority in segments[:-1]:
        calendar = calendars[getattr(policies[priority], kind).calendar]
        total += business_minutes_between(calendar, since, until, pauses)
    return total
