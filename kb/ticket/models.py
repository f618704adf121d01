"""Ticket ORM models: tickets, their messages, their event log, article links and KCS draft requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kb.db import Base, UTCDateTime, utcnow

NEW = "new"
ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
PENDING_USER = "pending_user"
RESOLVED = "resolved"
CLOSED = "closed"
STATUSES = (NEW, ASSIGNED, IN_PROGRESS, PENDING_USER, RESOLVED, CLOSED)
OPEN_STATUSES = (NEW, ASSIGNED, IN_PROGRESS, PENDING_USER)

CHANNELS = ("phone", "email", "im", "portal", "alert", "api")
LEVELS = ("high", "medium", "low")
TIERS = ("L1", "L2", "L3")
PRIORITIES = ("P1", "P2", "P3", "P4")

# Fields whose changes are logged as ticket events (field, old, new).
TRACKED_FIELDS = (
    "title",
    "description",
    "reporter_name",
    "reporter_contact",
    "channel",
    "category",
    "customer",
    "impact",
    "urgency",
    "priority",
    "assignment_group",
    "tier",
    "assignee",
    "status",
    "resolution_code",
    "resolution_notes",
    "root_cause",
    "tags",
)


class Ticket(Base):
    """An incident or request from a user, a monitoring alert or another ticket system."""

    __tablename__ = "ticket"
    __table_args__ = (UniqueConstraint("external_source", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True, index=True, default="")
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    reporter_name: Mapped[str] = mapped_column(String(100), default="")
    reporter_contact: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(20), default="portal")
    category: Mapped[str] = mapped_column(String(100), default="", index=True)
    customer: Mapped[str] = mapped_column(String(100), default="", server_default="", index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    impact: Mapped[str] = mapped_column(String(10), default="medium")
    urgency: Mapped[str] = mapped_column(String(10), default="medium")
    priority: Mapped[str] = mapped_column(String(2), default="P3", index=True)
    assignment_group: Mapped[str] = mapped_column(String(100), default="", index=True)
    tier: Mapped[str] = mapped_column(String(2), default="L1")
    assignee: Mapped[str] = mapped_column(String(100), default="", index=True)
    status: Mapped[str] = mapped_column(String(20), default=NEW, index=True)
    resolution_code: Mapped[str] = mapped_column(String(50), default="")
    resolution_notes: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[str] = mapped_column(String(100), default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    master_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), nullable=True, index=True)
    recurrence_of_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), nullable=True, index=True)
    external_source: Mapped[str | None] = mapped_column(String(50), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    alert_fingerprint: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")

    def snapshot(self) -> dict[str, Any]:
        """The tracked fields as plain JSON-able values."""
        values = {name: getattr(self, name) for name in TRACKED_FIELDS}
        values["tags"] = list(self.tags or [])
        return values


class TicketMessage(Base):
    """A public reply or an internal note on a ticket."""

    __tablename__ = "ticket_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    from_reporter: Mapped[bool] = mapped_column(Boolean, default=False)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketEvent(Base):
    """One change to a ticket: who, when, what (field, old, new) — the log SLA clocks and reports read."""

    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    field: Mapped[str] = mapped_column(String(50), default="")
    old: Mapped[Any] = mapped_column(JSON, nullable=True)
    new: Mapped[Any] = mapped_column(JSON, nullable=True)


class TicketArticleLink(Base):
    """An article that solved a ticket or is related to it: each link is a reuse of that article."""

    __tablename__ = "ticket_article_link"
    __table_args__ = (UniqueConstraint("ticket_id", "article_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    article_slug: Mapped[str] = mapped_column(String(120), index=True)
    relation: Mapped[str] = mapped_column(String(20))  # solved | related
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DraftRequest(Base):
    """Written with a resolution, in the same transaction: a draft article is owed for this ticket.

    Processed after commit and again at every start, so a crash between the resolution and the draft is repaired.
    """

    __tablename__ = "ticket_draft_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


class TicketDraft(Base):
    """The one draft article a ticket produced (unique per ticket), and what reviewers need to curate it."""

    __tablename__ = "ticket_draft"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), unique=True)
    article_slug: Mapped[str] = mapped_column(String(120), index=True)
    revision_of: Mapped[str | None] = mapped_column(String(120), nullable=True)
    similar: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[slug, title, score], ...]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IntegrationDelivery(Base):
    """One accepted webhook delivery, by its Idempotency-Key: a replay returns the stored response."""

    __tablename__ = "integration_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer, default=200)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Survey(Base):
    """The follow-up (回访) after a resolution: the reporter answers through a secret link, without logging in."""

    __tablename__ = "ticket_survey"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    solved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class SupportGroup(Base):
    """An assignment group: its tier, who leads and manages it, and where its tickets escalate to."""

    __tablename__ = "support_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    tier: Mapped[str] = mapped_column(String(2), default="L1")
    lead: Mapped[str] = mapped_column(String(100), default="")
    manager: Mapped[str] = mapped_column(String(100), default="")
    escalates_to: Mapped[str] = mapped_column(String(100), default="")  # the next tier's group, "" to stay
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
