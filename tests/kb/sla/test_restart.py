"""The real service restarted inside a breach window: the breach is recorded once, at its real moment, and told once."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from kb.db import Database, utcnow
from kb.notify.models import Notification
from kb.sla.models import SlaEvent
from kb.ticket.models import Ticket, TicketEvent
from tests.kb.notify.receiver import Receiver
from tests.servers import Server, create_token

INTERVAL = {"KB_SLA_SCHEDULER_SECONDS": "0.3", "KB_WEBHOOK_BACKOFF_SECONDS": "0.2"}


def breaches(db: Database) -> list[tuple[str, int, object]]:
    """Recorded breach events as (clock, ticket id, occurred_at)."""
    with db.session(write=False) as session:
        rows = session.scalars(select(SlaEvent).where(SlaEvent.kind == "breach")).all()
        return [(e.clock, e.ticket_id, e.occurred_at) for e in rows]


def wait_for(condition: object, timeout: float = 30.0) -> None:
    """Poll ``condition()`` until true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_a_breach_during_downtime_is_recorded_once_at_its_real_moment(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    env = {"KB_DATABASE_URL": database_url, **INTERVAL}
    server = Server(data_dir, **env)
    db = Database(database_url)
    with Receiver() as receiver:
        try:
            server.wait_ready()
            admin = {"Authorization": f"Bearer {create_token(data_dir, 'admin', 'anna', **env)}"}
            hook = httpx.post(
                f"{server.url}/api/v1/webhooks",
                json={"name": "值班群", "url": receiver.url, "events": ["sla.breach"]},
                headers=admin,
            )
            assert hook.status_code == 201, hook.text
            receiver.secret = hook.json()["secret"]
            created = httpx.post(
                f"{server.url}/api/v1/tickets",
                json={"title": "核心交换机宕机", "impact": "high", "urgency": "high", "assignee": "li"},
                headers=admin,
            )
            assert created.status_code == 201, created.text
        finally:
            server.kill()  # the service goes down ten minutes into a P1 ticket's 30-minute response window
        # 45 minutes pass while it is down: move the ticket's history back accordingly.
        with db.session() as session:
            ticket = session.scalars(select(Ticket)).one()
            ticket.created_at -= timedelta(minutes=45)
            ticket.updated_at = utcnow()
            for event in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)):
                event.at -= timedelta(minutes=45)
            opened = ticket.created_at
        for attempt in range(2):  # the restart, and another restart inside the breach window
            restarted = Server(data_dir, **env)
            try:
                restarted.wait_ready()
                wait_for(lambda: len(breaches(db)) >= 1 and receiver.requests)
                time.sleep(1.5)  # several more scheduler passes
            finally:
                restarted.stop()
            assert breaches(db) == [("response", 1, opened + timedelta(minutes=30))], attempt
    with db.session(write=False) as session:
        told = Counter(
            (n.event_key, n.recipient)
            for n in session.scalars(select(Notification).where(Notification.kind == "sla.breach"))
        )
    assert list(told.values()) == [1] and next(iter(told))[1] == "li"
    assert len(receiver.requests) == 1 and receiver.requests[0].verified
    assert receiver.requests[0].json["occurred_at"] == (opened + timedelta(minutes=30)).isoformat()
    db.dispose()
