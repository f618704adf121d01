"""The ticket pages in headless Chromium: open a ticket, see and link a suggestion, resolve, find the draft."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, NewContext, login

NGINX_502 = "nginx-502-bad-gateway-connection-refused"


@pytest.fixture
def engineer_page(new_context: NewContext, live_server: LiveServer) -> Page:
    """A page logged in as the engineer."""
    return login(new_context(), live_server.tokens["engineer"])


@pytest.mark.browser
class TestTicketLoop:
    def test_create_see_suggestion_link_resolve_and_find_the_draft(
        self, engineer_page: Page, reviewer_page: Page, new_context: NewContext
    ) -> None:
        page = engineer_page
        page.locator("header nav a[href='/tickets']").click()
        page.locator("#new-ticket").click()
        page.locator("#ticket-title").fill("官网打不开，Nginx 报 502 Bad Gateway")
        page.locator("#ticket-description").fill(
            "error.log：connect() failed (111: Connection refused) while connecting to upstream，电话 13812345678"
        )
        with page.expect_navigation():
            page.locator("#ticket-submit").click()
        number = page.locator("#ticket-number").inner_text()
        assert number.startswith("INC-")
        expect(page.locator("#ticket-category")).not_to_have_text("未分类")
        expect(page.locator("#sla-response summary")).to_contain_text("响应 SLA")
        page.locator("#sla-response summary").click()
        expect(page.locator("#sla-response .sla-explanation")).to_contain_text("创建于")

        suggestion = page.locator(f"li.suggestion[data-slug='{NGINX_502}']")
        expect(suggestion).to_have_count(1)
        assert suggestion.locator(".why mark").count() >= 1, suggestion.inner_html()
        with page.expect_navigation():
            suggestion.locator("button.link-solved").click()
        expect(page.locator("#ticket-notice")).to_have_text("已关联文章")
        expect(page.locator("#solved-by")).to_have_value(NGINX_502)

        page.locator("#resolution-code").select_option("workaround")
        page.locator("#resolution-notes").fill("重启 php-fpm 后恢复；已电话 13812345678 告知用户")
        with page.expect_navigation():
            page.locator("#resolve-submit").click()
        expect(page.locator("#ticket-status")).to_have_text("已解决")
        survey_url = page.locator("#survey-link a").get_attribute("href")
        draft_slug = page.locator("#draft-link").inner_text()
        expect(page.locator("#ticket-draft")).to_contain_text("修订建议")

        reviewer_page.goto("/review?status=draft")
        row = reviewer_page.locator(f"#review-list a[href='/articles/{draft_slug}']")
        expect(row).to_have_count(1)
        with reviewer_page.expect_navigation():
            row.click()
        body = reviewer_page.locator("main").inner_text()
        assert "php-fpm" in body and "13812345678" not in body

        assert survey_url is not None
        reporter = new_context().new_page()  # the reporter: no login
        reporter.goto(survey_url)
        reporter.locator("input[name=score][value='5']").check()
        reporter.locator("input[name=solved][value=yes]").check()
        with reporter.expect_navigation():
            reporter.locator("#survey-form button[type=submit]").click()
        expect(reporter.locator("#survey-thanks")).to_be_visible()
        page.goto(urlsplit(page.url).path)
        expect(page.locator("#ticket-status")).to_have_text("已关闭")

    def test_the_ticket_list_filters_by_priority(self, engineer_page: Page, live_server: LiveServer) -> None:
        with live_server.client("engineer") as client:
            high = {"title": "核心交换机宕机", "impact": "high", "urgency": "high"}
            number = client.post("/api/v1/tickets", json=high).json()["number"]
        engineer_page.goto("/tickets")
        engineer_page.locator("#ticket-filters select[name=priority]").select_option("P1")
        with engineer_page.expect_navigation():
            engineer_page.locator("#ticket-filters button[type=submit]").click()
        expect(engineer_page.locator(f"#ticket-list a[href='/tickets/{number}']")).to_have_count(1)
        assert all(
            cell == "P1" for cell in engineer_page.locator("#ticket-list tbody td:nth-child(3)").all_inner_texts()
        )
