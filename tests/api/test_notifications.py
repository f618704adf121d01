"""Notifications over HTTP: the caller's own list, admin-only webhooks (with a real receiver) and contacts, the page."""

from __future__ import annotations

from typing import Any

import pytest

from kb.auth.audit import entries_for
from kb.notify import service
from tests.api.conftest import Api
from tests.kb.notify.receiver import Receiver


@pytest.fixture
def search_engine() -> str:
    """Notifications never touch the search index: one engine is enough here."""
    return "whoosh"


def notify(api: Api, event_key: str, recipients: list[str], title: str = "INC-20261121-0042 解决已超时") -> None:
    """Enqueue an SLA event as the evaluator would."""
    with api.services.db.session() as session:
        service.enqueue(
            session,
            event_key=event_key,
            kind="sla.breach",
            recipients=recipients,
            title=title,
            body="打印机脱机",
            payload={},
            ticket_number="INC-20261121-0042",
            email_enabled=False,
        )


def create_webhook(api: Api, url: str, **values: Any) -> dict[str, Any]:
    """POST a subscription as admin and return the response body."""
    response = api.client.post(
        "/api/v1/webhooks", json={"name": "值班群", "url": url, **values}, headers=api.headers("admin")
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestOwnNotifications:
    def test_each_person_lists_and_marks_only_their_own(self, api: Api) -> None:
        notify(api, "sla:1", ["engineer-user", "admin-user"], "第一条")
        notify(api, "sla:2", ["engineer-user"], "第二条")
        mine = api.client.get("/api/v1/notifications", headers=api.headers("engineer")).json()
        assert (mine["total"], mine["unread_count"]) == (2, 2)
        assert [n["title"] for n in mine["items"]] == ["第二条", "第一条"]
        admins = api.client.get("/api/v1/notifications", headers=api.headers("admin")).json()
        assert [n["title"] for n in admins["items"]] == ["第一条"]

        others = admins["items"][0]["id"]
        assert (
            api.client.post(f"/api/v1/notifications/{others}/read", headers=api.headers("engineer")).status_code == 404
        )
        assert api.client.post("/api/v1/notifications/999999/read", headers=api.headers("engineer")).status_code == 404
        read = api.client.post(f"/api/v1/notifications/{mine['items'][1]['id']}/read", headers=api.headers("engineer"))
        assert read.status_code == 200 and read.json()["read_at"] is not None

        unread = api.client.get("/api/v1/notifications?unread=true", headers=api.headers("engineer")).json()
        assert [n["title"] for n in unread["items"]] == ["第二条"] and unread["unread_count"] == 1
        page = api.client.get("/api/v1/notifications?limit=1&offset=1", headers=api.headers("engineer")).json()
        assert page["total"] == 2 and [n["title"] for n in page["items"]] == ["第一条"]

        everything = api.client.post("/api/v1/notifications/read-all", headers=api.headers("engineer"))
        assert everything.json() == {"marked": 1}
        assert api.client.get("/api/v1/notifications", headers=api.headers("engineer")).json()["unread_count"] == 0
        assert api.client.get("/api/v1/notifications", headers=api.headers("admin")).json()["unread_count"] == 1
        assert api.client.get("/api/v1/notifications").status_code == 401
        with api.services.db.session(write=False) as session:
            assert [e.action for e in entries_for(session, "notification", "engineer-user")] == [
                "notification.read_all"
            ]

    def test_the_page_lists_them_and_marks_all_as_read(self, api: Api) -> None:
        notify(api, "sla:1", ["engineer-user"], "打印机工单已超时")
        assert api.client.get("/notifications", follow_redirects=False).status_code == 303
        api.client.cookies.set("kb_token", api.tokens["engineer"])
        page = api.client.get("/notifications")
        assert page.status_code == 200
        assert "打印机工单已超时" in page.text and "全部标为已读" in page.text
        assert '<a href="/notifications">通知</a>' in page.text
        done = api.client.post("/notifications/read-all", follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/notifications"
        after = api.client.get("/notifications")
        assert "全部标为已读" not in after.text and 'id="unread-count">0<' in after.text
        foreign = api.client.post("/notifications/read-all", headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403


class TestWebhookAdministration:
    def test_only_admins_manage_webhooks_and_contacts(self, api: Api) -> None:
        body = {"name": "x", "url": "https://hooks.example.com/x"}
        for role in ("viewer", "engineer", "reviewer", "integration"):
            headers = api.headers(role)
            assert api.client.post("/api/v1/webhooks", json=body, headers=headers).status_code == 403, role
            assert api.client.get("/api/v1/webhooks", headers=headers).status_code == 403, role
            assert api.client.get("/api/v1/contacts", headers=headers).status_code == 403, role
            put = api.client.put("/api/v1/contacts/alice", json={"email": "alice@example.com"}, headers=headers)
            assert put.status_code == 403 and "管理员" in put.json()["error"]["message"], role
        assert api.client.post("/api/v1/webhooks", json=body).status_code == 401
        assert api.client.get("/api/v1/webhooks", headers=api.headers("admin")).json() == []

    def test_create_list_update_delete_with_the_secret_shown_once_and_everything_audited(self, api: Api) -> None:
        created = create_webhook(api, "https://hooks.example.com/kb", events=["sla.breach"])
        assert len(created["secret"]) >= 40 and created["events"] == ["sla.breach"] and created["active"]
        listed = api.client.get("/api/v1/webhooks", headers=api.headers("admin")).json()
        assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]
        assert created["secret"] not in api.client.get("/openapi.json").text

        url = f"/api/v1/webhooks/{created['id']}"
        changed = api.client.patch(
            url, json={"url": "http://10.0.0.5:8080/kb", "active": False}, headers=api.headers("admin")
        )
        assert changed.status_code == 200 and "secret" not in changed.json()
        assert (changed.json()["url"], changed.json()["active"], changed.json()["events"]) == (
            "http://10.0.0.5:8080/kb",
            False,
            ["sla.breach"],
        )
        assert create_webhook_status(api, {"name": "值班群", "url": "https://other.example.com"}) == 409
        assert api.client.delete(url, headers=api.headers("admin")).status_code == 204
        assert api.client.delete(url, headers=api.headers("admin")).status_code == 404
        assert api.client.patch(url, json={"active": True}, headers=api.headers("admin")).status_code == 404
        with api.services.db.session(write=False) as session:
            entries = entries_for(session, "webhook", str(created["id"]))
        assert [e.action for e in entries] == ["webhook.create", "webhook.update", "webhook.delete"]
        assert all(created["secret"] not in str(e.before) + str(e.after) for e in entries)

    def test_a_non_http_url_is_422_naming_the_field(self, api: Api) -> None:
        hook = create_webhook(api, "https://hooks.example.com/kb")
        for url in ("ftp://hooks.example.com", "hooks.example.com/kb", "javascript:alert(1)", "http://"):
            response = api.client.post("/api/v1/webhooks", json={"name": "a", "url": url}, headers=api.headers("admin"))
            assert response.status_code == 422 and response.json()["error"]["message"].startswith("url"), url
            patch = api.client.patch(f"/api/v1/webhooks/{hook['id']}", json={"url": url}, headers=api.headers("admin"))
            assert patch.status_code == 422 and patch.json()["error"]["message"].startswith("url"), url
        bad_events = {"name": "b", "url": "https://hooks.example.com/b", "events": ["SLA 超时"]}
        response = api.client.post("/api/v1/webhooks", json=bad_events, headers=api.headers("admin"))
        assert response.status_code == 422 and response.json()["error"]["message"].startswith("events")

    def test_the_test_event_reaches_a_real_receiver_signed_and_appears_in_the_delivery_log(self, api: Api) -> None:
        with Receiver() as receiver:
            hook = create_webhook(api, receiver.url, events=["sla.breach"])
            receiver.secret = hook["secret"]
            response = api.client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=api.headers("admin"))
        assert response.status_code == 200, response.text
        delivery = response.json()
        assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 1, 200)
        [request] = receiver.requests
        assert request.verified and request.headers["x-kb-event"] == "test"
        assert request.headers["x-kb-delivery"] == str(delivery["id"]) and request.json["event"] == "test"
        log = api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=api.headers("admin")).json()
        assert log["total"] == 1 and log["items"][0]["id"] == delivery["id"]
        assert log["items"][0]["delivered_at"] is not None
        assert api.client.post("/api/v1/webhooks/424242/test", headers=api.headers("admin")).status_code == 404
        assert api.client.get("/api/v1/webhooks/424242/deliveries", headers=api.headers("admin")).status_code == 404


def create_webhook_status(api: Api, body: dict[str, Any]) -> int:
    """The status code of creating a subscription as admin."""
    return api.client.post("/api/v1/webhooks", json=body, headers=api.headers("admin")).status_code


class TestContacts:
    def test_put_list_delete_and_422_for_a_bad_address(self, api: Api) -> None:
        admin = api.headers("admin")
        first = api.client.put("/api/v1/contacts/张三", json={"email": "zhang.san@example.com"}, headers=admin)
        assert first.status_code == 201 and first.json()["email"] == "zhang.san@example.com"
        again = api.client.put("/api/v1/contacts/张三", json={"email": "san.zhang@example.com"}, headers=admin)
        assert again.status_code == 200
        assert [(c["name"], c["email"]) for c in api.client.get("/api/v1/contacts", headers=admin).json()] == [
            ("张三", "san.zhang@example.com")
        ]
        for bad in ("zhang.san", "张三 <zhang@example.com>", "a@b.cn\r\nBcc: x@example.com", ""):
            response = api.client.put("/api/v1/contacts/张三", json={"email": bad}, headers=admin)
            assert response.status_code == 422 and response.json()["error"]["message"].startswith("email"), bad
        assert api.client.delete("/api/v1/contacts/张三", headers=admin).status_code == 204
        assert api.client.delete("/api/v1/contacts/张三", headers=admin).status_code == 404
        with api.services.db.session(write=False) as session:
            actions = [e.action for e in entries_for(session, "contact", "张三")]
        assert actions == ["contact.create", "contact.update", "contact.delete"]
