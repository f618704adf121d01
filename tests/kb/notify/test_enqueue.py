"""Enqueueing an event: one in-app notification per person, one delivery per webhook and address, exactly once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from kb.db import Database
from kb.notify import contacts, service, webhooks
from kb.notify.models import EMAIL, PENDING, WEBHOOK, Notification
from kb.notify.schemas import ContactIn, WebhookUpdate
from tests.kb.notify.conftest import ADMIN_ROOT, announce, deliveries, subscribe

EVENT: dict[str, Any] = {
    "kind": "sla.breach",
    "recipients": ["alice", "bob"],
    "title": "INC-20261121-0042 解决已超时",
    "body": "",
    "payload": {},
    "email_enabled": False,
}


def notifications(db: Database) -> list[Notification]:
    """Every in-app notification, in id order."""
    with db.session(write=False) as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


class TestEnqueue:
    def test_one_notification_per_distinct_person_and_one_delivery_per_matching_active_webhook(
        self, db: Database
    ) -> None:
        everything, _ = subscribe(db, "https://hooks.example.com/all", name="全部")
        breaches, _ = subscribe(db, "https://hooks.example.com/breach", ["sla.breach"], name="只要超时")
        subscribe(db, "https://hooks.example.com/warn", ["sla.warning"], name="只要预警")
        paused, _ = subscribe(db, "https://hooks.example.com/paused", name="已停用")
        with db.session() as session:
            webhooks.update_webhook(session, paused, WebhookUpdate(active=False), ADMIN_ROOT)

        created = announce(db, recipients=["alice", " bob ", "alice", "", "bob"])

        assert created == 4
        assert [(n.recipient, n.kind, n.ticket_number) for n in notifications(db)] == [
            ("alice", "sla.breach", "INC-20261121-0042"),
            ("bob", "sla.breach", "INC-20261121-0042"),
        ]
        rows = deliveries(db)
        assert {(d.channel, d.target) for d in rows} == {(WEBHOOK, str(everything)), (WEBHOOK, str(breaches))}
        assert all(d.status == PENDING and d.attempts == 0 for d in rows)
        assert rows[0].payload == {
            "event": "sla.breach",
            "event_key": "sla:1",
            "ticket": "INC-20261121-0042",
            "title": "INC-20261121-0042 解决已超时",
            "body": "打印机脱机\n解决时限 100% 于 11-21 18:00 到达",
            "clock": "resolution",
            "threshold": 100,
            "occurred_at": "2026-11-21T10:00:00+00:00",
        }

    def test_enqueueing_the_same_event_twice_creates_nothing_new(self, db: Database) -> None:
        hook, _ = subscribe(db, "https://hooks.example.com/all")
        with db.session() as session:
            contacts.upsert_contact(session, "alice", ContactIn(email="alice@example.com"), ADMIN_ROOT)
        assert announce(db, email_enabled=True) == 4
        assert announce(db, email_enabled=True) == 0
        assert announce(db, email_enabled=True, recipients=["alice", "bob", "carol"]) == 1
        assert len(notifications(db)) == 3
        assert sorted((d.channel, d.target) for d in deliveries(db)) == [
            (EMAIL, "alice@example.com"),
            (WEBHOOK, str(hook)),
        ]

    def test_e_mail_goes_to_recipients_with_an_address_only_when_enabled(self, db: Database) -> None:
        with db.session() as session:
            contacts.upsert_contact(session, "alice", ContactIn(email="alice@example.com"), ADMIN_ROOT)
            contacts.upsert_contact(session, "dave", ContactIn(email="alice@example.com"), ADMIN_ROOT)
        assert announce(db, "sla:1", email_enabled=False) == 2
        assert deliveries(db) == []
        assert announce(db, "sla:2", recipients=["alice", "bob", "dave"], email_enabled=True) == 4
        assert [(d.channel, d.target, d.event_key) for d in deliveries(db)] == [(EMAIL, "alice@example.com", "sla:2")]

    def test_it_runs_in_the_callers_transaction(self, db: Database) -> None:
        subscribe(db, "https://hooks.example.com/all")
        with pytest.raises(RuntimeError), db.session() as session:
            assert service.enqueue(
                session,
                event_key="sla:9",
                kind="sla.warning",
                recipients=["alice"],
                title="预警",
                body="",
                payload={},
                email_enabled=False,
            )
            raise RuntimeError("the caller's work failed")
        assert notifications(db) == [] and deliveries(db) == []

    def test_a_concurrent_enqueue_of_the_same_event_adds_nothing_and_keeps_its_transaction(self, db: Database) -> None:
        subscribe(db, "https://hooks.example.com/all")
        first_done, second_result = threading.Event(), []

        def second() -> None:
            # Its existence check may run before the first commits; the unique constraints then turn it away.
            second_result.append(announce(db))

        with db.session() as session:
            assert service.enqueue(session, event_key="sla:1", **EVENT) == 3
            other = threading.Thread(target=second)
            other.start()
            first_done.wait(0.3)
        other.join(timeout=30)
        assert second_result == [0]
        assert len(notifications(db)) == 2 and len(deliveries(db)) == 1
