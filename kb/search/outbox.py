"""The ordered change log the index writer consumes."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kb.search.models import IndexOutbox

_OUTBOX_LOCK_KEY = 72_707_001


def record_index_change(session: Session, slug: str) -> None:
    """Queues ``slug`` for re-indexing; committed or rolled back with the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise outbox writers so ids commit in id order and the writer never skips a late commit.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OUTBOX_LOCK_KEY})
    session.add(IndexOutbox(slug=slug))


def latest_position(session: Session) -> int:
    """The highest change-log position written so far."""
    return int(session.scalar(select(func.max(IndexOutbox.id))) or 0)


def pending_changes(session: Session, after: int, limit: int) -> list[IndexOutbox]:
    """Changes after ``after``, oldest first."""
    query = select(IndexOutbox).where(IndexOutbox.id > after).order_by(IndexOutbox.id).limit(limit)
    return list(session.scalars(query))
