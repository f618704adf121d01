"""The ticket API over HTTP: lifecycle, 409s, suggestions with reasons, links, and the draft a resolution leaves."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api

NGINX_ARTICLE = {
    "slug": "nginx-502-upstream",
    "title": "Nginx 返回 502 Bad Gateway",
    "symptoms": "访问网站报 502，error.log 中 connect() failed (111: Connection refused)",
    "resolution": "检查 upstream 服务是否存活，重启 php-fpm。",
    "tags": ["nginx", "502"],
    "status": "published",
}
TICKET = {
    "title": "官网打不开，报 502 Bad Gateway",
    "description": "用户反馈官网 502，nginx error.log 有 connect() failed (111: Connection refused)。"
    "联系电话 13812345678",
    "reporter_name": "李四",
    "channel": "phone",
    "impact": "high",
    "urgency": "medium",
}


def publish_article(api: Api) -> None:
    """A published Nginx article, indexed."""
    response = api.client.post("/api/v1/articles", json=NGINX_ARTICLE, headers=api.headers("reviewer"))
    assert response.status_code == 201, response.text
    api.wait()


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    """POST a ticket as an engineer."""
    response = api.client.post("/api/v1/tickets", json={**TICKET, **overrides}, headers=api.headers("engineer"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def move(api: Api, number: str, **body: Any) -> Any:
    """POST a transition as an engineer."""
    return api.client.post(f"/api/v1/tickets/{number}/transitions", json=body, headers=api.headers("engineer"))


class TestTicketApi:
    def test_create_list_filter_and_read(self, api: Api) -> None:
        ticket = create(api)
        assert ticket["priority"] == "P2" and ticket["status"] == "new"
        assert ticket["allowed_actions"] == ["assign", "start", "resolve"]
        create(api, title="打印机脱机", impact="low", urgency="low")
        listed = api.client.get("/api/v1/tickets?priority=P2", headers=api.headers("engineer")).json()
        assert listed["total"] == 1 and listed["items"][0]["number"] == ticket["number"]
        by_priority = api.client.get("/api/v1/tickets?sort=priority", headers=api.headers("engineer")).json()
        assert [t["priority"] for t in by_priority["items"]] == ["P2", "P4"]
        bad_sort = api.client.get("/api/v1/tickets?sort=password", headers=api.headers("engineer"))
        assert bad_sort.status_code == 422 and "排序" in bad_sort.json()["error"]["message"]

    def test_viewers_and_anonymous_callers_cannot_see_tickets(self, api: Api) -> None:
        ticket = create(api)
        assert api.client.get(f"/api/v1/tickets/{ticket['number']}", headers=api.headers("viewer")).status_code == 403
        assert api.client.get("/api/v1/tickets").status_code == 401
        assert api.client.get("/api/v1/tickets/INC-00000000-9999", headers=api.headers("engineer")).status_code == 404

    def test_an_invalid_transition_is_409_with_the_allowed_actions(self, api: Api) -> None:
        ticket = create(api)
        response = move(api, ticket["number"], action="close")
        assert response.status_code == 409
        assert response.json()["error"]["details"]["allowed_actions"] == ["assign", "start", "resolve"]
        unresolvable = move(api, ticket["number"], action="resolve", resolution_notes="好了")
        assert unresolvable.status_code == 422
        after = api.client.get(f"/api/v1/tickets/{ticket['number']}", headers=api.headers("engineer")).json()
        assert (after["status"], after["version"]) == ("new", 1)

    def test_suggestions_say_why_and_resolution_leaves_a_masked_draft_for_reviewers(self, api: Api) -> None:
        publish_article(api)
        number = create(api)["number"]
        suggested = api.client.get(f"/api/v1/tickets/{number}/suggestions", headers=api.headers("engineer")).json()
        assert suggested["hits"][0]["slug"] == "nginx-502-upstream"
        assert suggested["hits"][0]["matched_terms"]
        link = api.client.post(
            f"/api/v1/tickets/{number}/links",
            json={"slug": "nginx-502-upstream", "relation": "related"},
            headers=api.headers("engineer"),
        )
        assert link.status_code == 201
        resolved = move(
            api,
            number,
            action="resolve",
            resolution_code="workaround",
            resolution_notes="重启 php-fpm 后恢复，已通知 13812345678",
            root_cause="php-fpm 进程崩溃",
        )
        assert resolved.status_code == 200, resolved.text
        draft = api.client.get(f"/api/v1/tickets/{number}/draft", headers=api.headers("engineer")).json()
        assert draft["revision_of"] is None
        assert [s["slug"] for s in draft["similar"]] == ["nginx-502-upstream"]
        assert 0 < draft["similar"][0]["similarity"] <= 1
        article = api.client.get(f"/api/v1/articles/{draft['article_slug']}", headers=api.headers("reviewer")).json()
        assert article["status"] == "draft" and article["source_ticket"] == number
        assert "13812345678" not in article["symptoms"] + article["resolution"]
        review = api.client.get("/api/v1/articles?status=draft", headers=api.headers("reviewer")).json()
        assert draft["article_slug"] in [a["slug"] for a in review["items"]]
        kinds = [
            e["kind"]
            for e in api.client.get(f"/api/v1/tickets/{number}/events", headers=api.headers("engineer")).json()
        ]
        assert kinds[0] == "created" and "article_linked" in kinds and "resolve" in kinds

    def test_messages_change_the_suggestions(self, api: Api) -> None:
        publish_article(api)
        number = create(api, title="网站访问异常", description="具体情况稍后补充")
        before = api.client.get(f"/api/v1/tickets/{number['number']}/suggestions", headers=api.headers("engineer"))
        assert "nginx-502-upstream" not in [h["slug"] for h in before.json()["hits"]]
        api.client.post(
            f"/api/v1/tickets/{number['number']}/messages",
            json={"body": "补充：nginx 报 502 Bad Gateway，connect() failed", "from_reporter": True},
            headers=api.headers("engineer"),
        )
        after = api.client.get(f"/api/v1/tickets/{number['number']}/suggestions", headers=api.headers("engineer"))
        assert after.json()["hits"][0]["slug"] == "nginx-502-upstream"


class TestDuplicatesAndRecurrence:
    def test_a_similar_open_ticket_is_flagged_and_resolving_the_master_resolves_the_duplicate(self, api: Api) -> None:
        master = create(api)["number"]
        duplicate = create(api, title="官网 502 Bad Gateway 打不开", reporter_name="王五")["number"]
        unrelated = create(api, title="打印机脱机", description="财务部打印机无法打印")["number"]
        relations = api.client.get(f"/api/v1/tickets/{duplicate}/relations", headers=api.headers("engineer")).json()
        flagged = [d["number"] for d in relations["possible_duplicates"]]
        assert master in flagged and unrelated not in flagged
        marked = api.client.post(
            f"/api/v1/tickets/{duplicate}/duplicate-of", json={"master": master}, headers=api.headers("engineer")
        )
        assert marked.status_code == 200
        self_dup = api.client.post(
            f"/api/v1/tickets/{master}/duplicate-of", json={"master": master}, headers=api.headers("engineer")
        )
        assert self_dup.status_code == 422
        notes = "重启 php-fpm"
        assert move(api, master, action="resolve", resolution_code="fixed", resolution_notes=notes).status_code == 200
        dup = api.client.get(f"/api/v1/tickets/{duplicate}", headers=api.headers("engineer")).json()
        assert (dup["status"], dup["resolution_notes"]) == ("resolved", notes)
        both = api.client.get(f"/api/v1/tickets/{master}/relations", headers=api.headers("engineer")).json()
        assert both["duplicates"] == [duplicate]

    def test_recurrence_is_refused_inside_the_reopen_window_and_links_a_new_ticket_after_it(self, api: Api) -> None:
        number = create(api)["number"]
        move(api, number, action="resolve", resolution_code="fixed", resolution_notes="重启 php-fpm")
        early = api.client.post(f"/api/v1/tickets/{number}/recurrence", headers=api.headers("engineer"))
        assert early.status_code == 409 and "重新打开" in early.json()["error"]["message"]
        from datetime import timedelta

        from kb.ticket import service as ticket_service

        with api.services.db.session() as session:
            ticket = ticket_service.get_ticket(session, number)
            ticket.resolved_at = ticket.resolved_at - timedelta(days=30)  # type: ignore[operator]
        late = api.client.post(f"/api/v1/tickets/{number}/recurrence", headers=api.headers("engineer"))
        assert late.status_code == 201
        new = late.json()
        assert new["title"] == TICKET["title"] and new["number"] != number and new["status"] == "new"
        relations = api.client.get(f"/api/v1/tickets/{new['number']}/relations", headers=api.headers("engineer"))
        assert relations.json()["recurrence_of"] == number
        original = api.client.get(f"/api/v1/tickets/{number}/relations", headers=api.headers("engineer")).json()
        assert original["recurrences"] == 1


class TestClassification:
    def test_an_empty_category_and_group_take_the_proposal_and_the_proposal_is_logged(self, api: Api) -> None:
        ticket = create(api, title="VPN 連不上，提示 809 錯誤", description="在家办公无法连接公司 VPN")
        assert (ticket["category"], ticket["assignment_group"]) == ("网络故障", "网络组")
        events = api.client.get(f"/api/v1/tickets/{ticket['number']}/events", headers=api.headers("engineer")).json()
        classified = next(e for e in events if e["kind"] == "classified")
        assert classified["new"]["category"] == "网络故障" and classified["new"]["reasons"]

    def test_an_engineer_given_category_is_kept(self, api: Api) -> None:
        ticket = create(api, title="VPN 连不上", category="账号问题", assignment_group="账号与权限组")
        assert (ticket["category"], ticket["assignment_group"]) == ("账号问题", "账号与权限组")


class TestMergingARevision:
    def test_a_reviewer_folds_the_proposed_revision_into_the_original_in_one_step(self, api: Api) -> None:
        publish_article(api)
        number = create(api)["number"]
        resolution = {
            "action": "resolve",
            "resolution_code": "fixed",
            "resolution_notes": "upstream 的 keepalive 超时小于 Nginx 的，调大 keepalive_timeout 后不再出现 502",
            "solved_by_article": "nginx-502-upstream",
        }
        assert move(api, number, **resolution).status_code == 200
        draft = api.client.get(f"/api/v1/tickets/{number}/draft", headers=api.headers("engineer")).json()
        assert draft["revision_of"] == "nginx-502-upstream"
        slug = draft["article_slug"]
        url = f"/api/v1/drafts/{slug}/merge"
        assert api.client.post(url, headers=api.headers("engineer")).status_code == 403
        merged = api.client.post(url, headers=api.headers("reviewer"))
        assert merged.status_code == 200, merged.text
        body = merged.json()
        assert body["slug"] == "nginx-502-upstream" and body["version"] == 2
        assert "keepalive_timeout" in body["resolution"] and "重启 php-fpm" in body["resolution"]
        assert number in body["resolution"]
        retired = api.client.get(f"/api/v1/articles/{slug}", headers=api.headers("reviewer")).json()
        assert retired["status"] == "retired"
        assert api.client.post(url, headers=api.headers("reviewer")).status_code == 409
        api.wait()
        hits = api.client.get("/api/v1/search?q=keepalive_timeout", headers=api.headers("viewer")).json()["hits"]
        assert [h["slug"] for h in hits] == ["nginx-502-upstream"]

    def test_a_draft_that_revises_nothing_cannot_be_merged(self, api: Api) -> None:
        number = create(api)["number"]
        move(api, number, action="resolve", resolution_code="fixed", resolution_notes="重启 php-fpm")
        slug = api.client.get(f"/api/v1/tickets/{number}/draft", headers=api.headers("engineer")).json()["article_slug"]
        response = api.client.post(f"/api/v1/drafts/{slug}/merge", headers=api.headers("reviewer"))
        assert response.status_code == 422

    def test_the_classification_report_counts_kept_and_overridden_proposals(self, api: Api) -> None:
        kept = create(api, title="VPN 连不上，提示 809 错误", description="在家办公无法连接公司 VPN")
        changed = create(api, title="VPN 连不上", description="提示账号被锁定")
        api.client.patch(
            f"/api/v1/tickets/{changed['number']}", json={"category": "硬件故障"}, headers=api.headers("engineer")
        )
        report = api.client.get("/api/v1/tickets/reports/classification", headers=api.headers("engineer")).json()
        assert (report["proposals"], report["category_kept"]) == (2, 1)
        assert report["category_rate"] == 0.5 and kept["category"] == "网络故障"


class TestRepairAtStart:
    def test_a_resolution_whose_draft_was_never_produced_gets_it_when_the_service_starts(
        self, settings: Any, tmp_path: Any
    ) -> None:
        from fastapi.testclient import TestClient

        from api.app import create_app
        from kb.auth.permissions import ENGINEER, Principal
        from kb.context import build_services
        from kb.ticket import service as ticket_service
        from kb.ticket.schemas import TicketCreate, TicketTransition

        services = build_services(settings)  # the process that resolved, then died before the draft
        alice, policy = Principal("alice", ENGINEER), ticket_service.TicketPolicy()
        with services.db.session() as session:
            number = ticket_service.create_ticket(session, TicketCreate(title="磁盘写满"), alice, policy).number
        with services.db.session() as session:
            resolve = TicketTransition(action="resolve", resolution_code="fixed", resolution_notes="清理日志")
            ticket_service.transition(session, number, resolve, alice, policy)
        services.close()
        with TestClient(create_app(settings)) as client:
            services = client.app.state.services  # type: ignore[attr-defined]
            from sqlalchemy import select

            from kb.article.models import Article

            with services.db.session(write=False) as session:
                sources = list(session.scalars(select(Article.source_ticket)))
        assert sources == [number]


class TestSlaState:
    def test_clocks_with_targets_from_priority_and_an_explanation_then_met_on_resolution(self, api: Api) -> None:
        number = create(api, impact="medium", urgency="medium")["number"]
        sla = api.client.get(f"/api/v1/tickets/{number}/sla", headers=api.headers("engineer")).json()
        response, resolution = sla["response"], sla["resolution"]
        assert (response["target_minutes"], response["calendar"]) == (240, "cn-business")
        assert resolution["target_minutes"] == 3 * 450 and response["state"] in ("running", "breached")
        assert set(response["warnings_at"]) == {"50%", "75%", "90%"}
        assert "创建于" in response["explanation"] and "截止" in response["explanation"]
        api.client.patch(
            f"/api/v1/tickets/{number}", json={"impact": "high", "urgency": "high"}, headers=api.headers("engineer")
        )
        raised = api.client.get(f"/api/v1/tickets/{number}/sla", headers=api.headers("engineer")).json()
        assert (raised["response"]["target_minutes"], raised["response"]["calendar"]) == (30, "24x7")
        assert "优先级变更" in raised["response"]["explanation"]
        move(api, number, action="resolve", resolution_code="fixed", resolution_notes="重启 php-fpm")
        done = api.client.get(f"/api/v1/tickets/{number}/sla", headers=api.headers("engineer")).json()
        assert done["resolution"]["state"] == "met" and done["response"]["state"] == "met"
        page = api.client.get(f"/api/v1/tickets/{number}/sla", headers=api.headers("viewer"))
        assert page.status_code == 403
