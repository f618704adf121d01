"""Notification fixtures: a real database (SQLite, and PostgreSQL when configured) without an index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.auth.permissions import ADMIN, Principal
from kb.config import Settings
from kb.db import Database
from kb.notify import service, webhooks
from kb.notify.models import OutboundDelivery
from kb.notify.schemas import WebhookCreate
from tests.conftest import make_settings

ADMIN_ROOT = Principal("root", ADMIN)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A fresh database with every table (notifications need no search index)."""
    database = Database(database_url)
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def notify_settings(tmp_path: Path, database_url: str) -> Settings:
    """Default retry settings: 6 attempts, 30 s first backoff."""
    return make_settings(tmp_path / "data", database_url)


def subscribe(db: Database, url: str, events: list[str] | None = None, name: str = "值班群") -> tuple[int, str]:
    """Create a webhook subscription as an admin; returns (id, secret)."""
    with db.session() as session:
        subscription, secret = webhooks.create_webhook(
            session, WebhookCreate(name=name, url=url, events=events or []), ADMIN_ROOT
        )
        return subscription.id, secret


def announce(db: Database, event_key: str = "sla:1", **values: Any) -> int:
    """Enqueue one SLA breach in its own transaction; returns the rows created."""
    arguments: dict[str, Any] = {
        "kind": "sla.breach",
        "recipients": ["alice", "bob"],
        "title": "INC-20261121-0042 解决已超时",
        "body": "打印机脱机\n解决时限 100% 于 11-21 18:00 到达",
        "payload": {"clock": "resolution", "threshold": 100, "occurred_at": "2026-11-21T10:00:00+00:00"},
        "ticket_number": "INC-20261121-0042",
        "email_enabled": False,
    }
    arguments.update(values)
    with db.session() as session:
        return service.enqueue(session, event_key=event_key, **arguments)


def deliveries(db: Database) -> list[OutboundDelivery]:
    """Every delivery row, in id order."""
    with db.session(write=False) as session:
        return list(session.query(OutboundDelivery).order_by(OutboundDelivery.id))
