"""Ticket operations that span a transaction and what follows its commit, shared by the API, pages and CLI."""

from __future__ import annotations

import logging

from indexer.documents import SearchResult
from kb.auth.permissions import Principal
from kb.context import Services
from kb.search import service as search_service
from kb.ticket import drafts, survey
from kb.ticket import service as tickets
from kb.ticket.schemas import TicketRead, TicketTransition
from kb.ticket.service import TicketPolicy

log = logging.getLogger(__name__)


def produce_owed_drafts(services: Services) -> int:
    """Turn pending draft requests into drafts now; a failure is logged, never raised (maintenance retries)."""
    try:
        produced = drafts.process_pending(services.db, services.index)
    except Exception:
        log.exception("producing owed draft articles failed; they stay pending")
        return 0
    if produced:
        services.notify_changed()
    return produced


def transition(services: Services, number: str, data: TicketTransition, principal: Principal) -> TicketRead:
    """Apply a lifecycle action; a resolution also opens the survey (link returned once), teaches the classifier
    and produces the ticket's draft article after commit."""
    with services.db.session() as session:
        ticket = tickets.transition(session, number, data, principal, TicketPolicy.from_settings(services.settings))
        out = TicketRead.of(ticket)
        learned = (ticket.title, ticket.description, ticket.category)
        if data.action == "resolve":
            out.survey_url = f"/survey/{survey.open_survey(session, ticket)}"
    if data.action == "resolve":
        services.router.learn(*learned)
        produce_owed_drafts(services)
    return out


def suggestions(services: Services, principal: Principal, number: str, limit: int) -> SearchResult:
    """Articles for a ticket's title, description and public messages (trimmed to the suggestion text limit)."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        title, description = tickets.suggestion_text(session, tickets.get_ticket(session, number))
    description = description[: max(0, services.settings.max_suggestion_text - len(title))]
    return search_service.suggest(services.settings, services.index, principal, title, description, limit)
