"""SLA administration over HTTP: policies and calendars CRUD (admins), support groups, breaching soon, report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kb.db import utcnow
from kb.sla.evaluate import evaluate_due
from kb.ticket import service as tickets
from tests.api.conftest import Api

OFFICE = {**{str(day): [["09:00", "12:00"], ["13:30", "18:00"]] for day in range(5)}, "5": [["10:00", "16:00"]]}


def policies(api: Api) -> list[dict[str, Any]]:
    """The policies in force."""
    response = api.client.get("/api/v1/sla/policies", headers=api.headers("engineer"))
    assert response.status_code == 200
    return list(response.json())


class TestPolicies:
    def test_defaults_then_override_narrow_and_delete(self, api: Api) -> None:
        listed = policies(api)
        assert [(p["priority"], p["builtin"], p["response_minutes"]) for p in listed] == [
            ("P1", True, 30), ("P2", True, 60), ("P3", True, 240), ("P4", True, 1440),
        ]  # fmt: skip
        assert listed[3]["resolution_minutes"] == 5 * 450 and listed[3]["resolution_calendar"] == "cn-business"
        body = {
            "priority": "P3", "category": "网络", "response_minutes": 60, "response_calendar": "24x7",
            "resolution_minutes": 480, "resolution_calendar": "cn-business", "escalate_at": 90,
        }  # fmt: skip
        created = api.client.post("/api/v1/sla/policies", json=body, headers=api.headers("admin"))
        assert created.status_code == 201, created.text
        policy = created.json()
        assert policy["category"] == "网络" and policy["version"] == 1 and not policy["builtin"]
        assert api.client.post("/api/v1/sla/policies", json=body, headers=api.headers("admin")).status_code == 409
        ticket = api.client.post(
            "/api/v1/tickets",
            json={"title": "VPN 連不上", "category": "网络", "impact": "medium", "urgency": "medium"},
            headers=api.headers("engineer"),
        ).json()
        sla = api.client.get(f"/api/v1/tickets/{ticket['number']}/sla", headers=api.headers("engineer")).json()
        assert sla["policy"]["id"] == policy["id"] and sla["response"]["target_minutes"] == 60
        stale = api.client.patch(
            f"/api/v1/sla/policies/{policy['id']}",
            json={"response_minutes": 45, "expected_version": 7},
            headers=api.headers("admin"),
        )
        assert stale.status_code == 409
        changed = api.client.patch(
            f"/api/v1/sla/policies/{policy['id']}",
            json={"response_minutes": 45, "expected_version": 1},
            headers=api.headers("admin"),
        )
        assert changed.status_code == 200 and changed.json()["version"] == 2
        sla = api.client.get(f"/api/v1/tickets/{ticket['number']}/sla", headers=api.headers("engineer")).json()
        assert sla["response"]["target_minutes"] == 45  # replayed from history with the new target
        deleted = api.client.delete(f"/api/v1/sla/policies/{policy['id']}", headers=api.headers("admin"))
        assert deleted.status_code == 204
        sla = api.client.get(f"/api/v1/tickets/{ticket['number']}/sla", headers=api.headers("engineer")).json()
        assert sla["policy"]["id"] is None and sla["response"]["target_minutes"] == 240
        with api.services.db.session(write=False) as session:
            actions = [a for (a,) in session.execute(
                __import__("sqlalchemy").text("SELECT action FROM audit_log WHERE entity_type = 'sla_policy'")
            )]  # fmt: skip
        assert sorted(actions) == ["sla.policy_create", "sla.policy_delete", "sla.policy_update"]

    def test_bad_input_is_a_precise_422_and_only_admins_may_change(self, api: Api) -> None:
        good = {
            "priority": "P2", "response_minutes": 30, "response_calendar": "24x7",
            "resolution_minutes": 120, "resolution_calendar": "24x7",
        }  # fmt: skip
        for role in ("engineer", "reviewer", "integration"):
            response = api.client.post("/api/v1/sla/policies", json=good, headers=api.headers(role))
            assert response.status_code == 403, role
        for change, field in (
            ({"response_calendar": "火星"}, "response_calendar"),
            ({"resolution_minutes": 0}, "resolution_minutes"),
            ({"escalate_at": 150}, "escalate_at"),
        ):
            response = api.client.post("/api/v1/sla/policies", json={**good, **change}, headers=api.headers("admin"))
            assert response.status_code == 422, change
            assert field in response.text
        assert [p["builtin"] for p in policies(api)] == [True] * 4


class TestCalendars:
    def test_create_use_change_and_delete_a_calendar(self, api: Api) -> None:
        body = {"name": "cn-extended", "week": OFFICE, "holidays": "cn", "description": "周六加班"}
        created = api.client.post("/api/v1/sla/calendars", json=body, headers=api.headers("admin"))
        assert created.status_code == 201, created.text
        assert created.json()["week"] == OFFICE and created.json()["holidays"] > 0
        # National Day 2026-10-03 is a Saturday holiday: not worked even on this calendar.
        due = api.client.post(
            "/api/v1/sla/due",
            json={"calendar": "cn-extended", "start": "2026-09-30T17:00:00+08:00", "business_minutes": 120},
            headers=api.headers("engineer"),
        ).json()
        assert due["due_at"] == "2026-10-08T10:00:00+08:00"
        policy = {
            "priority": "P4", "response_minutes": 60, "response_calendar": "cn-extended",
            "resolution_minutes": 600, "resolution_calendar": "cn-extended",
        }  # fmt: skip
        assert api.client.post("/api/v1/sla/policies", json=policy, headers=api.headers("admin")).status_code == 201
        in_use = api.client.delete("/api/v1/sla/calendars/cn-extended", headers=api.headers("admin"))
        assert in_use.status_code == 409 and "策略" in in_use.text
        patched = api.client.patch(
            "/api/v1/sla/calendars/cn-extended",
            json={"zone": "Europe/Berlin", "expected_version": 1},
            headers=api.headers("admin"),
        )
        assert patched.status_code == 200 and patched.json()["zone"] == "Europe/Berlin"

    def test_malformed_calendars_are_refused_whole(self, api: Api) -> None:
        for body, field in (
            ({"name": "late", "week": {"0": [["18:00", "09:00"]]}}, "week.0[0]"),
            ({"name": "lap", "week": {"0": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "week.0"),
            ({"name": "bad-day", "week": {"9": [["09:00", "12:00"]]}}, "week"),
            ({"name": "zone", "zone": "Mars/Base", "week": OFFICE}, "zone"),
            ({"name": "Upper Case", "week": OFFICE}, "name"),
            ({"name": "24x7", "week": OFFICE}, "name"),
        ):
            response = api.client.post("/api/v1/sla/calendars", json=body, headers=api.headers("admin"))
            assert response.status_code in (409, 422), body
            assert field in response.text, (body, response.text)
        listed = api.client.get("/api/v1/sla/calendars", headers=api.headers("viewer")).json()
        assert sorted(c["name"] for c in listed) == ["24x7", "cn-business"]
        shipped = api.client.patch(
            "/api/v1/sla/calendars/cn-business", json={"zone": "UTC"}, headers=api.headers("admin")
        )
        assert shipped.status_code == 409
        assert (
            api.client.post(
                "/api/v1/sla/calendars", json={"name": "x-cal", "week": OFFICE}, headers=api.headers("engineer")
            ).status_code
            == 403
        )


class TestBreachingAndReport:
    def test_breaching_soon_sorted_by_time_left_and_the_report(self, api: Api) -> None:
        assert api.client.put(
            "/api/v1/groups/服务台", json={"tier": "L1", "lead": "desk-lead", "manager": "boss"},
            headers=api.headers("admin"),
        ).status_code == 200  # fmt: skip
        numbers = []
        for impact, urgency in (("medium", "medium"), ("high", "high"), ("high", "medium")):
            ticket = api.client.post(
                "/api/v1/tickets",
                json={"title": f"{impact}/{urgency} 打印机脱机", "impact": impact, "urgency": urgency,
                      "assignment_group": "服务台"},
                headers=api.headers("engineer"),
            ).json()  # fmt: skip
            numbers.append(ticket["number"])
        evaluate_due(api.services.db, api.services.settings)
        soon = api.client.get("/api/v1/sla/breaching?within_minutes=90", headers=api.headers("engineer")).json()
        assert [t["number"] for t in soon] == [numbers[1], numbers[2]]  # P1 (30 min) before P2 (60 min)
        assert soon[0]["clock"] == "response" and 25 < soon[0]["minutes_left"] <= 30
        with api.services.db.session() as session:  # three hours pass for the P1 ticket
            ticket = tickets.get_ticket(session, numbers[1])
            ticket.created_at -= timedelta(hours=3)
            ticket.updated_at = utcnow()
            for event in tickets.events(session, ticket):
                event.at -= timedelta(hours=3)
        evaluate_due(api.services.db, api.services.settings)
        soon = api.client.get("/api/v1/sla/breaching?within_minutes=90", headers=api.headers("engineer")).json()
        assert soon[0]["number"] == numbers[1] and soon[0]["minutes_left"] < 0 and soon[0]["tier"] == "L3"
        report = api.client.get("/api/v1/sla/report", headers=api.headers("engineer")).json()
        by_number = {row["number"]: row for row in report}
        assert by_number[numbers[1]]["response_met"] is False and by_number[numbers[1]]["escalation_level"] == 2
        assert by_number[numbers[0]]["response_met"] is None and by_number[numbers[0]]["priority"] == "P3"
        csv = api.client.get("/api/v1/sla/report?format=csv", headers=api.headers("engineer"))
        assert csv.status_code == 200 and csv.text.splitlines()[0].lstrip("\ufeff").startswith("number,priority")
        assert len(csv.text.splitlines()) == 4
        assert api.client.get("/api/v1/sla/breaching", headers=api.headers("viewer")).status_code == 403
        notes = api.client.get("/api/v1/notifications", headers=api.headers("engineer")).status_code
        assert notes == 200


class TestNarrowing:
    def test_the_most_specific_policy_wins(self, api: Api) -> None:
        base = {"response_calendar": "24x7", "resolution_minutes": 600, "resolution_calendar": "24x7"}
        for narrowed, minutes in (
            ({"category": "网络"}, 50),
            ({"customer": "财务部"}, 40),
            ({"category": "网络", "customer": "财务部"}, 20),
        ):
            body = {"priority": "P3", "response_minutes": minutes, **base, **narrowed}
            assert api.client.post("/api/v1/sla/policies", json=body, headers=api.headers("admin")).status_code == 201
        expected = {("网络", "财务部"): 20, ("打印", "财务部"): 40, ("网络", "研发部"): 50, ("打印", ""): 240}
        for (category, customer), minutes in expected.items():
            ticket = api.client.post(
                "/api/v1/tickets",
                json={"title": "网络慢", "category": category, "customer": customer},
                headers=api.headers("engineer"),
            ).json()
            assert ticket["customer"] == customer
            sla = api.client.get(f"/api/v1/tickets/{ticket['number']}/sla", headers=api.headers("engineer")).json()
            assert sla["response"]["target_minutes"] == minutes, (category, customer)
