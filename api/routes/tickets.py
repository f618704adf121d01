"""Tickets: create, list, edit, message, transitions, article links, suggestions and the KCS draft."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import ApiPrincipal, ServicesDep
from api.routes.search import SuggestionOut, hit_out
from kb.article.schemas import ArticleRead
from kb.db import utcnow
from kb.sla.clock import ClockState
from kb.sla.history import sla_view
from kb.sla.policy import rules_from
from kb.ticket import drafts, workflow
from kb.ticket import service as tickets
from kb.ticket.models import Ticket, TicketDraft
from kb.ticket.schemas import (
    EventRead,
    LinkCreate,
    LinkRead,
    MessageCreate,
    MessageRead,
    Priority,
    TicketCreate,
    TicketRead,
    TicketTransition,
    TicketUpdate,
)
from kb.ticket.service import TicketFilter, TicketPolicy

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])
STATUS_HELP = "new, assigned, in_progress, pending_user, resolved, closed"
SORT_HELP = "created_at, updated_at, priority, status, number；前缀 - 表示降序"


class TicketList(BaseModel):
    """A page of tickets."""

    total: int
    items: list[TicketRead]


class DraftOut(BaseModel):
    """The draft article a resolved ticket produced, and the published articles it resembles."""

    article_slug: str
    revision_of: str | None
    similar: list[dict[str, Any]]


def _policy(services: ServicesDep) -> TicketPolicy:
    return TicketPolicy.from_settings(services.settings)


@router.post("", response_model=TicketRead, status_code=201)
def create_ticket(body: TicketCreate, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Open a ticket; priority comes from the impact × urgency matrix."""
    proposal = services.router.propose(body.title, body.description)
    with services.db.session() as session:
        return TicketRead.of(tickets.create_ticket(session, body, principal, _policy(services), proposal=proposal))


@router.get("", response_model=TicketList)
def list_tickets(
    services: ServicesDep,
    principal: ApiPrincipal,
    status: Annotated[
        str | None, Query(description="new, assigned, in_progress, pending_user, resolved, closed")
    ] = None,
    priority: Priority | None = None,
    group: Annotated[str | None, Query(description="处理组")] = None,
    assignee: str | None = None,
    category: str | None = None,
    sort: Annotated[
        str, Query(description="created_at, updated_at, priority, status, number；前缀 - 表示降序")
    ] = "-updated_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Any:
    """Tickets, filtered and sorted."""
    where = TicketFilter(status, priority, group, assignee, category, sort)
    with services.db.session(write=False) as session:
        total, rows = tickets.list_tickets(session, principal, where, limit=limit, offset=offset)
        return TicketList(total=total, items=[TicketRead.of(row) for row in rows])


class AccuracyOut(BaseModel):
    """How often the proposed category and group were kept."""

    proposals: int
    category_kept: int
    group_kept: int
    category_rate: float
    group_rate: float


@router.get("/reports/classification", response_model=AccuracyOut)
def classification_report(services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Accuracy of auto-classification: proposals whose category/group engineers kept."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        accuracy = tickets.classification_accuracy(session)
    return AccuracyOut(
        proposals=accuracy.proposals,
        category_kept=accuracy.category_kept,
        group_kept=accuracy.group_kept,
        category_rate=round(accuracy.category_rate, 4),
        group_rate=round(accuracy.group_rate, 4),
    )


@router.get("/{number}", response_model=TicketRead)
def get_ticket(number: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """One ticket."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        return TicketRead.of(tickets.get_ticket(session, number))


@router.patch("/{number}", response_model=TicketRead)
def update_ticket(number: str, body: TicketUpdate, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Change fields (send ``expected_version`` to be told about concurrent edits)."""
    with services.db.session() as session:
        return TicketRead.of(tickets.update_ticket(session, number, body, principal, _policy(services)))


@router.post("/{number}/transitions", response_model=TicketRead)
def transition(number: str, body: TicketTransition, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """assign, start, wait_user, resolve, close, reopen; a resolution then produces the ticket's draft article."""
    return workflow.transition(services, number, body, principal)


@router.get("/{number}/messages", response_model=list[MessageRead])
def list_messages(number: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Messages on a ticket, oldest first."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        ticket = tickets.get_ticket(session, number)
        return [MessageRead.model_validate(m) for m in tickets.messages(session, ticket)]


@router.post("/{number}/messages", response_model=MessageRead, status_code=201)
def add_message(number: str, body: MessageCreate, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Add a public reply or an internal note."""
    with services.db.session() as session:
        return MessageRead.model_validate(tickets.add_message(session, number, body, principal))


@router.get("/{number}/events", response_model=list[EventRead])
def list_events(number: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """The ticket's event log: who changed what, when."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        ticket = tickets.get_ticket(session, number)
        return [EventRead.model_validate(e) for e in tickets.events(session, ticket)]


@router.get("/{number}/links", response_model=list[LinkRead])
def list_links(number: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Articles linked to the ticket."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        ticket = tickets.get_ticket(session, number)
        return [LinkRead.model_validate(link) for link in tickets.links(session, ticket)]


@router.post("/{number}/links", response_model=LinkRead, status_code=201)
def link_article(number: str, body: LinkCreate, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Link an article as the one that solved the ticket or as related (a reuse of that article)."""
    with services.db.session() as session:
        return LinkRead.model_validate(tickets.link_article(session, number, body, principal))


@router.get("/{number}/suggestions", response_model=SuggestionOut)
def suggestions(
    number: str, services: ServicesDep, principal: ApiPrincipal, limit: Annotated[int, Query(ge=1, le=20)] = 5
) -> Any:
    """Articles most likely to fix this ticket, from its title, description and public messages."""
    result = workflow.suggestions(services, principal, number, limit)
    return SuggestionOut(hits=[hit_out(h) for h in result.hits], key_terms=list(result.terms), took_ms=result.took_ms)


@router.get("/{number}/draft", response_model=DraftOut | None)
def draft(number: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """The draft article this ticket produced (null until it is resolved)."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        ticket = tickets.get_ticket(session, number)
        row = session.scalar(select(TicketDraft).where(TicketDraft.ticket_id == ticket.id))
        if row is None:
            return None
        similar = [{"slug": s, "title": t, "similarity": score} for s, t, score in row.similar]
        return DraftOut(article_slug=row.article_slug, revision_of=row.revision_of, similar=similar)


class DuplicateIn(BaseModel):
    """The master ticket this one duplicates."""

    master: str


class PossibleDuplicate(BaseModel):
    """An open ticket that looks like the same incident."""

    number: str
    title: str
    score: float


class Relations(BaseModel):
    """How a ticket relates to others: its master, its duplicates, what it recurs and how often it came back."""

    master: str | None
    duplicates: list[str]
    recurrence_of: str | None
    recurrences: int
    possible_duplicates: list[PossibleDuplicate]


@router.get("/{number}/relations", response_model=Relations)
def relations(number: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Master, duplicates, recurrence and the open tickets that look like the same incident."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        ticket = tickets.get_ticket(session, number)
        master = session.get(Ticket, ticket.master_id) if ticket.master_id else None
        original = session.get(Ticket, ticket.recurrence_of_id) if ticket.recurrence_of_id else None
        return Relations(
            master=master.number if master else None,
            duplicates=tickets.duplicates_of(session, ticket),
            recurrence_of=original.number if original else None,
            recurrences=tickets.recurrence_count(session, ticket),
            possible_duplicates=[
                PossibleDuplicate(number=n, title=t, score=s)
                for n, t, s in ([] if master else tickets.possible_duplicates(session, ticket))
            ],
        )


@router.post("/{number}/duplicate-of", response_model=TicketRead)
def mark_duplicate(number: str, body: DuplicateIn, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Mark this ticket a duplicate (重复事件) of a master ticket (主事件)."""
    with services.db.session() as session:
        return TicketRead.of(tickets.mark_duplicate(session, number, body.master, principal))


@router.post("/{number}/recurrence", response_model=TicketRead, status_code=201)
def report_recurrence(number: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """The problem came back after the reopen window: open a new ticket linked to this one (复发事件)."""
    with services.db.session() as session:
        return TicketRead.of(tickets.report_recurrence(session, number, principal, _policy(services)))


drafts_router = APIRouter(prefix="/api/v1/drafts", tags=["tickets"])


@drafts_router.post("/{slug}/merge", response_model=ArticleRead)
def merge_draft(slug: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Reviewers: fold a ticket's proposed revision into the original article in one step (the draft is retired)."""
    with services.db.session() as session:
        merged = ArticleRead.model_validate(drafts.merge_revision(session, slug, principal))
    services.notify_changed()
    return merged


class ClockOut(BaseModel):
    """One SLA clock of a ticket."""

    target_minutes: int
    calendar: str
    due_at: datetime
    state: str
    elapsed_minutes: float
    paused_minutes: float
    percent: float
    stopped_at: datetime | None
    warnings_at: dict[str, datetime]
    missing_holiday_years: list[int]
    explanation: str


class SlaEventOut(BaseModel):
    """A warning, breach or escalation recorded for the ticket, at the moment it happened."""

    clock: str
    kind: str
    threshold: int
    occurred_at: datetime
    detail: dict[str, Any]


class SlaOut(BaseModel):
    """The response and resolution clocks, recomputed from the ticket's history, and what was recorded."""

    response: ClockOut
    resolution: ClockOut
    policy: dict[str, Any] = Field(description="生效的策略：优先级、分类、客户、升级阈值；id 为空表示内置默认")
    escalation_level: int
    events: list[SlaEventOut]


def clock_out(clock: ClockState, explanation: str) -> ClockOut:
    """API view of a clock."""
    return ClockOut(
        target_minutes=clock.target_minutes,
        calendar=clock.calendar,
        due_at=clock.due_at,
        state=clock.state,
        elapsed_minutes=clock.elapsed_minutes,
        paused_minutes=clock.paused_minutes,
        percent=clock.percent,
        stopped_at=clock.stopped_at,
        warnings_at={f"{int(threshold * 100)}%": moment for threshold, moment in clock.warnings_at},
        missing_holiday_years=list(clock.missing_holiday_years),
        explanation=explanation,
    )


@router.get("/{number}/sla", response_model=SlaOut)
def ticket_sla(number: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Response and resolution clocks with due times, state and a Chinese explanation."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        view = sla_view(session, tickets.get_ticket(session, number), utcnow(), rules_from(services.settings))
    policy = view.policy
    return SlaOut(
        response=clock_out(view.response, view.explanations["response"]),
        resolution=clock_out(view.resolution, view.explanations["resolution"]),
        policy={
            "id": policy.id,
            "priority": policy.priority,
            "category": policy.category,
            "customer": policy.customer,
            "escalate_at": policy.escalate_at,
        },
        escalation_level=sum(1 for e in view.events if e.kind == "escalation"),
        events=[
            SlaEventOut(clock=e.clock, kind=e.kind, threshold=e.threshold, occurred_at=e.occurred_at, detail=e.detail)
            for e in view.events
        ],
    )
