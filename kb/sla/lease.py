"""A database lease: at most one holder per job at a time, taken over by another process once it expires."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from kb.db import Database, utcnow
from kb.sla.models import SchedulerLease


def acquire(db: Database, name: str, holder: str, ttl_seconds: float, now: datetime | None = None) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``; False while someone else holds it."""
    now = now or utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    with db.session(write=False) as session:
        exists = session.scalar(select(SchedulerLease.name).where(SchedulerLease.name == name)) is not None
    if not exists:
        try:
            with db.session() as session:
                session.add(SchedulerLease(name=name, holder=holder, expires_at=expires, acquired_at=now))
            return True
        except IntegrityError:
            pass  # another process created it first: fall through to the conditional update
    with db.session() as session:
        # One conditional UPDATE: atomic on both databases, so two processes cannot both win.
        result = session.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == name,
                or_(SchedulerLease.holder == holder, SchedulerLease.expires_at <= now),
            )
            .values(holder=holder, expires_at=expires, acquired_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def release(db: Database, name: str, holder: str) -> None:
    """Give the lease up at once (on shutdown) so another process need not wait for it to expire."""
    with db.session() as session:
        session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def holder_of(db: Database, name: str) -> tuple[str, datetime] | None:
    """Who holds ``name`` and until when (None if nobody ever took it)."""
    with db.session(write=False) as session:
        row = session.get(SchedulerLease, name)
        return None if row is None else (row.holder, row.expires_at)
