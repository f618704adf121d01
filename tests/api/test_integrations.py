"""Webhooks: ticket events from another system (idempotent) and Prometheus Alertmanager, over real HTTP."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api
from tests.servers import Server, create_token

EVENT: dict[str, Any] = {
    "source": "zammad",
    "external_id": "4711",
    "event": "created",
    "ticket": {
        "title": "Outlook 无法连接 Exchange",
        "description": "早上开始 Outlook 一直显示“正在尝试连接”，OWA 正常。",
        "reporter_name": "赵六",
        "impact": "medium",
        "urgency": "high",
    },
}


def deliver(api: Api, body: dict[str, Any], key: str | None) -> httpx.Response:
    """POST a ticket event as the integration account."""
    headers = api.headers("integration") | ({"Idempotency-Key": key} if key is not None else {})
    return api.client.post("/api/v1/integrations/ticket-events", json=body, headers=headers)


def ticket_count(api: Api) -> int:
    """Tickets in the system."""
    return int(api.client.get("/api/v1/tickets", headers=api.headers("engineer")).json()["total"])


class TestTicketEvents:
    def test_a_redelivery_has_one_effect_and_a_different_body_under_the_same_key_is_422(self, api: Api) -> None:
        first = deliver(api, EVENT, "evt-1")
        assert first.status_code == 201, first.text
        number = first.json()["ticket"]
        again = deliver(api, EVENT, "evt-1")
        assert again.status_code == 201 and again.json() == {**first.json(), "replayed": True}
        assert ticket_count(api) == 1
        changed = deliver(api, {**EVENT, "external_id": "4712"}, "evt-1")
        assert changed.status_code == 422 and "Idempotency-Key" in changed.json()["error"]["message"]
        assert deliver(api, EVENT, None).status_code == 422
        ticket = api.client.get(f"/api/v1/tickets/{number}", headers=api.headers("engineer")).json()
        assert (ticket["channel"], ticket["priority"]) == ("api", "P2")

    def test_updates_resolution_and_reopening_flow_into_the_same_ticket_and_leave_a_draft(self, api: Api) -> None:
        number = deliver(api, EVENT, "c-1").json()["ticket"]
        updated = {**EVENT, "event": "updated", "ticket": {"assignee": "bob"}, "message": "重启电脑后仍然不行"}
        assert deliver(api, updated, "u-1").status_code == 200
        resolution = {"resolution_code": "fixed", "resolution_notes": "重建 Outlook 配置文件后恢复"}
        resolved = deliver(api, {**EVENT, "event": "resolved", "ticket": {}, "resolution": resolution}, "r-1")
        assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
        draft = api.client.get(f"/api/v1/tickets/{number}/draft", headers=api.headers("engineer")).json()
        article = api.client.get(f"/api/v1/articles/{draft['article_slug']}", headers=api.headers("reviewer")).json()
        assert article["source_ticket"] == number and "重启电脑后仍然不行" in article["symptoms"]
        reopened = deliver(api, {**EVENT, "event": "reopened", "ticket": {}}, "o-1")
        assert reopened.json()["status"] == "in_progress"
        unknown = deliver(api, {**EVENT, "external_id": "nope", "event": "updated"}, "x-1")
        assert unknown.status_code == 404

    def test_malformed_events_are_422_naming_the_field(self, api: Api) -> None:
        response = deliver(api, {**EVENT, "event": "deleted"}, "bad-1")
        assert response.status_code == 422 and "event" in response.json()["error"]["message"]
        assert ticket_count(api) == 0


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[tuple[Server, str]]:
    """The real service with two worker processes on this test's database, and an integration token."""
    env = {"KB_DATABASE_URL": database_url}
    token = create_token(tmp_path / "data", "integration", "zammad", **env)
    running = Server(tmp_path / "data", workers=2, **env)
    running.wait_ready()
    yield running, token
    running.stop()


class TestParallelDeliveries:
    def test_ten_identical_deliveries_in_parallel_have_one_effect(self, server: tuple[Server, str]) -> None:
        running, token = server
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "parallel-1"}

        def post(_: int) -> httpx.Response:
            return httpx.post(
                f"{running.url}/api/v1/integrations/ticket-events", json=EVENT, headers=headers, timeout=60
            )

        with ThreadPoolExecutor(10) as pool:
            responses = list(pool.map(post, range(10)))
        assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
        assert len({r.json()["ticket"] for r in responses}) == 1
        assert sum(1 for r in responses if not r.json()["replayed"]) == 1
        assert "Traceback" not in running.log()


def alert(status: str, fingerprint: str = "fp-disk-01", severity: str = "critical") -> dict[str, Any]:
    """One alert of a webhook payload."""
    return {
        "status": status,
        "labels": {"alertname": "NodeFilesystemFull", "instance": "db-01:9100", "severity": severity},
        "annotations": {
            "summary": "db-01 磁盘空间不足",
            "description": "/var/lib/mysql 所在分区使用率 97%，No space left on device",
        },
        "startsAt": "2026-11-21T10:00:00Z",
        "endsAt": "2026-11-21T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def notification(*alerts: dict[str, Any]) -> dict[str, Any]:
    """A version-4 Alertmanager webhook body."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="NodeFilesystemFull"}',
        "status": alerts[0]["status"],
        "receiver": "kb",
        "groupLabels": {"alertname": "NodeFilesystemFull"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def send(api: Api, body: Any) -> httpx.Response:
    """POST to the Alertmanager receiver as the integration account."""
    return api.client.post("/api/v1/integrations/alertmanager", json=body, headers=api.headers("integration"))


class TestAlertmanager:
    def test_firing_repeat_ha_duplicate_resolved_and_refire(self, api: Api) -> None:
        article = {
            "slug": "disk-full",
            "title": "磁盘写满：No space left on device",
            "symptoms": "写文件失败 No space left on device，分区使用率接近 100%",
            "resolution": "df -h 查看，du 定位大文件",
            "status": "published",
        }
        api.client.post("/api/v1/articles", json=article, headers=api.headers("reviewer"))
        api.wait()
        opened = send(api, notification(alert("firing")))
        assert opened.status_code == 200, opened.text
        [outcome] = opened.json()["alerts"]
        assert outcome["outcome"] == "opened"
        number = outcome["ticket"]
        ticket = api.client.get(f"/api/v1/tickets/{number}", headers=api.headers("engineer")).json()
        assert (ticket["channel"], ticket["priority"]) == ("alert", "P1")
        assert "db-01 磁盘空间不足" in ticket["title"] and "instance: db-01:9100" in ticket["description"]
        suggested = api.client.get(f"/api/v1/tickets/{number}/suggestions", headers=api.headers("engineer")).json()
        assert suggested["hits"][0]["slug"] == "disk-full"
        for _ in range(2):  # a repeat notification and the HA peer's copy of it
            assert send(api, notification(alert("firing"))).json()["alerts"][0] == {
                "ticket": number,
                "outcome": "repeat",
            }
        assert ticket_count(api) == 1
        resolved = send(api, notification(alert("resolved"))).json()["alerts"][0]
        assert resolved == {"ticket": number, "outcome": "noted"}
        events = api.client.get(f"/api/v1/tickets/{number}/events", headers=api.headers("engineer")).json()
        assert [e["kind"] for e in events].count("alert_repeat") == 2 and "alert_resolved" in [
            e["kind"] for e in events
        ]
        other = send(api, notification(alert("firing", fingerprint="fp-other", severity="warning"))).json()
        other_ticket = api.client.get(
            f"/api/v1/tickets/{other['alerts'][0]['ticket']}", headers=api.headers("engineer")
        )
        assert other_ticket.json()["priority"] == "P3" and ticket_count(api) == 2

    @pytest.mark.parametrize(
        "body",
        [
            {"version": "3", "groupKey": "g", "status": "firing", "alerts": [alert("firing")]},
            {"version": "4", "groupKey": "g", "status": "firing", "alerts": []},
            {"version": "4", "groupKey": "g", "status": "firing", "alerts": [{"status": "burning", "labels": {}}]},
            "not json at all",
        ],
    )
    def test_malformed_payloads_are_400(self, api: Api, body: Any) -> None:
        if isinstance(body, str):
            response = api.client.post(
                "/api/v1/integrations/alertmanager", content=body, headers=api.headers("integration")
            )
        else:
            response = send(api, body)
        assert response.status_code == 400, response.text
        assert "Alertmanager" in response.json()["error"]["message"]
        assert ticket_count(api) == 0


class TestAutoResolve:
    @pytest.fixture
    def settings(self, tmp_path: Path, database_url: str, search_engine: str) -> Any:
        from tests.conftest import make_settings

        return make_settings(tmp_path / "data", database_url, search_engine=search_engine, alert_auto_resolve=True)

    def test_a_resolved_alert_resolves_its_ticket_and_a_refire_opens_a_new_one(self, api: Api) -> None:
        first = send(api, notification(alert("firing"))).json()["alerts"][0]["ticket"]
        assert send(api, notification(alert("resolved"))).json()["alerts"][0]["outcome"] == "resolved"
        status = api.client.get(f"/api/v1/tickets/{first}", headers=api.headers("engineer")).json()["status"]
        assert status == "resolved"
        again = send(api, notification(alert("firing"))).json()["alerts"][0]
        assert again["outcome"] == "opened" and again["ticket"] != first


class TestDatabaseDown:
    def test_a_locked_database_is_503_so_alertmanager_retries(self, tmp_path: Path) -> None:
        from fastapi.testclient import TestClient

        from api.app import create_app
        from tests.conftest import make_settings, make_token

        settings = make_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'kb.sqlite3'}", sqlite_busy_timeout_ms=200)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            token = make_token(client.app.state.services, "integration")  # type: ignore[attr-defined]
            blocker = sqlite3.connect(tmp_path / "kb.sqlite3", isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")
            try:
                response = client.post(
                    "/api/v1/integrations/alertmanager",
                    json=notification(alert("firing")),
                    headers={"Authorization": f"Bearer {token}"},
                )
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"


class TestParallelAlerts:
    def test_ha_peers_delivering_at_once_open_one_ticket(self, server: tuple[Server, str]) -> None:
        running, token = server
        headers = {"Authorization": f"Bearer {token}"}

        def post(_: int) -> httpx.Response:
            url = f"{running.url}/api/v1/integrations/alertmanager"
            return httpx.post(url, json=notification(alert("firing")), headers=headers, timeout=60)

        with ThreadPoolExecutor(6) as pool:
            responses = list(pool.map(post, range(6)))
        assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
        outcomes = [r.json()["alerts"][0] for r in responses]
        assert sorted(o["outcome"] for o in outcomes) == ["opened"] + ["repeat"] * 5
        assert len({o["ticket"] for o in outcomes}) == 1
