"""Webhook subscriptions (admins only): create with a one-time secret, list, change, delete, test, delivery log."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.auth import audit
from kb.auth.permissions import Principal, check_admin
from kb.db import utcnow
from kb.exceptions import Conflict, NotFound
from kb.notify.models import PENDING, WEBHOOK, OutboundDelivery, WebhookSubscription
from kb.notify.schemas import WebhookCreate, WebhookUpdate
from kb.notify.service import event_payload

TEST_KIND = "test"


def _snapshot(subscription: WebhookSubscription) -> dict[str, Any]:
    # Never the secret: the audit log is readable and must not leak it.
    return {
        "name": subscription.name,
        "url": subscription.url,
        "events": list(subscription.events),
        "active": subscription.active,
    }


def _audit(
    session: Session, principal: Principal, action: str, subscription: WebhookSubscription, before: Any, after: Any
) -> None:
    audit.record(
        session,
        actor=principal.name,
        action=action,
        entity_type="webhook",
        entity_id=str(subscription.id),
        before=before,
        after=after,
    )


def get_webhook(session: Session, subscription_id: int, principal: Principal) -> WebhookSubscription:
    """One subscription, or a 404."""
    check_admin(principal, "查看 Webhook")
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(f"Webhook 订阅 {subscription_id} 不存在")
    return subscription


def list_webhooks(session: Session, principal: Principal) -> list[WebhookSubscription]:
    """Every subscription, oldest first."""
    check_admin(principal, "查看 Webhook")
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def create_webhook(session: Session, data: WebhookCreate, principal: Principal) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (returned only here: it is never shown again)."""
    check_admin(principal, "创建 Webhook")
    secret = secrets.token_urlsafe(32)
    subscription = WebhookSubscription(
        name=data.name,
        url=data.url,
        secret=secret,
        events=list(data.events),
        active=data.active,
        created_by=principal.name,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(subscription)
            session.flush()
    except IntegrityError:
        raise Conflict(f"已有名为“{data.name}”的 Webhook 订阅", details={"field": "name"}) from None
    _audit(session, principal, "webhook.create", subscription, None, _snapshot(subscription))
    return subscription, secret


def update_webhook(
    session: Session, subscription_id: int, data: WebhookUpdate, principal: Principal
) -> WebhookSubscription:
    """Change the URL, the event kinds or whether it is active."""
    check_admin(principal, "修改 Webhook")
    subscription = get_webhook(session, subscription_id, principal)
    before = _snapshot(subscription)
    if data.url is not None:
        subscription.url = data.url
    if data.events is not None:
        subscription.events = list(data.events)
    if data.active is not None:
        subscription.active = data.active
    after = _snapshot(subscription)
    if after != before:
        _audit(session, principal, "webhook.update", subscription, before, after)
    return subscription


def delete_webhook(session: Session, subscription_id: int, principal: Principal) -> None:
    """Remove a subscription with its delivery log (a later subscription may reuse the id)."""
    check_admin(principal, "删除 Webhook")
    subscription = get_webhook(session, subscription_id, principal)
    _audit(session, principal, "webhook.delete", subscription, _snapshot(subscription), None)
    session.execute(
        delete(OutboundDelivery).where(
            OutboundDelivery.channel == WEBHOOK, OutboundDelivery.target == str(subscription.id)
        )
    )
    session.delete(subscription)


def list_deliveries(
    session: Session, subscription_id: int, principal: Principal, *, limit: int, offset: int
) -> tuple[int, list[OutboundDelivery]]:
    """The subscription's delivery log, newest first: (total, page)."""
    subscription = get_webhook(session, subscription_id, principal)
    mine = (OutboundDelivery.channel == WEBHOOK, OutboundDelivery.target == str(subscription.id))
    total = session.scalar(select(func.count(OutboundDelivery.id)).where(*mine)) or 0
    rows = session.scalars(
        select(OutboundDelivery)
        .where(*mine)
        .order_by(OutboundDelivery.created_at.desc(), OutboundDelivery.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return int(total), list(rows)


def queue_test(session: Session, subscription_id: int, principal: Principal) -> OutboundDelivery:
    """Queue a ``test`` event for this subscription alone (whatever kinds it subscribes to); audited."""
    check_admin(principal, "测试 Webhook")
    subscription = get_webhook(session, subscription_id, principal)
    if not subscription.active:
        raise Conflict("该 Webhook 订阅已停用，请先启用再测试")
    now = utcnow()
    event_key = f"{TEST_KIND}:{subscription.id}:{secrets.token_hex(8)}"
    payload = event_payload(
        event_key=event_key,
        kind=TEST_KIND,
        ticket_number="",
        title="测试通知",
        body=f"这是来自运维知识库的测试通知，由 {principal.name} 发起。",
        extra={"occurred_at": now.isoformat()},
    )
    delivery = OutboundDelivery(
        channel=WEBHOOK,
        target=str(subscription.id),
        event_key=event_key,
        kind=TEST_KIND,
        payload=payload,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        last_error="",
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    _audit(session, principal, "webhook.test", subscription, None, {"delivery": delivery.id, "event_key": event_key})
    return delivery
