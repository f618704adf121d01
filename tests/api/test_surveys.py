"""Follow-up surveys through the tokenised link, and closing resolved tickets nobody answered for."""

from __future__ import annotations

from datetime import timedelta

from kb.ticket import maintenance
from kb.ticket import service as ticket_service
from tests.api.conftest import Api
from tests.api.test_tickets import create, move

RESOLUTION = {"action": "resolve", "resolution_code": "fixed", "resolution_notes": "重启 php-fpm 后恢复"}


def resolve(api: Api) -> tuple[str, str]:
    """A resolved ticket's number and the token of its survey link."""
    number = create(api)["number"]
    response = move(api, number, **RESOLUTION)
    url = response.json()["survey_url"]
    assert url.startswith("/survey/")
    return number, url.removeprefix("/survey/")


def status_of(api: Api, number: str) -> str:
    """A ticket's status."""
    return str(api.client.get(f"/api/v1/tickets/{number}", headers=api.headers("engineer")).json()["status"])


class TestSurvey:
    def test_not_solved_reopens_and_the_survey_cannot_be_answered_twice(self, api: Api) -> None:
        number, token = resolve(api)
        shown = api.client.get(f"/api/v1/surveys/{token}").json()
        assert shown == {
            "ticket": number,
            "title": shown["title"],
            "resolution_notes": "重启 php-fpm 后恢复",
            "answered": False,
        }
        answer = {"score": 2, "comment": "下午又坏了", "solved": False}
        result = api.client.post(f"/api/v1/surveys/{token}", json=answer)
        assert result.status_code == 200 and result.json() == {
            "ticket": number,
            "status": "in_progress",
            "reopened": True,
        }
        assert api.client.post(f"/api/v1/surveys/{token}", json=answer).status_code == 409
        events = api.client.get(f"/api/v1/tickets/{number}/events", headers=api.headers("engineer")).json()
        survey_event = next(e for e in events if e["kind"] == "survey")
        assert survey_event["new"] == {"score": 2, "label": "比较不满意", "solved": False}

    def test_solved_closes_the_ticket(self, api: Api) -> None:
        number, token = resolve(api)
        result = api.client.post(f"/api/v1/surveys/{token}", json={"score": 5, "solved": True})
        assert result.json()["status"] == "closed" and status_of(api, number) == "closed"

    def test_bad_links_and_answers(self, api: Api) -> None:
        _number, token = resolve(api)
        assert api.client.get("/api/v1/surveys/not-a-real-token").status_code == 404
        assert api.client.post(f"/api/v1/surveys/{token}", json={"score": 6, "solved": True}).status_code == 422
        assert api.client.get(f"/api/v1/surveys/{token}").json()["answered"] is False

    def test_the_token_is_not_stored_in_clear(self, api: Api) -> None:
        _number, token = resolve(api)
        from sqlalchemy import select

        from kb.ticket.models import Survey

        with api.services.db.session(write=False) as session:
            hashes = list(session.scalars(select(Survey.token_hash)))
        assert hashes and token not in hashes


class TestAutoClose:
    def test_unanswered_resolutions_close_after_the_configured_days_answered_ones_are_left(self, api: Api) -> None:
        stale, _ = resolve(api)
        fresh, _ = resolve(api)
        with api.services.db.session() as session:
            ticket = ticket_service.get_ticket(session, stale)
            ticket.resolved_at = ticket.resolved_at - timedelta(days=4)  # type: ignore[operator]
        _produced, closed = maintenance.run_once(api.services.db, api.services.index, auto_close_days=3)
        assert closed == [stale]
        assert (status_of(api, stale), status_of(api, fresh)) == ("closed", "resolved")
        events = api.client.get(f"/api/v1/tickets/{stale}/events", headers=api.headers("engineer")).json()
        assert any(e["kind"] == "note" and "自动关闭" in str(e["new"]) for e in events)
