"""Admins load holidays and make-up workdays for a year the shipped data does not know (YAML, CSV, iCalendar)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

YAML_2027 = """\
- {date: 2027-01-01, kind: holiday, name: 元旦}
- {date: 2027-01-04, kind: holiday, name: 元旦补假}
- {date: 2027-01-09, kind: workday, name: 元旦调休}
"""
CSV_2027 = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-04,holiday,元旦补假\n2027-01-09,workday,元旦调休\n"
ICS_2027 = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//holidays//CN
BEGIN:VEVENT
UID:a
DTSTART;VALUE=DATE:20270101
DTEND;VALUE=DATE:20270102
SUMMARY:元旦
END:VEVENT
BEGIN:VEVENT
UID:b
DTSTART;VALUE=DATE:20270104
DTEND;VALUE=DATE:20270105
SUMMARY:元旦补假
END:VEVENT
BEGIN:VEVENT
UID:c
DTSTART;VALUE=DATE:20270109
DTEND;VALUE=DATE:20270110
SUMMARY:元旦调休上班
END:VEVENT
END:VCALENDAR
"""


def due(api: Api, start: str, minutes: int) -> Any:
    """The calculator's answer on cn-business."""
    body = {"calendar": "cn-business", "start": start, "business_minutes": minutes}
    return api.client.post("/api/v1/sla/due", json=body, headers=api.headers("engineer")).json()


def cn(api: Api) -> dict[str, Any]:
    """The cn-business entry of the calendar list."""
    listed = api.client.get("/api/v1/sla/calendars", headers=api.headers("viewer")).json()
    return next(c for c in listed if c["name"] == "cn-business")


class TestLoadingAYear:
    @pytest.mark.parametrize(("fmt", "content"), [("yaml", YAML_2027), ("csv", CSV_2027), ("ics", ICS_2027)])
    def test_a_loaded_year_is_used_and_no_longer_warned_about(self, api: Api, fmt: str, content: str) -> None:
        assert "2027" in (cn(api)["warning"] or "")
        ready = api.client.get("/readyz").json()["checks"]["calendars"]
        assert ready["ok"] and any("2027" in w for w in ready["warnings"])
        before = due(api, "2026-12-31T17:00:00+08:00", 120)
        assert before["due_at"] == "2027-01-01T10:00:00+08:00" and before["missing_holiday_years"] == [2027]
        assert "警告" in before["explanation"]
        response = api.client.post(
            "/api/v1/sla/calendars/cn-business/days",
            json={"format": fmt, "content": content, "filename": f"2027.{fmt}"},
            headers=api.headers("admin"),
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"calendar": "cn-business", "years": [2027], "days": 3}
        after = due(api, "2026-12-31T17:00:00+08:00", 120)
        assert after["due_at"] == "2027-01-05T10:00:00+08:00" and after["missing_holiday_years"] == []
        assert "元旦" in after["explanation"] and "警告" not in after["explanation"]
        saturday = due(api, "2027-01-09T09:00:00+08:00", 30)
        assert saturday["due_at"] == "2027-01-09T09:30:00+08:00"
        assert cn(api)["warning"] is None or "2027" not in cn(api)["warning"]

    def test_only_admins_load_days_and_bad_files_name_the_line(self, api: Api) -> None:
        url = "/api/v1/sla/calendars/cn-business/days"
        body = {"format": "csv", "content": CSV_2027}
        assert api.client.post(url, json=body, headers=api.headers("reviewer")).status_code == 403
        broken = {"format": "csv", "content": "date,kind,name\n2027-01-01,holiday,元旦\n2027-13-01,holiday,坏日期\n"}
        response = api.client.post(url, json={**broken, "filename": "h.csv"}, headers=api.headers("admin"))
        assert response.status_code == 422 and "h.csv 第 3 行" in response.json()["error"]["message"]
        bad_kind = {"format": "yaml", "content": "- {date: 2027-01-01, kind: party}\n", "filename": "h.yaml"}
        response = api.client.post(url, json=bad_kind, headers=api.headers("admin"))
        assert response.status_code == 422 and "h.yaml 第 1 行" in response.json()["error"]["message"]
        assert "2027" in (cn(api)["warning"] or "")  # nothing was half-applied
        assert (
            api.client.post("/api/v1/sla/calendars/24x7/days", json=body, headers=api.headers("admin")).status_code
            == 422
        )
