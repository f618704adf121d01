"""A person's in-app notifications: list (newest first, unread filter), mark one or all as read."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from kb.auth import audit
from kb.auth.permissions import Principal
from kb.db import utcnow
from kb.exceptions import NotFound
from kb.notify.models import Notification
from kb.notify.schemas import NotificationPage, NotificationRead


def _unread(recipient: str) -> tuple[ColumnElement[bool], ...]:
    return (Notification.recipient == recipient, Notification.read_at.is_(None))


def unread_count(session: Session, principal: Principal) -> int:
    """How many of the principal's notifications are unread."""
    return int(session.scalar(select(func.count(Notification.id)).where(*_unread(principal.name))) or 0)


def list_notifications(
    session: Session, principal: Principal, *, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> NotificationPage:
    """The principal's own notifications, newest first, with the total and the unread count."""
    where = _unread(principal.name) if unread_only else (Notification.recipient == principal.name,)
    total = int(session.scalar(select(func.count(Notification.id)).where(*where)) or 0)
    rows = session.scalars(
        select(Notification)
        .where(*where)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [NotificationRead.model_validate(row) for row in rows]
    return NotificationPage(total=total, unread_count=unread_count(session, principal), items=items)


def mark_read(session: Session, notification_id: int, principal: Principal) -> Notification:
    """Mark one of the principal's notifications as read (someone else's is a 404, like a missing one)."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.recipient != principal.name:
        raise NotFound(f"通知 {notification_id} 不存在")
    if notification.read_at is None:
        notification.read_at = utcnow()
        audit.record(
            session,
            actor=principal.name,
            action="notification.read",
            entity_type="notification",
            entity_id=str(notification.id),
            before={"read_at": None},
            after={"read_at": notification.read_at.isoformat()},
        )
    return notification


def mark_all_read(session: Session, principal: Principal) -> int:
    """Mark every unread notification of the principal as read; returns how many."""
    ids = list(session.scalars(select(Notification.id).where(*_unread(principal.name)).order_by(Notification.id)))
    if not ids:
        return 0
    now = utcnow()
    session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session,
        actor=principal.name,
        action="notification.read_all",
        entity_type="notification",
        entity_id=principal.name,
        before={"unread": ids},
        after={"read_at": now.isoformat()},
    )
    return len(ids)
