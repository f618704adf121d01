"""Read-side SLA views: tickets closest to breaching, and per-ticket rows for reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.sla.models import TicketSla
from kb.ticket.models import OPEN_STATUSES, Ticket

LIVE_STATES = ("running", "breached")


@dataclass(frozen=True)
class AtRisk:
    """An open ticket and the clock that is due next (its time left is negative once breached)."""

    ticket: Ticket
    clock: str
    due_at: datetime
    state: str
    minutes_left: float
    escalation_level: int


def at_risk(sla: TicketSla, ticket: Ticket, now: datetime) -> AtRisk | None:
    """The clock of ``ticket`` that is due next, unless both are stopped or paused."""
    candidates = []
    if sla.response_state in LIVE_STATES and sla.response_due_at is not None:
        candidates.append(("response", sla.response_due_at, sla.response_state))
    if sla.resolution_state in LIVE_STATES and sla.resolution_due_at is not None:
        candidates.append(("resolution", sla.resolution_due_at, sla.resolution_state))
    if not candidates:
        return None
    clock, due, state = min(candidates, key=lambda c: c[1])
    left = (due - now).total_seconds() / 60
    return AtRisk(ticket, clock, due, state, round(left, 1), sla.escalation_level)


def breaching_soon(session: Session, now: datetime, within_minutes: float, limit: int = 100) -> list[AtRisk]:
    """Open tickets breached or due within ``within_minutes``, least time left first."""
    horizon = now + timedelta(minutes=within_minutes)
    rows = session.execute(
        select(TicketSla, Ticket)
        .join(Ticket, Ticket.id == TicketSla.ticket_id)
        .where(Ticket.status.in_(OPEN_STATUSES))
        .where((TicketSla.response_due_at <= horizon) | (TicketSla.resolution_due_at <= horizon))
    ).all()
    found = [risk for sla, ticket in rows if (risk := at_risk(sla, ticket, now)) and risk.due_at <= horizon]
    return sorted(found, key=lambda risk: risk.due_at)[:limit]


def sla_rows(session: Session, numbers: list[str]) -> dict[str, TicketSla]:
    """The report rows of the given ticket numbers (missing until the scheduler first evaluates them)."""
    if not numbers:
        return {}
    rows = session.execute(
        select(Ticket.number, TicketSla)
        .join(TicketSla, TicketSla.ticket_id == Ticket.id)
        .where(Ticket.number.in_(numbers))
    ).all()
    return {number: row for number, row in rows}


def report(session: Session, since: datetime | None, until: datetime | None) -> list[tuple[Ticket, TicketSla]]:
    """Per-ticket SLA outcomes of tickets created in [since, until), oldest first."""
    query = select(Ticket, TicketSla).join(TicketSla, TicketSla.ticket_id == Ticket.id)
    if since is not None:
        query = query.where(Ticket.created_at >= since)
    if until is not None:
        query = query.where(Ticket.created_at < until)
    return [(ticket, sla) for ticket, sla in session.execute(query.order_by(Ticket.created_at, Ticket.id)).all()]
