"""The audit log: every state change is recorded in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.auth.models import AuditLog


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditLog:
    """Adds one audit entry (who, what, before/after) to the session."""
    entry = AuditLog(
        actor=actor, action=action, entity_type=entity_type, entity_id=entity_id, before=before, after=after
    )
    session.add(entry)
    return entry


def entries_for(session: Session, entity_type: str, entity_id: str) -> list[AuditLog]:
    """Audit entries of one object, oldest first."""
    query = (
        select(AuditLog)
        .where(AuditLog.entity_type == entity_type, AuditLog.entity_id == entity_id)
        .order_by(AuditLog.id)
    )
    return list(session.scalars(query))
