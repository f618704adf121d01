"""Read-side SLA views: tickets closest to breaching, and per-ticket rows for reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.sla.models import TicketSla
from kb.ticket.models import OPEN_STATUSES, Ticket


@dataclass(frozen=True)
class AtRisk:
    """An open ticket and the clock that is due next (its time left is negative once breached)."""

    ticket: Ticket
    clock: str
    due_at: datetime
    state: str
    minutes_left: float
    escalation_level: int


def breaching_soon(session: Session, now: datetime, within_minutes: float, limit: int = 100) -> list[AtRisk]:
    """Open tickets breached or due within ``within_minutes``, least time left first."""
    horizon = now + timedelta(minutes=within_minutes)
    rows = session.execute(
        select(TicketSla, Ticket)
        .join(Ticket, Ticket.id == TicketSla.ticket_id)
        .where(TicketSla.next_due_at <= horizon, Ticket.status.in_(OPEN_STATUSES))
        .order_by(TicketSla.next_due_at, Ticket.id)
        .limit(limit)
    ).all()
    found = []
    for sla, ticket in rows:
        assert sla.next_due_at is not None
        state = sla.response_state if sla.next_due_clock == "response" else sla.resolution_state
        left = round((sla.next_due_at - now).total_seconds() / 60, 1)
        found.append(AtRisk(ticket, sla.next_due_clock, sla.next_due_at, state, left, sla.escalation_level))
    return found


def report(session: Session, since: datetime | None, until: datetime | None) -> list[tuple[Ticket, TicketSla]]:
    """Per-ticket SLA outcomes of tickets created in [since, until), oldest first."""
    query = select(Ticket, TicketSla).join(TicketSla, TicketSla.ticket_id == Ticket.id)
    if since is not None:
        query = query.where(Ticket.created_at >= since)
    if until is not None:
        query = query.where(Ticket.created_at < until)
    return [(ticket, sla) for ticket, sla in session.execute(query.order_by(Ticket.created_at, Ticket.id)).all()]
