"""Dispatching webhooks to a real HTTP receiver: signed, retried with exponential backoff, logged, never raised."""

from __future__ import annotations

from datetime import timedelta

from kb.config import Settings
from kb.db import Database, utcnow
from kb.notify import service, webhooks
from kb.notify.models import DELIVERED, FAILED, PENDING
from kb.notify.schemas import WebhookUpdate
from kb.notify.service import DispatchReport
from tests.kb.notify.conftest import ADMIN_ROOT, announce, deliveries, subscribe
from tests.kb.notify.receiver import Receiver
from tests.servers import free_port


class TestDelivery:
    def test_the_receiver_gets_a_signed_json_event_with_the_documented_headers(
        self, db: Database, notify_settings: Settings
    ) -> None:
        with Receiver() as receiver:
            hook, receiver.secret = subscribe(db, receiver.url)
            announce(db)
            now = utcnow()
            report = service.dispatch(db, notify_settings, now=now)
        assert report == DispatchReport(sent=1, retried=0, failed=0)
        [request] = receiver.requests
        [delivery] = deliveries(db)
        assert request.verified
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-kb-event"] == "sla.breach"
        assert request.headers["x-kb-delivery"] == str(delivery.id)
        assert request.headers["x-kb-signature"].startswith("sha256=")
        body = request.json
        assert body["event"] == "sla.breach" and body["event_key"] == "sla:1"
        assert body["ticket"] == "INC-20261121-0042" and body["title"] == "INC-20261121-0042 解决已超时"
        assert body["threshold"] == 100 and "sent_at" in body
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DELIVERED, 1, 200)
        assert delivery.delivered_at == now and delivery.target == str(hook)
        assert service.dispatch(db, notify_settings, now=now + timedelta(days=1)) == DispatchReport()

    def test_one_bad_endpoint_does_not_hold_up_the_others(self, db: Database, notify_settings: Settings) -> None:
        with Receiver() as receiver:
            subscribe(db, f"http://127.0.0.1:{free_port()}/closed", name="已关闭的端口")
            good, receiver.secret = subscribe(db, receiver.url, name="正常")
            announce(db)
            report = service.dispatch(db, notify_settings, now=utcnow())
        assert report == DispatchReport(sent=1, retried=1, failed=0)
        assert len(receiver.requests) == 1 and receiver.requests[0].verified
        by_target = {d.target: d for d in deliveries(db)}
        assert by_target[str(good)].status == DELIVERED


class TestRetries:
    def test_two_failures_then_success_take_three_attempts_waiting_30_then_60_seconds(
        self, db: Database, notify_settings: Settings
    ) -> None:
        with Receiver(500, 500) as receiver:
            _, receiver.secret = subscribe(db, receiver.url)
            announce(db)
            start = utcnow()

            assert service.dispatch(db, notify_settings, now=start) == DispatchReport(retried=1)
            [first] = deliveries(db)
            assert (first.status, first.attempts, first.last_status_code) == (PENDING, 1, 500)
            assert first.last_error == "接收方内部错误 boom"
            assert first.next_attempt_at == start + timedelta(seconds=30)

            assert service.dispatch(db, notify_settings, now=start + timedelta(seconds=29)) == DispatchReport()
            assert service.dispatch(db, notify_settings, now=start + timedelta(seconds=30)) == DispatchReport(retried=1)
            [second] = deliveries(db)
            assert second.attempts == 2 and second.next_attempt_at == start + timedelta(seconds=90)

            assert service.dispatch(db, notify_settings, now=start + timedelta(seconds=89)) == DispatchReport()
            assert service.dispatch(db, notify_settings, now=start + timedelta(seconds=90)) == DispatchReport(sent=1)
        [done] = deliveries(db)
        assert (done.status, done.attempts, done.last_status_code, done.last_error) == (DELIVERED, 3, 200, "")
        assert done.delivered_at == start + timedelta(seconds=90)
        assert len(receiver.requests) == 3 and all(r.verified for r in receiver.requests)
        assert {r.headers["x-kb-delivery"] for r in receiver.requests} == {str(done.id)}

    def test_after_the_last_attempt_the_delivery_is_failed_with_the_error_kept(
        self, db: Database, notify_settings: Settings
    ) -> None:
        settings = notify_settings.model_copy(update={"webhook_max_attempts": 3})
        with Receiver(503, 503, 503, 503, error_body="维护中" * 400) as receiver:
            _, receiver.secret = subscribe(db, receiver.url)
            announce(db)
            moment = utcnow()
            reports = []
            for _ in range(4):
                reports.append(service.dispatch(db, settings, now=moment))
                moment += timedelta(hours=1)
        assert reports == [
            DispatchReport(retried=1),
            DispatchReport(retried=1),
            DispatchReport(failed=1),
            DispatchReport(),
        ]
        [delivery] = deliveries(db)
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (FAILED, 3, 503)
        assert delivery.last_error == ("维护中" * 400)[:500]
        assert len(receiver.requests) == 3

    def test_an_unreachable_url_is_retried_and_never_raised(self, db: Database, notify_settings: Settings) -> None:
        subscribe(db, f"http://127.0.0.1:{free_port()}/nobody-listens")
        announce(db)
        start = utcnow()
        assert service.dispatch(db, notify_settings, now=start) == DispatchReport(retried=1)
        [delivery] = deliveries(db)
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (PENDING, 1, None)
        assert "ConnectError" in delivery.last_error
        assert delivery.next_attempt_at == start + timedelta(seconds=30)

    def test_a_disabled_or_deleted_subscription_fails_its_pending_deliveries_without_sending(
        self, db: Database, notify_settings: Settings
    ) -> None:
        with Receiver() as receiver:
            hook, receiver.secret = subscribe(db, receiver.url)
            announce(db)
            with db.session() as session:
                webhooks.update_webhook(session, hook, WebhookUpdate(active=False), ADMIN_ROOT)
            assert service.dispatch(db, notify_settings, now=utcnow()) == DispatchReport(failed=1)
        [delivery] = deliveries(db)
        assert (delivery.status, delivery.last_error) == (FAILED, "Webhook 订阅已停用")
        assert receiver.requests == []
        with db.session() as session:
            webhooks.delete_webhook(session, hook, ADMIN_ROOT)
        assert deliveries(db) == []


class TestClaims:
    def test_a_delivery_being_sent_is_not_picked_up_by_a_second_dispatcher(
        self, db: Database, notify_settings: Settings
    ) -> None:
        with Receiver() as receiver:
            _, receiver.secret = subscribe(db, receiver.url)
            announce(db)
            [queued] = deliveries(db)
            now = utcnow()
            # The first dispatcher's claim, as if it were still waiting for the receiver.
            claimed = service._claim(db, queued.id, now, notify_settings)
            assert claimed is not None and claimed.url == receiver.url
            assert service.dispatch(db, notify_settings, now=now) == DispatchReport()
            assert service.dispatch(db, notify_settings, now=now + timedelta(minutes=5)) == DispatchReport(sent=1)
        assert len(receiver.requests) == 1
