"""Article ORM models: the article, its versions and reader feedback."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kb.db import Base, UTCDateTime, utcnow

DRAFT = "draft"
IN_REVIEW = "in_review"
PUBLISHED = "published"
RETIRED = "retired"
STATUSES = (DRAFT, IN_REVIEW, PUBLISHED, RETIRED)

# Fields that make up an article's content; a version snapshots exactly these.
CONTENT_FIELDS = (
    "title",
    "symptoms",
    "cause",
    "resolution",
    "prevention",
    "body",
    "tags",
    "category",
    "product",
    "component",
    "environment",
    "owner",
    "review_by",
    "source_ticket",
    "status",
)


class Article(Base):
    """A problem/solution article."""

    __tablename__ = "article"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(300))
    symptoms: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    prevention: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(100), default="", index=True)
    product: Mapped[str] = mapped_column(String(100), default="")
    component: Mapped[str] = mapped_column(String(100), default="")
    environment: Mapped[str] = mapped_column(String(500), default="")
    owner: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default=DRAFT, index=True)
    review_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    source_ticket: Mapped[str | None] = mapped_column(String(100), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    updated_by: Mapped[str] = mapped_column(String(100), default="")

    def content(self) -> dict[str, Any]:
        """The article's content fields as plain JSON-able values."""
        values = {name: getattr(self, name) for name in CONTENT_FIELDS}
        values["tags"] = list(self.tags or [])
        values["review_by"] = self.review_by.isoformat() if self.review_by else None
        return values


class ArticleVersion(Base):
    """One saved state of an article: who saved it, when, and a snapshot of its content."""

    __tablename__ = "article_version"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    change_note: Mapped[str] = mapped_column(String(500), default="")
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class ArticleFeedback(Base):
    """A reader's answer to "was this helpful?"."""

    __tablename__ = "article_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id", ondelete="CASCADE"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(String(1000), default="")
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
