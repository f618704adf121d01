"""Ticket use cases: create, edit, message, move through the lifecycle, link articles; every change is an event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.article.models import Article
from kb.auth import audit, permissions
from kb.auth.permissions import ENGINEER, INTEGRATION, Principal
from kb.config import DEFAULT_PRIORITY_MATRIX, Settings
from kb.db import utcnow
from kb.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from kb.ticket import lifecycle
from kb.ticket.classify import Proposal
from kb.ticket.models import (
    NEW,
    OPEN_STATUSES,
    RESOLVED,
    DraftRequest,
    Ticket,
    TicketArticleLink,
    TicketEvent,
    TicketMessage,
)
from kb.ticket.schemas import LinkCreate, MessageCreate, TicketCreate, TicketTransition, TicketUpdate
from kb.ticket.similarity import similarity


@dataclass(frozen=True)
class TicketPolicy:
    """The configurable rules tickets follow."""

    priority_matrix: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_MATRIX))
    reopen_days: int = 7

    @classmethod
    def from_settings(cls, settings: Settings) -> TicketPolicy:
        """The policy configured through KB_TICKET_* settings."""
        return cls(dict(settings.ticket_priority_matrix), settings.ticket_reopen_days)

    def priority(self, impact: str, urgency: str) -> str:
        """Priority from the impact × urgency matrix."""
        return self.priority_matrix[f"{impact}/{urgency}"]


def check_agent(principal: Principal) -> None:
    """Tickets are handled by engineers and above (they hold reporters' personal data)."""
    if not (principal.at_least(ENGINEER) and principal.role != INTEGRATION):
        raise PermissionDenied("只有工程师及以上角色可以查看和处理工单")


def check_can_open(principal: Principal) -> None:
    """Engineers open tickets by hand; integrations open them through the API."""
    if principal.role != INTEGRATION:
        check_agent(principal)


def get_ticket(session: Session, number: str, *, for_update: bool = False) -> Ticket:
    """The ticket with ``number`` or 404."""
    query = select(Ticket).where(Ticket.number == number)
    if for_update:
        query = query.with_for_update()
    ticket = session.scalar(query)
    if ticket is None:
        raise NotFound(f"工单 {number} 不存在")
    return ticket


def record_event(
    session: Session, ticket: Ticket, actor: str, kind: str, name: str = "", old: Any = None, new: Any = None
) -> None:
    """Adds one entry to a ticket's event log."""
    session.add(TicketEvent(ticket_id=ticket.id, actor=actor, at=utcnow(), kind=kind, field=name, old=old, new=new))


def record_changes(session: Session, ticket: Ticket, actor: str, before: dict[str, Any], kind: str) -> list[str]:
    """Log every tracked field that differs from ``before`` as an event, bump the version, audit; the changed names."""
    after = ticket.snapshot()
    changed = [name for name in after if after[name] != before.get(name)]
    for name in changed:
        record_event(session, ticket, actor, kind, name, before.get(name), after[name])
    if changed:
        ticket.version += 1
        ticket.updated_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action=f"ticket.{kind}",
            entity_type="ticket",
            entity_id=ticket.number,
            before={name: before.get(name) for name in changed},
            after={name: after[name] for name in changed},
        )
    return changed


def create_ticket(
    session: Session,
    data: TicketCreate,
    principal: Principal,
    policy: TicketPolicy,
    *,
    proposal: Proposal | None = None,
) -> Ticket:
    """Opens a ticket: priority from the matrix, a human-readable number, a 'created' event.

    An empty category or assignment group takes the classifier's ``proposal``; the proposal is logged as an event,
    so whether engineers kept it can be reported.
    """
    check_can_open(principal)
    now = utcnow()
    values = data.model_dump()
    if proposal is not None:
        values["category"] = values["category"] or proposal.category
        values["assignment_group"] = values["assignment_group"] or proposal.group
    ticket = Ticket(
        **values,
        priority=policy.priority(data.impact, data.urgency),
        status=NEW,
        version=1,
        created_at=now,
        updated_at=now,
        created_by=principal.name,
    )
    session.add(ticket)
    session.flush()
    ticket.number = f"INC-{now:%Y%m%d}-{ticket.id:04d}"
    record_event(session, ticket, principal.name, "created", new=ticket.snapshot())
    if proposal is not None:
        record_event(session, ticket, principal.name, "classified", new=proposal.to_dict())
    audit.record(
        session,
        actor=principal.name,
        action="ticket.create",
        entity_type="ticket",
        entity_id=ticket.number,
        before=None,
        after=ticket.snapshot(),
    )
    return ticket


def _check_version(ticket: Ticket, expected: int | None) -> None:
    if expected is not None and expected != ticket.version:
        raise Conflict(
            f"工单 {ticket.number} 已被他人修改（当前版本 {ticket.version}，你基于版本 {expected}），请刷新后重试",
            details={"current_version": ticket.version},
        )


def update_ticket(
    session: Session, number: str, data: TicketUpdate, principal: Principal, policy: TicketPolicy
) -> Ticket:
    """Changes fields; impact/urgency recompute the priority unless one is given explicitly."""
    check_agent(principal)
    ticket = get_ticket(session, number, for_update=True)
    _check_version(ticket, data.expected_version)
    before = ticket.snapshot()
    changes = data.model_dump(exclude_unset=True, exclude={"expected_version"})
    for name, value in changes.items():
        if value is not None:
            setattr(ticket, name, value)
    if ("impact" in changes or "urgency" in changes) and changes.get("priority") is None:
        ticket.priority = policy.priority(ticket.impact, ticket.urgency)
    record_changes(session, ticket, principal.name, before, "updated")
    return ticket


def add_message(session: Session, number: str, data: MessageCreate, principal: Principal) -> TicketMessage:
    """Adds a reply or internal note (integrations may add public messages from the reporter)."""
    check_can_open(principal)
    if principal.role == INTEGRATION and data.internal:
        raise PermissionDenied("集成账号不能添加内部备注")
    ticket = get_ticket(session, number, for_update=True)
    message = TicketMessage(
        ticket_id=ticket.id,
        author=principal.name,
        from_reporter=data.from_reporter,
        internal=data.internal,
        body=data.body,
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    record_event(
        session, ticket, principal.name, "message", "internal" if data.internal else "public", None, message.id
    )
    ticket.updated_at = utcnow()
    ticket.version += 1
    return message


def messages(session: Session, ticket: Ticket) -> Sequence[TicketMessage]:
    """Messages of a ticket, oldest first."""
    query = select(TicketMessage).where(TicketMessage.ticket_id == ticket.id).order_by(TicketMessage.id)
    return session.scalars(query).all()


def events(session: Session, ticket: Ticket) -> Sequence[TicketEvent]:
    """The event log of a ticket, oldest first."""
    return session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)).all()


def links(session: Session, ticket: Ticket) -> Sequence[TicketArticleLink]:
    """Articles linked to a ticket."""
    query = select(TicketArticleLink).where(TicketArticleLink.ticket_id == ticket.id).order_by(TicketArticleLink.id)
    return session.scalars(query).all()


def link_article(session: Session, number: str, data: LinkCreate, principal: Principal) -> TicketArticleLink:
    """Links a visible article to a ticket; linking again changes the relation. Each link is a reuse event."""
    check_agent(principal)
    ticket = get_ticket(session, number, for_update=True)
    return _link(session, ticket, data.slug, data.relation, principal)


def _link(session: Session, ticket: Ticket, slug: str, relation: str, principal: Principal) -> TicketArticleLink:
    article = session.scalar(select(Article).where(Article.slug == slug))
    if article is None or not permissions.can_see(principal, article):
        raise InvalidInput(f"文章“{slug}”不存在或无权查看", details={"field": "slug"})
    existing = session.scalar(
        select(TicketArticleLink).where(
            TicketArticleLink.ticket_id == ticket.id, TicketArticleLink.article_slug == slug
        )
    )
    old = existing.relation if existing else None
    if existing is None:
        existing = TicketArticleLink(
            ticket_id=ticket.id, article_slug=slug, relation=relation, created_by=principal.name, created_at=utcnow()
        )
        session.add(existing)
    else:
        existing.relation = relation
    if old != relation:
        record_event(session, ticket, principal.name, "article_linked", slug, old, relation)
        ticket.version += 1
        ticket.updated_at = utcnow()
    session.flush()
    return existing


def transition(
    session: Session, number: str, data: TicketTransition, principal: Principal, policy: TicketPolicy
) -> Ticket:
    """Moves a ticket along its lifecycle; an action not allowed from the current status is a 409."""
    check_agent(principal)
    ticket = get_ticket(session, number, for_update=True)
    _check_version(ticket, data.expected_version)
    allowed = lifecycle.allowed_actions(ticket.status)
    if data.action not in allowed:
        current = lifecycle.STATUS_LABELS.get(ticket.status, ticket.status)
        raise Conflict(
            f"工单 {ticket.number} 当前状态为“{current}”，不能执行“{lifecycle.ACTION_LABELS[data.action]}”",
            details={"status": ticket.status, "allowed_actions": allowed},
        )
    before = ticket.snapshot()
    _apply(session, ticket, data, principal, policy)
    record_changes(session, ticket, principal.name, before, data.action)
    if data.note:
        record_event(session, ticket, principal.name, "note", "", None, data.note)
    if data.action == "resolve":
        _resolve_duplicates(session, ticket, principal)
    return ticket


def _apply(
    session: Session, ticket: Ticket, data: TicketTransition, principal: Principal, policy: TicketPolicy
) -> None:
    now = utcnow()
    if data.action == "assign":
        if not data.assignee:
            raise InvalidInput("分派需要指定处理人 assignee", details={"field": "assignee"})
        ticket.assignee = data.assignee
    elif data.action == "resolve":
        missing = [name for name in ("resolution_notes", "resolution_code") if not getattr(data, name)]
        if missing:
            raise InvalidInput(f"解决工单需要填写 {'、'.join(missing)}", details={"fields": missing})
        ticket.resolution_notes = data.resolution_notes
        ticket.resolution_code = data.resolution_code
        ticket.root_cause = data.root_cause
        ticket.resolved_by = principal.name
        ticket.resolved_at = now
        if data.solved_by_article:
            _link(session, ticket, data.solved_by_article, "solved", principal)
        session.add(DraftRequest(ticket_id=ticket.id, requested_at=now))
    elif data.action == "close":
        ticket.closed_at = now
    elif data.action == "reopen":
        resolved_at = ticket.resolved_at or now
        if now - resolved_at > timedelta(days=policy.reopen_days):
            raise Conflict(
                f"工单 {ticket.number} 已解决超过 {policy.reopen_days} 天，不能重新打开；请使用“报告复发”创建新工单",
                details={"allowed_actions": ["recurrence"]},
            )
        ticket.closed_at = None
    ticket.status = lifecycle.target_status(data.action)


def _resolve_duplicates(session: Session, master: Ticket, principal: Principal) -> None:
    duplicates = session.scalars(
        select(Ticket).where(Ticket.master_id == master.id, Ticket.status.in_(OPEN_STATUSES))
    ).all()
    for duplicate in duplicates:
        before = duplicate.snapshot()
        duplicate.status = RESOLVED
        duplicate.resolution_notes = master.resolution_notes
        duplicate.resolution_code = master.resolution_code
        duplicate.root_cause = master.root_cause
        duplicate.resolved_by = principal.name
        duplicate.resolved_at = master.resolved_at
        record_changes(session, duplicate, principal.name, before, "resolved_with_master")
        session.add(DraftRequest(ticket_id=duplicate.id, requested_at=utcnow()))


SORTABLE = {
    "created_at": Ticket.created_at,
    "updated_at": Ticket.updated_at,
    "priority": Ticket.priority,
    "status": Ticket.status,
    "number": Ticket.number,
}


@dataclass(frozen=True)
class TicketFilter:
    """What the ticket list is narrowed to and how it is ordered (``-`` prefix: descending)."""

    status: str | None = None
    priority: str | None = None
    assignment_group: str | None = None
    assignee: str | None = None
    category: str | None = None
    sort: str = "-updated_at"


def list_tickets(
    session: Session, principal: Principal, where: TicketFilter, *, limit: int, offset: int
) -> tuple[int, Sequence[Ticket]]:
    """A filtered, sorted page of tickets and the total matching."""
    check_agent(principal)
    descending = where.sort.startswith("-")
    column = SORTABLE.get(where.sort.lstrip("-"))
    if column is None:
        raise InvalidInput(f"不能按“{where.sort}”排序，可选：{', '.join(SORTABLE)}", details={"field": "sort"})
    query = select(Ticket)
    for name in ("status", "priority", "assignment_group", "assignee", "category"):
        value = getattr(where, name)
        if value:
            query = query.where(getattr(Ticket, name) == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = column.desc() if descending else column.asc()
    rows = session.scalars(query.order_by(order, Ticket.id.desc()).limit(limit).offset(offset)).all()
    return int(total), rows


def suggestion_text(session: Session, ticket: Ticket) -> tuple[str, str]:
    """(title, description plus public messages): the text articles are suggested for."""
    public = session.scalars(
        select(TicketMessage.body)
        .where(TicketMessage.ticket_id == ticket.id, ~TicketMessage.internal)
        .order_by(TicketMessage.id)
    ).all()
    return ticket.title, "\n".join([ticket.description, *public])


DUPLICATE_THRESHOLD = 0.45
SAME_REPORTER_BONUS = 0.2


def possible_duplicates(session: Session, ticket: Ticket, limit: int = 5) -> list[tuple[str, str, float]]:
    """Open tickets that look like the same incident: (number, title, score), most similar first."""
    candidates = session.scalars(
        select(Ticket).where(Ticket.id != ticket.id, Ticket.status.in_(OPEN_STATUSES), Ticket.master_id.is_(None))
    ).all()
    found: list[tuple[str, str, float]] = []
    text = f"{ticket.title}\n{ticket.description}"
    for other in candidates:
        score = similarity(text, f"{other.title}\n{other.description}")
        if ticket.reporter_contact and ticket.reporter_contact == other.reporter_contact:
            score += SAME_REPORTER_BONUS
        if score >= DUPLICATE_THRESHOLD:
            found.append((other.number, other.title, round(min(score, 1.0), 4)))
    found.sort(key=lambda item: -item[2])
    return found[:limit]


def mark_duplicate(session: Session, number: str, master_number: str, principal: Principal) -> Ticket:
    """Make ``number`` a duplicate of ``master_number`` (resolving the master will resolve it too)."""
    check_agent(principal)
    ticket = get_ticket(session, number, for_update=True)
    master = get_ticket(session, master_number, for_update=True)
    while master.master_id is not None:  # point at the real master, never at another duplicate
        master = session.get(Ticket, master.master_id) or master
        if master.master_id == master.id:
            break
    if master.id == ticket.id:
        raise InvalidInput("工单不能标记为自己的重复事件", details={"field": "master"})
    if ticket.status not in OPEN_STATUSES:
        raise Conflict(f"工单 {ticket.number} 已解决或关闭，不能再标记为重复事件")
    old = ticket.master_id
    ticket.master_id = master.id
    if old != master.id:
        record_event(session, ticket, principal.name, "duplicate_of", "master", None, master.number)
        record_event(session, master, principal.name, "duplicate_added", "duplicates", None, ticket.number)
        ticket.version += 1
        ticket.updated_at = utcnow()
        audit.record(
            session,
            actor=principal.name,
            action="ticket.duplicate",
            entity_type="ticket",
            entity_id=ticket.number,
            before={"master": None},
            after={"master": master.number},
        )
    return ticket


def duplicates_of(session: Session, ticket: Ticket) -> list[str]:
    """Numbers of the tickets marked as duplicates of ``ticket``."""
    return list(session.scalars(select(Ticket.number).where(Ticket.master_id == ticket.id).order_by(Ticket.id)))


def report_recurrence(session: Session, number: str, principal: Principal, policy: TicketPolicy) -> Ticket:
    """Past the reopen window, a problem that came back becomes a new ticket linked to the original."""
    check_agent(principal)
    original = get_ticket(session, number, for_update=True)
    if original.status in OPEN_STATUSES:
        raise Conflict(f"工单 {original.number} 仍未解决，无需报告复发", details={"status": original.status})
    resolved_at = original.resolved_at or utcnow()
    if utcnow() - resolved_at <= timedelta(days=policy.reopen_days):
        raise Conflict(
            f"工单 {original.number} 解决未满 {policy.reopen_days} 天，请直接重新打开",
            details={"allowed_actions": lifecycle.allowed_actions(original.status)},
        )
    data = TicketCreate(
        title=original.title,
        description=original.description,
        reporter_name=original.reporter_name,
        reporter_contact=original.reporter_contact,
        channel=original.channel,  # type: ignore[arg-type]
        category=original.category,
        tags=list(original.tags or []),
        impact=original.impact,  # type: ignore[arg-type]
        urgency=original.urgency,  # type: ignore[arg-type]
        assignment_group=original.assignment_group,
        tier=original.tier,  # type: ignore[arg-type]
    )
    recurrence = create_ticket(session, data, principal, policy)
    recurrence.recurrence_of_id = original.id
    record_event(session, recurrence, principal.name, "recurrence_of", "original", None, original.number)
    record_event(session, original, principal.name, "recurred", "recurrence", None, recurrence.number)
    session.add(
        TicketMessage(
            ticket_id=recurrence.id,
            author=principal.name,
            internal=True,
            body=f"此工单是 {original.number} 的复发事件（原工单已于 {resolved_at:%Y-%m-%d} 解决）。",
            created_at=utcnow(),
        )
    )
    return recurrence


def recurrence_count(session: Session, ticket: Ticket) -> int:
    """How many times the problem of ``ticket`` came back."""
    return int(session.scalar(select(func.count(Ticket.id)).where(Ticket.recurrence_of_id == ticket.id)) or 0)


def validated(schema: Any, values: dict[str, Any]) -> Any:
    """``schema`` validated from ``values``, or InvalidInput naming each bad field."""
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        problems = (f"{'.'.join(str(p) for p in e['loc'])}：{e['msg']}" for e in exc.errors())
        raise InvalidInput("；".join(problems)) from None


@dataclass(frozen=True)
class ClassificationAccuracy:
    """How often engineers kept the proposed category and group."""

    proposals: int
    category_kept: int
    group_kept: int

    @property
    def category_rate(self) -> float:
        """Share of proposals whose category is still the ticket's category."""
        return self.category_kept / self.proposals if self.proposals else 0.0

    @property
    def group_rate(self) -> float:
        """Share of proposals whose group is still the ticket's group."""
        return self.group_kept / self.proposals if self.proposals else 0.0


def classification_accuracy(session: Session) -> ClassificationAccuracy:
    """Compare every logged proposal with the ticket's current category and group."""
    rows = session.execute(
        select(TicketEvent.new, Ticket.category, Ticket.assignment_group)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.kind == "classified")
    ).all()
    proposals = [(new or {}, category, group) for new, category, group in rows]
    return ClassificationAccuracy(
        proposals=len(proposals),
        category_kept=sum(1 for new, category, _ in proposals if new.get("category") == category),
        group_kept=sum(1 for new, _, group in proposals if new.get("group") == group),
    )
