"""Permission matrix: role x article status x endpoint, including search totals, facets and snippets."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

STATUSES = ("draft", "in_review", "published", "retired")
ROLES = (None, "viewer", "integration", "engineer", "reviewer", "admin")
SEES_ALL = {"reviewer", "admin"}


def seed(api: Api) -> None:
    """One article per status, each with a unique secret word in title, tags and body."""
    for status in STATUSES:
        response = api.client.post(
            "/api/v1/articles",
            headers=api.headers("reviewer"),
            json={
                "slug": f"art-{status}",
                "title": f"VPN 故障 secret{status.replace('_', '')}",
                "symptoms": f"机密现象 secret{status.replace('_', '')}",
                "tags": [f"tag-{status}"],
                "status": status,
                "category": f"cat-{status}",
            },
        )
        assert response.status_code == 201, response.text
    api.wait()


@pytest.mark.parametrize("role", ROLES)
class TestMatrix:
    def test_reading_articles(self, api: Api, role: str | None) -> None:
        seed(api)
        for status in STATUSES:
            response = api.client.get(f"/api/v1/articles/art-{status}", headers=api.headers(role))
            if role is None:
                assert response.status_code == 401
            elif status == "published" or role in SEES_ALL:
                assert response.status_code == 200
            else:
                assert response.status_code == 404, (role, status)
                assert f"secret{status}" not in response.text

    def test_search_totals_facets_and_snippets_leak_nothing(self, api: Api, role: str | None) -> None:
        seed(api)
        response = api.client.get(
            "/api/v1/search", params={"q": "VPN 故障", "facets": "true"}, headers=api.headers(role)
        )
        if role is None:
            assert response.status_code == 401
            return
        body = response.json()
        visible = set(STATUSES) if role in SEES_ALL else {"published"}
        assert body["total"] == len(visible)
        assert {hit["slug"] for hit in body["hits"]} == {f"art-{s}" for s in visible}
        facet_tags = {f["value"] for f in body["facets"]["tags"]}
        facet_categories = {f["value"] for f in body["facets"]["category"]}
        assert facet_tags == {f"tag-{s}" for s in visible}
        assert facet_categories == {f"cat-{s}" for s in visible}
        for status in set(STATUSES) - visible:
            assert f"secret{status.replace('_', '')}" not in response.text
            hidden = api.client.get(
                "/api/v1/search", params={"q": f"secret{status.replace('_', '')}"}, headers=api.headers(role)
            ).json()
            assert hidden["total"] == 0

    def test_listing_and_versions(self, api: Api, role: str | None) -> None:
        seed(api)
        response = api.client.get("/api/v1/articles", headers=api.headers(role))
        if role is None:
            assert response.status_code == 401
            return
        listed = {item["slug"] for item in response.json()["items"]}
        expected = {f"art-{s}" for s in (STATUSES if role in SEES_ALL else ("published",))}
        assert listed == expected
        draft_versions = api.client.get("/api/v1/articles/art-draft/versions", headers=api.headers(role))
        assert draft_versions.status_code == (200 if role in SEES_ALL else 404)

    def test_suggestions_respect_visibility(self, api: Api, role: str | None) -> None:
        seed(api)
        response = api.client.post(
            "/api/v1/suggestions",
            headers=api.headers(role),
            json={"title": "VPN 故障", "description": "secretdraft 机密现象", "limit": 10},
        )
        if role is None:
            assert response.status_code == 401
            return
        slugs = {hit["slug"] for hit in response.json()["hits"]}
        if role not in SEES_ALL:
            assert slugs <= {"art-published"}

    def test_publishing_and_retiring(self, api: Api, role: str | None) -> None:
        seed(api)
        response = api.client.post("/api/v1/articles/art-in_review/publish", headers=api.headers(role))
        expected = {
            None: 401,
            "viewer": 404,
            "integration": 404,
            "engineer": 404,
            "reviewer": 200,
            "admin": 200,
        }
        assert response.status_code == expected[role]
        response = api.client.post("/api/v1/articles/art-published/retire", headers=api.headers(role))
        expected = {
            None: 401,
            "viewer": 403,
            "integration": 403,
            "engineer": 403,
            "reviewer": 200,
            "admin": 200,
        }
        assert response.status_code == expected[role]

    def test_editing_creating_and_deleting(self, api: Api, role: str | None) -> None:
        seed(api)
        edit = api.client.patch("/api/v1/articles/art-published", headers=api.headers(role), json={"title": "改"})
        create = api.client.post("/api/v1/articles", headers=api.headers(role), json={"title": "新草稿"})
        delete = api.client.delete("/api/v1/articles/art-retired", headers=api.headers(role))
        expected_edit = {
            None: 401,
            "viewer": 403,
            "integration": 403,
            "engineer": 403,
            "reviewer": 200,
            "admin": 200,
        }
        expected_create = {
            None: 401,
            "viewer": 403,
            "integration": 403,
            "engineer": 201,
            "reviewer": 201,
            "admin": 201,
        }
        expected_delete = {
            None: 401,
            "viewer": 403,
            "integration": 403,
            "engineer": 403,
            "reviewer": 403,
            "admin": 204,
        }
        assert (edit.status_code, create.status_code, delete.status_code) == (
            expected_edit[role],
            expected_create[role],
            expected_delete[role],
        )


class TestEngineersOwnDrafts:
    def test_an_engineer_sees_and_edits_only_their_own_draft(self, api: Api) -> None:
        mine = api.client.post(
            "/api/v1/articles", headers=api.headers("engineer"), json={"title": "工程师草稿 ownwordzz"}
        ).json()["slug"]
        api.wait()
        assert api.client.get(f"/api/v1/articles/{mine}", headers=api.headers("engineer")).status_code == 200
        assert (
            api.client.patch(
                f"/api/v1/articles/{mine}", headers=api.headers("engineer"), json={"symptoms": "补充"}
            ).status_code
            == 200
        )
        found = api.client.get("/api/v1/search", params={"q": "ownwordzz"}, headers=api.headers("engineer")).json()
        assert found["total"] == 1
        other = api.client.get("/api/v1/search", params={"q": "ownwordzz"}, headers=api.headers("viewer")).json()
        assert other["total"] == 0


class TestTokens:
    def test_a_revoked_token_is_refused(self, api: Api) -> None:
        from kb.auth import service as auth_service

        with api.services.db.session() as session:
            token = auth_service.list_tokens(session)[0]
            auth_service.revoke_token(session, token_id=token.id, actor="test")
            role = token.role
        response = api.client.get("/api/v1/search", params={"q": "x"}, headers=api.headers(role))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    def test_tokens_are_stored_only_as_hashes(self, api: Api) -> None:
        from sqlalchemy import select

        from kb.auth.models import ApiToken

        with api.services.db.session(write=False) as session:
            stored = {t.token_hash for t in session.scalars(select(ApiToken))}
        assert not set(api.tokens.values()) & stored
        assert all(len(h) == 64 for h in stored)
