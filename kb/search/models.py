"""Search ORM models: the ordered index change log and the zero-result log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kb.db import Base, UTCDateTime, utcnow


class IndexOutbox(Base):
    """One article change to apply to the index, written in the same transaction as the change."""

    __tablename__ = "index_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ZeroResultSearch(Base):
    """A search that found nothing: input for the knowledge-gap report."""

    __tablename__ = "zero_result_search"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
