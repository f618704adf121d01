"""Tickets from another ticket system: created/updated/resolved/reopened events, idempotent by key.

A delivery is recorded (Idempotency-Key, hash of the body, the response) in the same transaction as its effect,
and the key row is written first: a concurrent second delivery of the same key blocks on that row and then fails
its insert, so exactly one delivery has an effect and every delivery gets the same response.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.article.schemas import InputModel
from kb.auth.permissions import ENGINEER, INTEGRATION, Principal
from kb.exceptions import InvalidInput, NotFound, PermissionDenied
from kb.ticket import service as tickets
from kb.ticket.classify import Proposal
from kb.ticket.models import IntegrationDelivery, Ticket
from kb.ticket.schemas import (
    MAX_DESCRIPTION,
    Level,
    MessageCreate,
    TicketCreate,
    TicketTransition,
    TicketUpdate,
)
from kb.ticket.service import TicketPolicy

EventKind = Literal["created", "updated", "resolved", "reopened"]
MAX_KEY = 200


class ExternalTicket(InputModel):
    """The ticket as the other system describes it (any field may be omitted on updates)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    reporter_name: str | None = Field(default=None, max_length=100)
    reporter_contact: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    customer: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = None
    impact: Level | None = None
    urgency: Level | None = None
    assignment_group: str | None = Field(default=None, max_length=100)
    assignee: str | None = Field(default=None, max_length=100)


class ExternalResolution(InputModel):
    """How the other system resolved the ticket."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    resolution_code: str = Field(min_length=1, max_length=50)
    resolution_notes: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    root_cause: str = Field(default="", max_length=MAX_DESCRIPTION)
    solved_by_article: str | None = Field(default=None, max_length=120)


class TicketEventIn(InputModel):
    """One event from another ticket system (documented in README.md)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    external_id: str = Field(min_length=1, max_length=100)
    event: EventKind
    ticket: ExternalTicket = Field(default_factory=ExternalTicket)
    resolution: ExternalResolution | None = None
    message: str | None = Field(default=None, max_length=MAX_DESCRIPTION)


def body_hash(event: TicketEventIn) -> str:
    """Hash of the event's content (key order and whitespace do not matter)."""
    canonical = json.dumps(event.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def replay(session: Session, key: str, digest: str) -> tuple[int, dict[str, Any]] | None:
    """The stored response of an earlier delivery with ``key``; 422 if that delivery had another body."""
    delivery = session.scalar(select(IntegrationDelivery).where(IntegrationDelivery.idempotency_key == key))
    if delivery is None:
        return None
    if delivery.body_hash != digest:
        raise InvalidInput("Idempotency-Key 已用于另一个不同内容的请求", details={"field": "Idempotency-Key"})
    return delivery.status_code, {**delivery.response, "replayed": True}


def _find(session: Session, event: TicketEventIn) -> Ticket:
    ticket = session.scalar(
        select(Ticket).where(Ticket.external_source == event.source, Ticket.external_id == event.external_id)
    )
    if ticket is None:
        raise NotFound(f"来自 {event.source} 的工单 {event.external_id} 不存在（需要先发送 created 事件）")
    return ticket


def ingest(
    session: Session,
    key: str,
    event: TicketEventIn,
    principal: Principal,
    policy: TicketPolicy,
    proposal: Proposal | None,
) -> tuple[int, dict[str, Any]]:
    """Apply one delivery (or replay an earlier one); returns (HTTP status, response body)."""
    if principal.role != INTEGRATION and not principal.at_least(ENGINEER):
        raise PermissionDenied("需要集成账号（integration）或工程师以上角色")
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(f"需要 Idempotency-Key 请求头（1–{MAX_KEY} 个字符）", details={"field": "Idempotency-Key"})
    digest = body_hash(event)
    earlier = replay(session, key, digest)
    if earlier is not None:
        return earlier
    delivery = IntegrationDelivery(idempotency_key=key, body_hash=digest)
    session.add(delivery)
    session.flush()  # claims the key first: a concurrent duplicate now waits for this transaction
    # Changes made for another system are carried out as an engineer acting under the integration's name.
    actor = Principal(principal.name, ENGINEER)
    status, ticket = _apply(session, event, principal, actor, policy, proposal)
    delivery.status_code = status
    delivery.response = {"ticket": ticket.number, "event": event.event, "status": ticket.status}
    return status, {**delivery.response, "replayed": False}


def _reporter_message(session: Session, ticket: Ticket, event: TicketEventIn, principal: Principal) -> None:
    if event.message:
        tickets.add_message(session, ticket.number, MessageCreate(body=event.message, from_reporter=True), principal)


def _apply(
    session: Session,
    event: TicketEventIn,
    principal: Principal,
    actor: Principal,
    policy: TicketPolicy,
    proposal: Proposal | None,
) -> tuple[int, Ticket]:
    fields = event.ticket.model_dump(exclude_none=True)
    if event.event == "created":
        existing = session.scalar(
            select(Ticket).where(Ticket.external_source == event.source, Ticket.external_id == event.external_id)
        )
        if existing is not None:
            return 200, existing
        if "title" not in fields:
            raise InvalidInput("created 事件需要 ticket.title", details={"field": "ticket.title"})
        data = TicketCreate.model_validate({**fields, "channel": "api"})
        ticket = tickets.create_ticket(session, data, principal, policy, proposal=proposal)
        ticket.external_source, ticket.external_id = event.source, event.external_id
        _reporter_message(session, ticket, event, principal)
        return 201, ticket
    ticket = _find(session, event)
    if fields:
        tickets.update_ticket(session, ticket.number, TicketUpdate.model_validate(fields), actor, policy)
    _reporter_message(session, ticket, event, principal)
    if event.event == "resolved":
        if event.resolution is None:
            raise InvalidInput("resolved 事件需要 resolution", details={"field": "resolution"})
        transition = TicketTransition(action="resolve", **event.resolution.model_dump())
        tickets.transition(session, ticket.number, transition, actor, policy)
    elif event.event == "reopened":
        tickets.transition(session, ticket.number, TicketTransition(action="reopen"), actor, policy)
    return 200, ticket
