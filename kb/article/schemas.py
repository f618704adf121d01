"""Pydantic schemas of articles: what the API and importers accept and return."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Status = Literal["draft", "in_review", "published", "retired"]
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,119}$")
MAX_TAGS = 30
MAX_TEXT = 200_000


def validate_slug(value: str) -> str:
    """Slugs are lower-case ASCII letters, digits, '-', '_' and '.'; at most 120 characters."""
    if not SLUG_RE.match(value):
        raise ValueError("slug 只能包含小写字母、数字、'-'、'_'、'.'，以字母或数字开头，最长 120 个字符")
    return value


def clean_tags(values: list[str]) -> list[str]:
    """Strip, drop empties and duplicates, refuse commas and over-long tags."""
    cleaned: list[str] = []
    for raw in values:
        tag = str(raw).strip()
        if not tag:
            continue
        if "," in tag or "，" in tag:
            raise ValueError(f"标签“{tag}”不能包含逗号")
        if len(tag) > 50:
            raise ValueError(f"标签“{tag[:20]}…”超过 50 个字符")
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValueError(f"标签最多 {MAX_TAGS} 个")
    return cleaned


class InputModel(BaseModel):
    """Base of every input schema: text never carries NUL characters (PostgreSQL cannot store them)."""

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("不能包含 NUL 控制字符")
        return value


class _Content(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    symptoms: str = Field(default="", max_length=MAX_TEXT)
    cause: str = Field(default="", max_length=MAX_TEXT)
    resolution: str = Field(default="", max_length=MAX_TEXT)
    prevention: str = Field(default="", max_length=MAX_TEXT)
    body: str = Field(default="", max_length=MAX_TEXT)
    tags: list[str] = Field(default_factory=list)
    category: str = Field(default="", max_length=100)
    product: str = Field(default="", max_length=100)
    component: str = Field(default="", max_length=100)
    environment: str = Field(default="", max_length=500)
    owner: str = Field(default="", max_length=100)
    review_by: date | None = None
    source_ticket: str | None = Field(default=None, max_length=100)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return clean_tags(value)


class ArticleCreate(_Content):
    """A new article; the slug is generated when omitted."""

    title: str = Field(min_length=1, max_length=300)
    slug: str | None = None
    status: Status = "draft"

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        return validate_slug(value) if value is not None else None


class ArticleImport(_Content):
    """One imported article: upserted by slug, published unless it says otherwise."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    slug: str
    title: str = Field(min_length=1, max_length=300)
    status: Status = "published"

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        return validate_slug(value)


class ArticleUpdate(InputModel):
    """A partial update; ``expected_version`` guards against overwriting someone else's change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=300)
    symptoms: str | None = Field(default=None, max_length=MAX_TEXT)
    cause: str | None = Field(default=None, max_length=MAX_TEXT)
    resolution: str | None = Field(default=None, max_length=MAX_TEXT)
    prevention: str | None = Field(default=None, max_length=MAX_TEXT)
    body: str | None = Field(default=None, max_length=MAX_TEXT)
    tags: list[str] | None = None
    category: str | None = Field(default=None, max_length=100)
    product: str | None = Field(default=None, max_length=100)
    component: str | None = Field(default=None, max_length=100)
    environment: str | None = Field(default=None, max_length=500)
    owner: str | None = Field(default=None, max_length=100)
    review_by: date | None = None
    source_ticket: str | None = Field(default=None, max_length=100)
    expected_version: int | None = None
    change_note: str = Field(default="", max_length=500)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return clean_tags(value) if value is not None else None


class ArticleRead(BaseModel):
    """An article as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    slug: str
    title: str
    status: str
    symptoms: str
    cause: str
    resolution: str
    prevention: str
    body: str
    tags: list[str]
    category: str
    product: str
    component: str
    environment: str
    owner: str
    review_by: date | None
    source_ticket: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


class ArticleSummary(BaseModel):
    """An article in a list."""

    model_config = ConfigDict(from_attributes=True)

    slug: str
    title: str
    status: str
    tags: list[str]
    category: str
    version: int
    updated_at: datetime
    updated_by: str
    review_by: date | None


class VersionRead(BaseModel):
    """One entry of an article's history."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    author: str
    created_at: datetime
    change_note: str


class TransitionRequest(InputModel):
    """An optional note with a lifecycle transition."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500)


class FeedbackCreate(InputModel):
    """Was this article helpful?"""

    model_config = ConfigDict(extra="forbid")

    helpful: bool
    comment: str = Field(default="", max_length=1000)
