"""Two scheduler processes at once, on one database: every SLA event is recorded, notified and sent once."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from kb.auth.permissions import ADMIN, Principal
from kb.config import Settings
from kb.context import Services
from kb.db import Database, utcnow
from kb.notify import webhooks
from kb.notify.models import DELIVERED, Notification, OutboundDelivery
from kb.notify.schemas import WebhookCreate
from kb.sla.models import SlaEvent
from kb.sla.scheduler import new_holder, run_once
from kb.ticket import service as tickets
from tests.kb.notify.receiver import Receiver
from tests.kb.sla.test_evaluate import open_ticket, setup_groups

PASSES_SECONDS = 4.0


def scheduler_process(settings_json: str, leaders: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Run scheduler passes back to back for a few seconds, as a second service node would."""
    settings = Settings.model_validate_json(settings_json)
    db = Database(settings.database_url)
    holder, led = new_holder(), 0
    deadline = time.monotonic() + PASSES_SECONDS
    while time.monotonic() < deadline:
        led += run_once(db, settings, holder).leader
        time.sleep(0.01)
    db.dispose()
    leaders.put(led)


def backdate(services: Services, number: str, hours: float) -> None:
    """Move a ticket's whole history into the past, as if it had been opened ``hours`` ago."""
    with services.db.session() as session:
        ticket = tickets.get_ticket(session, number)
        ticket.created_at -= timedelta(hours=hours)
        ticket.updated_at = utcnow()
        for event in tickets.events(session, ticket):
            event.at -= timedelta(hours=hours)


def test_two_schedulers_never_notify_twice(services: Services) -> None:
    setup_groups(services)
    # A lease of 0.15 s changes hands between the processes many times during the run.
    settings = services.settings.model_copy(update={"sla_scheduler_seconds": 0.05, "webhook_backoff_seconds": 0.1})
    with Receiver() as receiver:
        with services.db.session() as session:
            _row, receiver.secret = webhooks.create_webhook(
                session, WebhookCreate(name="值班群", url=receiver.url, events=[]), Principal("anna", ADMIN)
            )
        numbers = []
        for index in range(6):
            number, _created = open_ticket(services, assignment_group="服务台", assignee=f"eng{index}")
            backdate(services, number, 1 + index * 0.4)
            numbers.append(number)
        context = multiprocessing.get_context("spawn")
        leaders: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
        workers = [
            context.Process(target=scheduler_process, args=(settings.model_dump_json(), leaders)) for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
            assert worker.exitcode == 0
        led = [leaders.get(timeout=5) for _ in workers]
        assert sum(led) > 0
        with services.db.session(write=False) as session:
            events = session.scalars(select(SlaEvent)).all()
            keys = {f"sla:{e.id}" for e in events}
            notifications = session.execute(select(Notification.event_key, Notification.recipient)).all()
            deliveries = session.scalars(select(OutboundDelivery)).all()
            pending = session.scalar(
                select(func.count(OutboundDelivery.id)).where(OutboundDelivery.status != DELIVERED)
            )
        # Every ticket has breached its response clock (30 min); the three opened over 2 h ago their resolution too.
        breaches = Counter((e.ticket_id, e.clock) for e in events if e.kind == "breach")
        assert len(breaches) == 6 + 3 and set(breaches.values()) == {1}
        # Of the thresholds passed since the last pass only the latest is told, and every escalation.
        told = {key for key, _ in notifications}
        assert len(notifications) == len(set(notifications)) and told <= keys
        escalations = {f"sla:{e.id}" for e in events if e.kind == "escalation"}
        assert escalations <= told and len(escalations) == 6 + 3
        assert len(deliveries) == len(told) and pending == 0
        sent = Counter(r.json["event_key"] for r in receiver.requests)
        assert set(sent) == told and set(sent.values()) == {1}, "a webhook event was sent twice"
        assert all(r.verified for r in receiver.requests)
