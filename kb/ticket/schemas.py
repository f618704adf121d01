"""Pydantic schemas of tickets: what the API and CLI accept and return."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.article.schemas import InputModel, clean_tags
from kb.ticket import lifecycle

Channel = Literal["phone", "email", "im", "portal", "alert", "api"]
Level = Literal["high", "medium", "low"]
Tier = Literal["L1", "L2", "L3"]
Priority = Literal["P1", "P2", "P3", "P4"]
Action = Literal["assign", "start", "wait_user", "resolve", "close", "reopen"]
Relation = Literal["solved", "related"]
MAX_DESCRIPTION = 50_000


class TicketCreate(InputModel):
    """A new ticket; category and group may be left empty to take the classifier's proposal."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    reporter_name: str = Field(default="", max_length=100)
    reporter_contact: str = Field(default="", max_length=200)
    channel: Channel = "portal"
    category: str = Field(default="", max_length=100)
    customer: str = Field(default="", max_length=100, description="客户或部门；SLA 策略可按客户区分")
    tags: list[str] = Field(default_factory=list)
    impact: Level = "medium"
    urgency: Level = "medium"
    assignment_group: str = Field(default="", max_length=100)
    tier: Tier = "L1"
    assignee: str = Field(default="", max_length=100)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return clean_tags(value)


class TicketUpdate(InputModel):
    """Changed fields only; ``expected_version`` turns a concurrent edit into 409 instead of a lost update."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    expected_version: int | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    reporter_name: str | None = Field(default=None, max_length=100)
    reporter_contact: str | None = Field(default=None, max_length=200)
    channel: Channel | None = None
    category: str | None = Field(default=None, max_length=100)
    customer: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = None
    impact: Level | None = None
    urgency: Level | None = None
    priority: Priority | None = None
    assignment_group: str | None = Field(default=None, max_length=100)
    tier: Tier | None = None
    assignee: str | None = Field(default=None, max_length=100)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else clean_tags(value)


class TicketTransition(InputModel):
    """A status change; ``resolve`` needs notes and a code, ``assign`` an assignee."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Action
    assignee: str = Field(default="", max_length=100)
    resolution_code: str = Field(default="", max_length=50)
    resolution_notes: str = Field(default="", max_length=MAX_DESCRIPTION)
    root_cause: str = Field(default="", max_length=MAX_DESCRIPTION)
    solved_by_article: str | None = Field(default=None, max_length=120)
    note: str = Field(default="", max_length=2000)
    expected_version: int | None = None


class MessageCreate(InputModel):
    """A public reply (optionally written by the reporter) or an internal note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    body: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    internal: bool = False
    from_reporter: bool = False


class LinkCreate(InputModel):
    """Link an article to a ticket as the one that solved it or as related."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    slug: str = Field(min_length=1, max_length=120)
    relation: Relation = "related"


class TicketRead(BaseModel):
    """A ticket as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    number: str
    title: str
    description: str
    reporter_name: str
    reporter_contact: str
    channel: str
    category: str
    customer: str
    tags: list[str]
    impact: str
    urgency: str
    priority: str
    assignment_group: str
    tier: str
    assignee: str
    status: str
    resolution_code: str
    resolution_notes: str
    root_cause: str
    resolved_by: str
    resolved_at: datetime | None
    closed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str
    allowed_actions: list[str] = Field(default_factory=list)
    survey_url: str | None = Field(default=None, description="回访链接，仅在解决时返回一次")

    @classmethod
    def of(cls, ticket: Any) -> TicketRead:
        """The view of an ORM ticket, with the actions its status allows."""
        read = cls.model_validate(ticket)
        read.allowed_actions = lifecycle.allowed_actions(ticket.status)
        return read


class MessageRead(BaseModel):
    """A message on a ticket."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    author: str
    from_reporter: bool
    internal: bool
    body: str
    created_at: datetime


class EventRead(BaseModel):
    """One entry of a ticket's event log."""

    model_config = ConfigDict(from_attributes=True)

    actor: str
    at: datetime
    kind: str
    field: str
    old: Any
    new: Any


class LinkRead(BaseModel):
    """An article linked to a ticket."""

    model_config = ConfigDict(from_attributes=True)

    article_slug: str
    relation: str
    created_by: str
    created_at: datetime
