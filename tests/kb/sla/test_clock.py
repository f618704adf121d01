"""SLA clocks computed from history: pauses, priority changes keeping elapsed time, stops, warnings, states."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from kb.sla.builtin import builtin_calendars
from kb.sla.clock import TicketHistory, compute_clock
from kb.sla.policy import DEFAULT_POLICIES

SH = ZoneInfo("Asia/Shanghai")
CREATED = datetime(2026, 6, 16, 10, 0, tzinfo=SH)  # a Tuesday


def at(hour: int, minute: int = 0, day: int = 16) -> datetime:
    """A moment in Shanghai in June 2026."""
    return datetime(2026, 6, day, hour, minute, tzinfo=SH)


def clock(history: TicketHistory, kind: str, now: datetime) -> object:
    """The clock with the default policies and shipped calendars."""
    return compute_clock(history, kind, DEFAULT_POLICIES, builtin_calendars(), now)


def history(
    statuses: list[tuple[datetime, str]] | None = None,
    priorities: list[tuple[datetime, str]] | None = None,
    responded: datetime | None = None,
) -> TicketHistory:
    """A P3 ticket created at CREATED with the given changes."""
    return TicketHistory(
        CREATED, [(CREATED, "P3"), *(priorities or [])], [(CREATED, "new"), *(statuses or [])], responded
    )


def test_a_p3_response_counts_business_hours_across_lunch() -> None:
    state = clock(history(), "response", at(11))
    assert state.due_at.astimezone(SH) == at(15, 30)  # type: ignore[attr-defined]
    assert (state.state, state.elapsed_minutes, state.percent) == ("running", 60.0, 25.0)  # type: ignore[attr-defined]
    warnings = dict(state.warnings_at)  # type: ignore[attr-defined]
    assert warnings[0.5].astimezone(SH) == at(12) and warnings[0.9].astimezone(SH) == at(15, 6)


def test_waiting_on_the_user_pauses_the_clock() -> None:
    waiting = history(statuses=[(at(11), "pending_user"), (at(14), "in_progress")])
    state = clock(waiting, "resolution", at(15))
    assert (state.pauses, state.paused_minutes) == (1, 90.0)  # type: ignore[attr-defined]
    during = clock(waiting, "resolution", at(12, 30))
    assert during.state == "paused"  # type: ignore[attr-defined]


def test_a_priority_change_keeps_elapsed_time_and_can_breach_at_once() -> None:
    raised = history(priorities=[(at(11), "P1")])
    state = clock(raised, "response", at(11, 5))
    # 60 business minutes had passed under P3 when P1 (30 minutes) took over: already breached at 10:30.
    assert state.due_at.astimezone(SH) == at(10, 30) and state.state == "breached"  # type: ignore[attr-defined]
    lowered = TicketHistory(CREATED, [(CREATED, "P1"), (at(10, 10), "P3")], [(CREATED, "new")], None)
    state = clock(lowered, "response", at(10, 20))
    # 10 minutes on the 24x7 clock, then 230 more business minutes: 10:10–12:00 and 13:30–15:30.
    assert state.due_at.astimezone(SH) == at(15, 30) and state.calendar == "cn-business"  # type: ignore[attr-defined]


def test_response_and_resolution_stop_and_are_judged() -> None:
    done = history(statuses=[(at(10, 45), "in_progress"), (at(17), "resolved")], responded=at(10, 45))
    response = clock(done, "response", at(18))
    assert (response.state, response.stopped_at) == ("met", at(10, 45))  # type: ignore[attr-defined]
    resolution = clock(done, "resolution", at(18))
    assert resolution.state == "met"  # type: ignore[attr-defined]
    # Three business days from Tuesday 10:00 end on Monday 22nd at 10:00: Friday the 19th is the Dragon Boat Festival.
    assert clock(history(), "resolution", at(9)).due_at.astimezone(SH) == at(10, 0, day=22)  # type: ignore[attr-defined]
    late = history(statuses=[(at(11, 0, day=22), "resolved")])
    assert clock(late, "resolution", at(12, 0, day=22)).state == "missed"  # type: ignore[attr-defined]


def test_a_reopened_ticket_does_not_count_the_time_it_was_resolved() -> None:
    reopened = history(statuses=[(at(11), "resolved"), (at(14), "in_progress")])
    state = clock(reopened, "resolution", at(15))
    assert state.stopped_at is None and state.elapsed_minutes == 60 + 60  # type: ignore[attr-defined]
