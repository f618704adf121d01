"""POST /api/v1/sla/due: the due-time calculator, with Chinese explanations and clear 422s."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api


def due(api: Api, **body: Any) -> Any:
    """Ask the calculator as an integration (any authenticated caller may)."""
    return api.client.post("/api/v1/sla/due", json=body, headers=api.headers("integration"))


class TestDueCalculator:
    def test_the_national_day_example_skips_the_holiday_and_explains_itself(self, api: Api) -> None:
        response = due(api, calendar="cn-business", start="2026-09-30T16:00:00+08:00", business_minutes=240)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["due_at"] == "2026-10-08T11:00:00+08:00"
        assert "国庆节" in body["explanation"] and "截止 2026-10-08 11:00" in body["explanation"]
        assert body["missing_holiday_years"] == []

    def test_pauses_push_the_due_time_and_are_explained(self, api: Api) -> None:
        pauses = [{"start": "2026-06-16T10:00:00+08:00", "end": "2026-06-16T11:00:00+08:00"}]
        body = due(
            api, calendar="cn-business", start="2026-06-16T09:00:00+08:00", business_minutes=120, pauses=pauses
        ).json()
        assert body["due_at"] == "2026-06-16T12:00:00+08:00"
        assert "暂停 1 次" in body["explanation"]

    def test_a_naive_start_is_read_in_the_calendar_zone_and_24x7_counts_nights(self, api: Api) -> None:
        body = due(api, calendar="24x7", start="2026-10-01T23:00:00", business_minutes=120).json()
        assert body["due_at"] == "2026-10-02T01:00:00+08:00"

    def test_a_year_without_holiday_data_is_flagged(self, api: Api) -> None:
        body = due(api, calendar="cn-business", start="2026-12-31T17:00:00+08:00", business_minutes=600).json()
        assert body["missing_holiday_years"] == [2027] and "警告" in body["explanation"]

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({"calendar": "mars", "start": "2026-01-05T09:00:00+08:00", "business_minutes": 60}, "mars"),
            ({"calendar": "cn-business", "start": "yesterday", "business_minutes": 60}, "start"),
            ({"calendar": "cn-business", "start": "2026-01-05T09:00:00+08:00", "business_minutes": -5}, "负数"),
            (
                {
                    "calendar": "24x7",
                    "start": "2026-01-05T09:00:00+08:00",
                    "business_minutes": 5,
                    "pauses": [{"start": "2026-01-05T10:00:00+08:00", "end": "2026-01-05T09:00:00+08:00"}],
                },
                "暂停",
            ),
        ],
    )
    def test_bad_input_is_a_clear_422(self, api: Api, body: dict[str, Any], fragment: str) -> None:
        response = due(api, **body)
        assert response.status_code == 422
        assert fragment in response.json()["error"]["message"]

    def test_anonymous_callers_are_refused(self, api: Api) -> None:
        response = api.client.post("/api/v1/sla/due", json={"calendar": "24x7", "start": "2026-01-05T09:00:00Z"})
        assert response.status_code == 401
