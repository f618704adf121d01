"""SLA evaluation: record warnings, breaches and escalations at their real moments, once, and report rows.

Everything is recomputed from the ticket's history at ``now``, so a pass after downtime records a breach that
happened while the service was stopped at the moment it happened, and a second pass records nothing new.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.config import Settings
from kb.db import Database, utcnow
from kb.notify import service as notify
from kb.sla import policies
from kb.sla.calendar import BusinessCalendar
from kb.sla.clock import ClockState, compute_clock
from kb.sla.explain import format_moment
from kb.sla.history import KIND_LABELS, SlaSetup, ticket_history
from kb.sla.models import SlaEvent, TicketSla
from kb.sla.policy import ClockRules, Policy, rules_from
from kb.ticket.models import OPEN_STATUSES, TIERS, SupportGroup, Ticket
from kb.ticket.service import record_changes

SYSTEM_ACTOR = "sla"
CHUNK = 50  # tickets per transaction: short write locks on SQLite while a long catch-up pass runs
WARNING, BREACH, ESCALATION = "warning", "breach", "escalation"
LIVE_STATES = ("running", "breached")


@dataclass
class EvaluationReport:
    """What a pass did: tickets evaluated and events recorded as (ticket, clock, kind, threshold)."""

    evaluated: int = 0
    events: list[tuple[str, str, str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class _Context:
    now: datetime
    rules: ClockRules
    setup: SlaSetup
    email_enabled: bool


def _happened(moment: datetime, clock: ClockState, now: datetime) -> bool:
    return moment <= now and (clock.stopped_at is None or moment < clock.stopped_at)


def _escalate(session: Session, ticket: Ticket) -> tuple[str, str, SupportGroup | None, SupportGroup | None]:
    group = session.scalar(select(SupportGroup).where(SupportGroup.name == ticket.assignment_group))
    before = ticket.snapshot()
    old_tier = ticket.tier
    index = TIERS.index(ticket.tier) if ticket.tier in TIERS else 0
    ticket.tier = TIERS[min(index + 1, len(TIERS) - 1)]
    target = None
    if group is not None and group.escalates_to:
        target = session.scalar(select(SupportGroup).where(SupportGroup.name == group.escalates_to))
        ticket.assignment_group = group.escalates_to
    record_changes(session, ticket, SYSTEM_ACTOR, before, "escalated")
    return old_tier, ticket.tier, group, target


def _recipients(ticket: Ticket, kind: str, groups: Sequence[SupportGroup | None]) -> list[str]:
    people = [ticket.assignee]
    for group in groups:
        if group is None:
            continue
        if kind == WARNING:
            people.append("" if ticket.assignee else group.lead)
        else:
            people += [group.lead, group.manager]
    return list(dict.fromkeys(p for p in people if p))


def _notify(
    session: Session, ticket: Ticket, event: SlaEvent, ctx: _Context, calendar: BusinessCalendar, text: str,
    people: list[str],
) -> None:  # fmt: skip
    label = KIND_LABELS[event.clock]
    titles = {
        WARNING: f"{ticket.number} {label}时限已用 {event.threshold}%",
        BREACH: f"{ticket.number} {label}已超时",
        ESCALATION: f"{ticket.number} 已升级：{text}",
    }
    body = f"{ticket.title}\n{label}时限 {event.threshold}% 于 {format_moment(event.occurred_at, calendar)} 到达"
    notify.enqueue(
        session,
        event_key=f"sla:{event.id}",
        kind=f"sla.{event.kind}",
        recipients=people,
        title=titles[event.kind],
        body=body,
        payload={
            "clock": event.clock,
            "threshold": event.threshold,
            "occurred_at": event.occurred_at.isoformat(),
            "priority": ticket.priority,
            "tier": ticket.tier,
            "assignment_group": ticket.assignment_group,
            "assignee": ticket.assignee,
            **event.detail,
        },
        ticket_number=ticket.number,
        email_enabled=ctx.email_enabled,
    )


def _record(session: Session, ticket: Ticket, clock: str, kind: str, threshold: int, at: datetime) -> SlaEvent:
    event = SlaEvent(ticket_id=ticket.id, clock=clock, kind=kind, threshold=threshold, occurred_at=at, detail={})
    session.add(event)
    session.flush()
    return event


def _worth_telling(fresh: Sequence[SlaEvent], clock: ClockState, now: datetime) -> list[SlaEvent]:
    # Every event is recorded; people hear only what still matters: nothing about a clock that has stopped, and
    # of several thresholds passed at once (after downtime) only the latest. Escalations always act and notify.
    escalations = [e for e in fresh if e.kind == ESCALATION]
    if clock.stopped_at is not None and clock.stopped_at <= now:
        return escalations
    others = [e for e in fresh if e.kind != ESCALATION]
    latest = max(others, key=lambda e: (e.occurred_at, e.kind == BREACH), default=None)
    return ([latest] if latest is not None else []) + escalations


def evaluate_ticket(session: Session, ticket: Ticket, ctx: _Context) -> list[SlaEvent]:
    """Record what happened to ``ticket``'s clocks up to ``ctx.now`` and rewrite its report row."""
    history = ticket_history(session, ticket)
    mine = policies.for_ticket(ctx.setup.policies, ticket.category, ticket.customer)
    final = mine[history.priorities[-1][1]]
    escalate = final.escalate_at / 100
    extra = (escalate,) if escalate < 1 else ()
    clocks = {
        kind: compute_clock(history, kind, mine, ctx.setup.calendars, ctx.now, ctx.rules, extra)
        for kind in ("response", "resolution")
    }
    done = {
        (e.clock, e.kind, e.threshold) for e in session.scalars(select(SlaEvent).where(SlaEvent.ticket_id == ticket.id))
    }
    recorded: list[SlaEvent] = []
    future: list[datetime] = []
    for kind, clock in clocks.items():
        moments = dict(clock.warnings_at)
        planned = [(WARNING, round(t * 100), moments[t]) for t in ctx.rules.warning_thresholds]
        planned.append((BREACH, 100, clock.due_at))
        planned.append((ESCALATION, final.escalate_at, clock.due_at if escalate >= 1 else moments[escalate]))
        fresh: list[SlaEvent] = []
        for what, threshold, at in planned:
            if (kind, what, threshold) in done:
                continue
            if not _happened(at, clock, ctx.now):
                if clock.stopped_at is None and clock.state != "paused" and at > ctx.now:
                    future.append(at)
                continue
            if what == ESCALATION and ticket.status not in OPEN_STATUSES:
                continue
            fresh.append(_record(session, ticket, kind, what, threshold, at))
        for event in _worth_telling(fresh, clock, ctx.now):
            groups: list[SupportGroup | None]
            if event.kind == ESCALATION:
                old_tier, new_tier, group, target = _escalate(session, ticket)
                event.detail = {"from_tier": old_tier, "to_tier": new_tier, "to_group": ticket.assignment_group}
                groups, text = [group, target], f"{old_tier} → {new_tier}"
            else:
                group = session.scalar(select(SupportGroup).where(SupportGroup.name == ticket.assignment_group))
                groups, text = [group], ""
            people = _recipients(ticket, event.kind, groups)
            _notify(session, ticket, event, ctx, ctx.setup.calendars[clock.calendar], text, people)
        recorded += fresh
    escalations = sum(1 for _clock, what, _t in done if what == ESCALATION)
    escalations += sum(1 for event in recorded if event.kind == ESCALATION)
    next_check = min(future, default=None)
    _write_report(session, ticket, history.responded_at, clocks, final, escalations, next_check, ctx.now)
    return recorded


def _met(clock: ClockState) -> bool | None:
    if clock.state == "met":
        return True
    return False if clock.state in ("missed", "breached") else None


def _write_report(
    session: Session,
    ticket: Ticket,
    responded_at: datetime | None,
    clocks: Mapping[str, ClockState],
    policy: Policy,
    escalation_level: int,
    next_check: datetime | None,
    now: datetime,
) -> None:
    row = session.scalar(select(TicketSla).where(TicketSla.ticket_id == ticket.id))
    if row is None:
        row = TicketSla(ticket_id=ticket.id)
        session.add(row)
    response, resolution = clocks["response"], clocks["resolution"]
    row.priority, row.policy_id = policy.priority, policy.id
    row.response_due_at, row.resolution_due_at = response.due_at, resolution.due_at
    row.responded_at, row.resolved_at = responded_at, resolution.stopped_at
    row.response_state, row.resolution_state = response.state, resolution.state
    row.response_met, row.resolution_met = _met(response), _met(resolution)
    row.response_business_minutes = response.elapsed_minutes if response.stopped_at else None
    row.resolution_business_minutes = resolution.elapsed_minutes if resolution.stopped_at else None
    row.paused_minutes = resolution.paused_minutes
    row.escalation_level = escalation_level
    row.next_check_at = next_check
    live = [(c.due_at, kind) for kind, c in clocks.items() if c.state in LIVE_STATES]
    next_due = min(live) if live and ticket.status in OPEN_STATUSES else None
    row.next_due_at, row.next_due_clock = (next_due[0], next_due[1]) if next_due else (None, "")
    # An escalation in this pass changed the ticket: that change is already evaluated.
    row.evaluated_at = max(now, ticket.updated_at)


def _due_ticket_ids(session: Session, now: datetime) -> list[int]:
    query = (
        select(Ticket.id)
        .outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id)
        .where(
            or_(
                TicketSla.id.is_(None),
                Ticket.updated_at > TicketSla.evaluated_at,
                TicketSla.next_check_at <= now,
            )
        )
        .order_by(Ticket.id)
    )
    return list(session.scalars(query))


def evaluate_due(
    db: Database, settings: Settings, now: datetime | None = None, still_leader: Callable[[], bool] | None = None
) -> EvaluationReport:
    """Evaluate every ticket that changed or reached a planned moment since its last evaluation.

    ``still_leader`` is asked after every chunk; the pass stops once it says no.
    """
    now = now or utcnow()
    report = EvaluationReport()
    with db.session(write=False) as session:
        ids = _due_ticket_ids(session, now)
        ctx = _Context(now, rules_from(settings), SlaSetup.load(session), bool(settings.smtp_host))
    for start in range(0, len(ids), CHUNK):
        with db.session() as session:
            for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(ids[start : start + CHUNK]))):
                try:
                    with session.begin_nested():
                        found = evaluate_ticket(session, ticket, ctx)
                except IntegrityError:
                    # Another process recorded this ticket's events first (its lease expired mid-pass).
                    session.expire(ticket)
                    continue
                report.events += [(ticket.number, e.clock, e.kind, e.threshold) for e in found]
                report.evaluated += 1
        if still_leader is not None and not still_leader():
            break
    return report
