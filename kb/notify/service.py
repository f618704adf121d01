"""Notifying people and systems of an event: the in-app list, signed webhooks and e-mail, each exactly once.

``enqueue`` runs in the caller's transaction, so an event and its notifications commit together. ``dispatch``
sends what is due, outside any long transaction: each delivery is claimed (its next attempt pushed past the
send's timeout) in one short transaction, sent, and its outcome recorded in another. A process dying between
the two leaves the claim to expire and the row is sent again, so delivery is at least once; receivers dedupe
on X-KB-Delivery.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.config import Settings
from kb.db import Base, Database, utcnow
from kb.notify import mail, signing
from kb.notify.models import (
    DELIVERED,
    EMAIL,
    FAILED,
    PENDING,
    WEBHOOK,
    Contact,
    Notification,
    OutboundDelivery,
    WebhookSubscription,
)

log = logging.getLogger(__name__)
BATCH = 200
MAX_ERROR = 500
MAX_TITLE = 300  # Notification.title
USER_AGENT = "kb-search-webhook/1"


@dataclass
class DispatchReport:
    """What one dispatch pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Job:
    """A claimed delivery, detached from its session: everything needed to send it."""

    id: int
    channel: str
    target: str
    kind: str
    payload: dict[str, Any]
    url: str = ""
    secret: str = ""
    refusal: str = ""  # set when the delivery cannot be sent at all (subscription gone or disabled)


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""
    final: bool = False  # no point in retrying


def event_payload(
    *, event_key: str, kind: str, ticket_number: str, title: str, body: str, extra: dict[str, Any]
) -> dict[str, Any]:
    """The JSON object every channel sends for one event (``sent_at`` is added at send time)."""
    return {
        **extra,
        "event": kind,
        "event_key": event_key,
        "ticket": ticket_number,
        "title": title,
        "body": body,
    }


def _insert(session: Session, row: Base) -> bool:
    # A concurrent enqueue of the same event may win the unique constraint; only this row is undone then.
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def _wants(subscription: WebhookSubscription, kind: str) -> bool:
    return not subscription.events or kind in subscription.events


def enqueue(
    session: Session,
    *,
    event_key: str,
    kind: str,
    recipients: Sequence[str],
    title: str,
    body: str,
    payload: dict[str, Any],
    ticket_number: str = "",
    email_enabled: bool,
) -> int:
    """Queue one event for in-app, webhook and e-mail delivery in the caller's transaction; returns rows created."""
    people = list(dict.fromkeys(name.strip() for name in recipients if name and name.strip()))
    told = set(
        session.scalars(
            select(Notification.recipient).where(
                Notification.event_key == event_key, Notification.recipient.in_(people)
            )
        )
    )
    queued = {
        (channel, target)
        for channel, target in session.execute(
            select(OutboundDelivery.channel, OutboundDelivery.target).where(OutboundDelivery.event_key == event_key)
        )
    }
    created = 0
    now = utcnow()
    for name in people:
        if name not in told:
            row = Notification(
                event_key=event_key,
                recipient=name,
                kind=kind,
                ticket_number=ticket_number,
                title=title[:MAX_TITLE],
                body=body,
                created_at=now,
            )
            created += _insert(session, row)
    content = event_payload(
        event_key=event_key, kind=kind, ticket_number=ticket_number, title=title, body=body, extra=payload
    )
    targets = [
        (WEBHOOK, str(subscription.id))
        for subscription in session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True)))
        if _wants(subscription, kind)
    ]
    if email_enabled and people:
        addresses = session.scalars(select(Contact.email).where(Contact.name.in_(people)).order_by(Contact.name))
        targets += [(EMAIL, address) for address in dict.fromkeys(addresses)]
    for channel, target in targets:
        if (channel, target) not in queued:
            delivery = OutboundDelivery(
                channel=channel,
                target=target,
                event_key=event_key,
                kind=kind,
                payload=content,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                last_error="",
                created_at=now,
            )
            created += _insert(session, delivery)
    return created


def dispatch(
    db: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    client: httpx.Client | None = None,
    only: Collection[int] | None = None,
) -> DispatchReport:
    """Send every pending delivery due at ``now`` (or just the ids in ``only``); failures are retried, never raised."""
    now = now or utcnow()
    query = (
        select(OutboundDelivery.id)
        .where(OutboundDelivery.status == PENDING, OutboundDelivery.next_attempt_at <= now)
        .order_by(OutboundDelivery.next_attempt_at, OutboundDelivery.id)
        .limit(BATCH)
    )
    if only is not None:
        query = query.where(OutboundDelivery.id.in_(list(only)))
    with db.session(write=False) as session:
        due = list(session.scalars(query))
    report = DispatchReport()
    if not due:
        return report
    http = client
    if http is None:
        http = httpx.Client(timeout=settings.webhook_timeout_seconds)
    try:
        for delivery_id in due:
            job = _claim(db, delivery_id, now, settings)
            if job is None:
                continue  # another dispatcher has it
            outcome = _send(job, settings, http)
            status = _record(db, job.id, outcome, now, settings)
            if status == DELIVERED:
                report.sent += 1
            elif status == FAILED:
                report.failed += 1
            else:
                report.retried += 1
    finally:
        if client is None:
            http.close()
    return report


def _claim(db: Database, delivery_id: int, now: datetime, settings: Settings) -> _Job | None:
    # Long enough for the slowest send, so nobody else picks the row up meanwhile.
    lease = timedelta(seconds=max(settings.webhook_timeout_seconds, mail.SMTP_TIMEOUT_SECONDS) + 60)
    with db.session() as session:
        claimed = session.execute(
            update(OutboundDelivery)
            .where(
                OutboundDelivery.id == delivery_id,
                OutboundDelivery.status == PENDING,
                OutboundDelivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], claimed).rowcount != 1:
            return None
        delivery = session.get(OutboundDelivery, delivery_id)
        if delivery is None:
            return None
        job = _Job(delivery.id, delivery.channel, delivery.target, delivery.kind, dict(delivery.payload))
        if delivery.channel != WEBHOOK:
            return job
        subscription = session.get(WebhookSubscription, int(delivery.target)) if delivery.target.isdigit() else None
        if subscription is None:
            return dataclasses.replace(job, refusal="Webhook 订阅已删除")
        if not subscription.active:
            return dataclasses.replace(job, refusal="Webhook 订阅已停用")
        return dataclasses.replace(job, url=subscription.url, secret=subscription.secret)


def _send(job: _Job, settings: Settings, http: httpx.Client) -> _Outcome:
    if job.refusal:
        return _Outcome(ok=False, error=job.refusal, final=True)
    try:
        if job.channel == WEBHOOK:
            return _post(job, settings, http)
        if job.channel == EMAIL:
            return _mail(job, settings)
        return _Outcome(ok=False, error=f"未知渠道“{job.channel}”", final=True)
    except Exception as exc:  # one bad endpoint or server must never stop the others
        log.warning("delivery %s (%s → %s) failed: %s", job.id, job.channel, job.target, exc)
        return _Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR])


def _webhook_request(job_id: int, kind: str, payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    sent = utcnow()
    body = json.dumps(
        {**payload, "sent_at": sent.isoformat()}, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-KB-Event": kind,
        "X-KB-Delivery": str(job_id),
        "X-KB-Timestamp": timestamp,
        "X-KB-Signature": signing.sign(secret, timestamp, body),
    }
    return body, headers


def _post(job: _Job, settings: Settings, http: httpx.Client) -> _Outcome:
    body, headers = _webhook_request(job.id, job.kind, job.payload, job.secret)
    with http.stream(
        "POST", job.url, content=body, headers=headers, timeout=settings.webhook_timeout_seconds
    ) as response:
        if response.is_success:
            return _Outcome(ok=True, status_code=response.status_code)
        text = _head(response)
    return _Outcome(ok=False, status_code=response.status_code, error=text or f"HTTP {response.status_code}")


def _head(response: httpx.Response) -> str:
    # Only the start of an error page is kept; a huge or endless body is not read to its end.
    received = b""
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) >= MAX_ERROR * 4:
            break
    try:
        text = received.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:  # an unknown charset in Content-Type
        text = received.decode("utf-8", errors="replace")
    return text[:MAX_ERROR]


def _mail(job: _Job, settings: Settings) -> _Outcome:
    if not settings.smtp_host:
        return _Outcome(ok=False, error="未配置邮件服务器（KB_SMTP_HOST）", final=True)
    payload = job.payload
    lines = [str(payload.get("body", ""))]
    if payload.get("ticket"):
        lines += ["", f"工单：{payload['ticket']}"]
    lines += [f"事件：{job.kind}", "", "—— 运维知识库自动通知，请勿直接回复"]
    mail.send_mail(settings, job.target, str(payload.get("title", job.kind)), "\n".join(lines))
    return _Outcome(ok=True)


def _record(db: Database, delivery_id: int, outcome: _Outcome, now: datetime, settings: Settings) -> str:
    with db.session() as session:
        delivery = session.get(OutboundDelivery, delivery_id)
        if delivery is None:  # its subscription was deleted while it was being sent
            return FAILED
        delivery.attempts += 1
        delivery.last_status_code = outcome.status_code
        if outcome.ok:
            delivery.status, delivery.delivered_at, delivery.last_error = DELIVERED, now, ""
        elif outcome.final or delivery.attempts >= settings.webhook_max_attempts:
            delivery.status, delivery.last_error = FAILED, outcome.error[:MAX_ERROR]
        else:
            delay = settings.webhook_backoff_seconds * 2 ** (delivery.attempts - 1)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            delivery.last_error = outcome.error[:MAX_ERROR]
        return delivery.status
