"""The public HTTP API: exact shapes, lifecycle, versions and diffs, errors, limits, health."""

from __future__ import annotations

from sqlalchemy import select

from kb.search.models import ZeroResultSearch
from tests.api.conftest import Api

HIT_KEYS = {"slug", "title", "score", "snippet", "tags", "status", "updated_at"}


def publish_article(api: Api, **fields: object) -> dict[str, object]:
    """Create a published article as a reviewer."""
    body = {
        "title": "Kafka 消费者积压 consumer lag 持续增长",
        "symptoms": "消费延迟，lag 持续增长",
        "resolution": "```bash\nkafka-consumer-groups.sh --describe --group g1\n```",
        "tags": ["kafka", "mq"],
        "category": "消息队列",
        "status": "published",
    }
    body.update(fields)
    response = api.client.post("/api/v1/articles", headers=api.headers("reviewer"), json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


class TestSearchShape:
    def test_search_returns_the_documented_shape(self, api: Api) -> None:
        publish_article(api)
        api.wait()
        response = api.client.get(
            "/api/v1/search", params={"q": "kafka 积压", "limit": 5}, headers=api.headers("viewer")
        )
        assert response.status_code == 200
        body = response.json()
        assert isinstance(body["total"], int) and isinstance(body["took_ms"], float)
        assert body["total"] == 1
        assert set(body["hits"][0]) >= HIT_KEYS
        assert "<mark>" in body["hits"][0]["snippet"]

    def test_suggestions_return_the_same_hit_shape_and_key_terms(self, api: Api) -> None:
        publish_article(api)
        api.wait()
        response = api.client.post(
            "/api/v1/suggestions",
            headers=api.headers("integration"),
            json={
                "title": "订单服务消息堆积",
                "description": "监控告警：kafka consumer lag 超过 10 万，消费者组 g1 一直在 rebalance。" * 5,
                "limit": 3,
            },
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body["hits"][0]) >= HIT_KEYS
        assert "kafka" in body["key_terms"]
        assert len(body["key_terms"]) <= 8

    def test_zero_result_searches_are_recorded(self, api: Api) -> None:
        api.client.get("/api/v1/search", params={"q": "完全不存在的词 zzqqxx"}, headers=api.headers("viewer"))
        with api.services.db.session(write=False) as session:
            rows = list(session.scalars(select(ZeroResultSearch)))
        assert [(r.query, r.actor) for r in rows] == [("完全不存在的词 zzqqxx", "viewer-user")]


class TestArticleLifecycleOverHttp:
    def test_create_edit_publish_history_and_diff(self, api: Api) -> None:
        reviewer = api.headers("reviewer")
        created = api.client.post(
            "/api/v1/articles",
            headers=reviewer,
            json={"slug": "rabbitmq-alarm", "title": "RabbitMQ 内存告警"},
        ).json()
        assert (created["status"], created["version"]) == ("draft", 1)
        edited = api.client.patch(
            "/api/v1/articles/rabbitmq-alarm",
            headers=reviewer,
            json={"symptoms": "connection blocked", "expected_version": 1},
        ).json()
        assert edited["version"] == 2
        stale = api.client.patch(
            "/api/v1/articles/rabbitmq-alarm",
            headers=reviewer,
            json={"symptoms": "旧版本上的修改", "expected_version": 1},
        )
        assert stale.status_code == 409
        assert stale.json()["error"]["details"]["current_version"] == 2
        assert api.client.post("/api/v1/articles/rabbitmq-alarm/submit", headers=reviewer).status_code == 200
        published = api.client.post("/api/v1/articles/rabbitmq-alarm/publish", headers=reviewer).json()
        assert published["status"] == "published"
        invalid = api.client.post("/api/v1/articles/rabbitmq-alarm/submit", headers=reviewer)
        assert invalid.status_code == 409
        assert invalid.json()["error"]["details"]["allowed"] == ["retire", "to_draft"]
        versions = api.client.get("/api/v1/articles/rabbitmq-alarm/versions", headers=reviewer).json()
        assert [v["version"] for v in versions] == [4, 3, 2, 1]
        diff = api.client.get(
            "/api/v1/articles/rabbitmq-alarm/diff", params={"from": 1, "to": 2}, headers=reviewer
        ).json()
        assert "+connection blocked" in diff["diff"]
        snapshot = api.client.get("/api/v1/articles/rabbitmq-alarm/versions/1", headers=reviewer).json()
        assert snapshot["snapshot"]["status"] == "draft"
        audit = api.client.get("/api/v1/articles/rabbitmq-alarm/audit", headers=api.headers("admin")).json()
        assert [e["action"] for e in audit] == [
            "article.create",
            "article.update",
            "article.submit",
            "article.publish",
        ]

    def test_a_published_change_becomes_searchable(self, api: Api) -> None:
        publish_article(api, slug="kafka-lag")
        api.client.patch(
            "/api/v1/articles/kafka-lag",
            headers=api.headers("reviewer"),
            json={"title": "Kafka 积压 独特词语qwzx"},
        )
        api.wait()
        hits = api.client.get("/api/v1/search", params={"q": "独特词语qwzx"}, headers=api.headers("viewer")).json()
        assert [h["slug"] for h in hits["hits"]] == ["kafka-lag"]

    def test_feedback_is_stored(self, api: Api) -> None:
        publish_article(api, slug="kafka-lag")
        response = api.client.post(
            "/api/v1/articles/kafka-lag/feedback",
            headers=api.headers("viewer"),
            json={"helpful": True, "comment": "解决了"},
        )
        assert response.json() == {"helpful": 1, "not_helpful": 0}


class TestErrors:
    def test_malformed_input_is_a_422_with_a_clear_message(self, api: Api) -> None:
        response = api.client.post("/api/v1/articles", headers=api.headers("reviewer"), json={"title": ""})
        assert response.status_code == 422
        assert "title" in response.json()["error"]["message"]
        response = api.client.post(
            "/api/v1/articles", headers=api.headers("reviewer"), json={"title": "t", "slug": "Not A Slug"}
        )
        assert response.status_code == 422
        assert "slug" in response.json()["error"]["message"]
        response = api.client.post(
            "/api/v1/articles",
            headers=api.headers("reviewer"),
            content=b"{not json",
        )
        assert response.status_code == 422

    def test_limits_on_page_size_depth_and_query_length(self, api: Api) -> None:
        viewer = api.headers("viewer")
        assert api.client.get("/api/v1/search", params={"q": "x", "limit": 500}, headers=viewer).status_code == 422
        assert api.client.get("/api/v1/search", params={"q": "x", "offset": 5000}, headers=viewer).status_code == 422
        assert api.client.get("/api/v1/search", params={"q": "长" * 1000}, headers=viewer).status_code == 422
        assert api.client.get("/api/v1/search", params={"q": "x", "limit": -1}, headers=viewer).status_code == 422

    def test_a_too_large_body_is_a_413(self, api: Api) -> None:
        response = api.client.post(
            "/api/v1/articles",
            headers=api.headers("reviewer"),
            content=b"x" * (api.services.settings.max_request_bytes + 1),
        )
        assert response.status_code == 413

    def test_unknown_articles_routes_and_actions(self, api: Api) -> None:
        viewer = api.headers("viewer")
        assert api.client.get("/api/v1/articles/nope", headers=viewer).status_code == 404
        assert api.client.get("/api/v1/nothing-here", headers=viewer).json()["error"]["status"] == 404
        response = api.client.post("/api/v1/articles/nope/explode", headers=api.headers("reviewer"))
        assert response.status_code == 422

    def test_odd_queries_never_cause_a_server_error(self, api: Api) -> None:
        publish_article(api)
        api.wait()
        for query in [
            "",
            " ",
            "的了吗",
            "*",
            '"',
            "a AND OR NOT",
            "((",
            "\\",
            "<script>",
            "\u0000",
            "😀",
            "ＡＮＤ",
            "-",
            "/",
            "0x",
            "..",
            "http://",
            "#",
            "%",
            "SELECT * FROM article;",
        ]:
            response = api.client.get("/api/v1/search", params={"q": query}, headers=api.headers("viewer"))
            assert response.status_code in (200, 422), (query, response.text)


class TestHealth:
    def test_healthz_and_readyz(self, api: Api) -> None:
        assert api.client.get("/healthz").json() == {"status": "ok"}
        api.wait()
        ready = api.client.get("/readyz")
        assert ready.status_code == 200
        checks = ready.json()["checks"]
        assert checks["jieba"]["ok"] and checks["database"]["ok"] and checks["index"]["ok"]

    def test_every_response_carries_security_headers(self, api: Api) -> None:
        for path in ("/healthz", "/login", "/api/v1/search"):
            response = api.client.get(path)
            assert "default-src 'self'" in response.headers["content-security-policy"]
            assert response.headers["x-content-type-options"] == "nosniff"

    def test_openapi_lists_the_public_endpoints(self, api: Api) -> None:
        paths = api.client.get("/openapi.json").json()["paths"]
        assert {
            "/api/v1/search",
            "/api/v1/suggestions",
            "/api/v1/articles",
            "/api/v1/articles/{slug}",
        } <= set(paths)


class TestControlCharacters:
    def test_nul_in_article_text_is_a_422_not_a_server_error(self, api: Api) -> None:
        response = api.client.post(
            "/api/v1/articles", headers=api.headers("reviewer"), json={"title": "含\u0000的标题", "tags": ["a\u0000b"]}
        )
        assert response.status_code == 422
        assert "NUL" in response.json()["error"]["message"]

    def test_nul_in_ticket_text_is_ignored(self, api: Api) -> None:
        response = api.client.post(
            "/api/v1/suggestions",
            headers=api.headers("integration"),
            json={"title": "VPN\u0000 连不上", "description": "报错 809\u0000"},
        )
        assert response.status_code == 200
