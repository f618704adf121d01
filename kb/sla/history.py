"""Read a ticket's SLA history from its event log and messages, and explain its clocks in Chinese."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.sla import policies, registry
from kb.sla.calendar import BusinessCalendar
from kb.sla.clock import ClockState, TicketHistory, compute_clock
from kb.sla.explain import format_minutes, format_moment
from kb.sla.models import SlaEvent
from kb.sla.policy import ClockRules, Policy
from kb.ticket.models import Ticket, TicketEvent, TicketMessage

ACCEPTING_STATUSES = frozenset({"in_progress", "resolved", "closed"})
KIND_LABELS = {"response": "响应", "resolution": "解决"}
STATE_LABELS = {"running": "计时中", "paused": "已暂停", "met": "已达成", "missed": "已超时", "breached": "已超时"}


def ticket_history(session: Session, ticket: Ticket) -> TicketHistory:
    """Priorities and statuses over time, and the first response, from the ticket's events and messages."""
    events = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.at, TicketEvent.id)
    ).all()
    created = next((e for e in events if e.kind == "created"), None)
    first_priority = (created.new or {}).get("priority", ticket.priority) if created else ticket.priority
    priorities = [(ticket.created_at, str(first_priority))]
    statuses = [(ticket.created_at, "new")]
    for event in events:
        if event.field == "priority" and event.kind != "created":
            priorities.append((event.at, str(event.new)))
        elif event.field == "status" and event.kind != "created":
            statuses.append((event.at, str(event.new)))
    first_reply = session.scalar(
        select(TicketMessage.created_at)
        .where(TicketMessage.ticket_id == ticket.id, ~TicketMessage.internal, ~TicketMessage.from_reporter)
        .order_by(TicketMessage.created_at)
        .limit(1)
    )
    accepted = next((at for at, status in statuses if status in ACCEPTING_STATUSES), None)
    candidates = [moment for moment in (first_reply, accepted) if moment is not None]
    return TicketHistory(ticket.created_at, priorities, statuses, min(candidates) if candidates else None)


@dataclass(frozen=True)
class SlaView:
    """Both clocks of a ticket with their explanations."""

    response: ClockState
    resolution: ClockState
    explanations: dict[str, str]
    policy: Policy
    events: list[SlaEvent]


def explain(clock: ClockState, history: TicketHistory, calendar: BusinessCalendar) -> str:
    """Why the clock says what it says, in one Chinese paragraph."""
    label = KIND_LABELS[clock.kind]
    parts = [
        f"创建于 {format_moment(history.created_at, calendar)}",
        f"{label}目标 {format_minutes(clock.target_minutes)}，按日历“{clock.calendar}”计工作时间",
    ]
    if len(history.priorities) > 1:
        changes = "、".join(f"{format_moment(at, calendar)} 改为 {p}" for at, p in history.priorities[1:])
        parts.append(f"优先级变更：{changes}（已用的工作时间保留）")
    if clock.pauses:
        parts.append(f"暂停 {clock.pauses} 次，共 {format_minutes(clock.paused_minutes)}工作时间不计")
    parts.append(f"因此截止 {format_moment(clock.due_at, calendar)}")
    if clock.stopped_at is not None:
        parts.append(f"已于 {format_moment(clock.stopped_at, calendar)} 完成{label}（{STATE_LABELS[clock.state]}）")
    else:
        parts.append(
            f"目前已用 {format_minutes(clock.elapsed_minutes)}（{clock.percent}%），{STATE_LABELS[clock.state]}"
        )
    text = "；".join(parts) + "。"
    if clock.missing_holiday_years:
        years = "、".join(str(y) for y in clock.missing_holiday_years)
        text += f"警告：日历缺少 {years} 年的节假日数据，截止时间按普通工作日估算。"
    return text


@dataclass(frozen=True)
class SlaSetup:
    """The policies and calendars in force, loaded once for a request or an evaluation pass."""

    policies: Sequence[Policy]
    calendars: Mapping[str, BusinessCalendar]

    @classmethod
    def load(cls, session: Session) -> SlaSetup:
        """Read the stored policies and calendars."""
        return cls(policies.in_force(session), registry.calendars(session))


def sla_view(
    session: Session,
    ticket: Ticket,
    now: datetime,
    rules: ClockRules = ClockRules(),
    setup: SlaSetup | None = None,
) -> SlaView:
    """Both clocks of ``ticket`` at ``now``, recomputed from its history under the policies in force."""
    setup = setup or SlaSetup.load(session)
    history = ticket_history(session, ticket)
    calendars = setup.calendars
    mine = policies.for_ticket(setup.policies, ticket.category, ticket.customer)
    clocks = {kind: compute_clock(history, kind, mine, calendars, now, rules) for kind in ("response", "resolution")}
    explanations = {kind: explain(clock, history, calendars[clock.calendar]) for kind, clock in clocks.items()}
    recorded = session.scalars(
        select(SlaEvent).where(SlaEvent.ticket_id == ticket.id).order_by(SlaEvent.occurred_at, SlaEvent.id)
    ).all()
    policy = mine[history.priorities[-1][1]]
    return SlaView(clocks["response"], clocks["resolution"], explanations, policy, list(recorded))
