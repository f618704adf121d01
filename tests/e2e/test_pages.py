"""The server-rendered pages in headless Chromium, against the real service (see conftest.py)."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import DRAFT_ONLY_WORD, DRAFT_SLUG, DRAFT_TERM, LiveServer, NewContext

NGINX_502 = "nginx-502-bad-gateway-connection-refused"
PRINTER_OFFLINE = "printer-offline-spooler-queue-stuck"
COUNTS_RE = re.compile(r"(\d+) 人觉得有帮助，(\d+) 人觉得没有帮助")


def search_in_box(page: Page, query: str) -> None:
    """Type ``query`` into the header search box and submit it."""
    box = page.locator("form.searchbox input[name=q]")
    box.fill(query)
    with page.expect_navigation():
        box.press("Enter")
    expect(page.locator("#summary")).to_be_visible()


def hit_for(page: Page, slug: str) -> Locator:
    """The result list item linking to ``slug``."""
    return page.locator("li.hit").filter(has=page.locator(f'a[href="/articles/{slug}"]'))


def feedback_counts(page: Page) -> tuple[int, int]:
    """(helpful, not helpful) as shown on the article page."""
    match = COUNTS_RE.search(page.locator("#feedback .counts").inner_text())
    assert match, page.locator("#feedback").inner_text()
    return int(match.group(1)), int(match.group(2))


@pytest.mark.browser
class TestSearchPage:
    """Logging in with a token and searching from the search box."""

    def test_viewer_finds_nginx_502_with_highlight_and_facets(self, viewer_page: Page) -> None:
        search_in_box(viewer_page, "Nginx 502")

        hit = hit_for(viewer_page, NGINX_502)
        expect(hit).to_have_count(1)
        expect(hit.locator("h2 a")).to_contain_text("502")
        assert hit.locator("h2 mark, p.snippet mark").count() >= 1, hit.inner_html()
        assert int(viewer_page.locator("#total").inner_text()) >= 1
        facets = viewer_page.locator("aside.facets")
        expect(facets).to_be_visible()
        expect(facets.locator("section.facet[data-facet=category]")).to_be_visible()
        expect(facets.locator("section.facet[data-facet=tags]")).to_be_visible()
        expect(facets.locator("section.facet[data-facet=status]")).to_have_count(0)  # reviewers only

    @pytest.mark.parametrize(
        ("query", "slug"),
        [("印表機離線", PRINTER_OFFLINE), ("ＮＧＩＮＸ　５０２", NGINX_502)],
        ids=["traditional-chinese", "full-width"],
    )
    def test_traditional_and_full_width_queries_are_normalised(self, viewer_page: Page, query: str, slug: str) -> None:
        search_in_box(viewer_page, query)

        expect(viewer_page.locator("form.searchbox input[name=q]")).to_have_value(query)
        expect(hit_for(viewer_page, slug)).to_have_count(1)
        assert hit_for(viewer_page, slug).locator("mark").count() >= 1


@pytest.mark.browser
class TestArticlePage:
    """Reading an article and leaving feedback."""

    def test_article_shows_sections_tags_and_history(self, viewer_page: Page) -> None:
        response = viewer_page.goto(f"/articles/{NGINX_502}")

        assert response is not None and response.status == 200
        expect(viewer_page.locator("#article-title")).to_contain_text("Nginx 返回 502 Bad Gateway")
        expect(viewer_page.locator("#article-status")).to_have_text("已发布")
        sections = viewer_page.locator("#article-content section > h2").all_inner_texts()
        assert sections[:4] == ["故障现象", "原因", "解决方案", "预防措施"], sections
        expect(viewer_page.locator("#article-content pre code").first).to_be_visible()
        tags = viewer_page.locator("article .meta a.tag").all_inner_texts()
        assert {"nginx", "http-502", "upstream"} <= set(tags), tags
        history = viewer_page.locator("section.history li a")
        expect(history.first).to_have_text("v1")
        expect(history.first).to_have_attribute("href", f"/articles/{NGINX_502}/versions/1")
        expect(viewer_page.locator("#review-actions")).to_have_count(0)  # viewers cannot edit or publish

    def test_helpful_feedback_is_thanked_and_counted(self, viewer_page: Page) -> None:
        viewer_page.goto(f"/articles/{PRINTER_OFFLINE}")
        helpful, not_helpful = feedback_counts(viewer_page)
        expect(viewer_page.locator("#feedback .thanks")).to_have_count(0)

        with viewer_page.expect_navigation():
            viewer_page.locator("#feedback").get_by_role("button", name="有帮助", exact=True).click()

        assert viewer_page.url.endswith(f"/articles/{PRINTER_OFFLINE}?thanks=1"), viewer_page.url
        expect(viewer_page.locator("#feedback .thanks")).to_contain_text("感谢反馈")
        assert feedback_counts(viewer_page) == (helpful + 1, not_helpful)


@pytest.mark.browser
class TestDraftVisibility:
    """Drafts are invisible to viewers, in search and by URL."""

    def test_viewer_search_for_a_word_only_the_draft_has_shows_no_results(
        self, viewer_page: Page, live_server: LiveServer
    ) -> None:
        assert DRAFT_SLUG in live_server.search_slugs("reviewer", DRAFT_ONLY_WORD)  # indexed, not for viewers

        search_in_box(viewer_page, DRAFT_ONLY_WORD)

        expect(viewer_page.locator("#total")).to_have_text("0")
        expect(viewer_page.locator("p.empty")).to_contain_text(DRAFT_ONLY_WORD)
        expect(viewer_page.locator("li.hit")).to_have_count(0)
        assert DRAFT_SLUG not in viewer_page.content()

    def test_viewer_search_for_the_draft_title_does_not_list_the_draft(
        self, viewer_page: Page, live_server: LiveServer
    ) -> None:
        assert DRAFT_SLUG in live_server.search_slugs("reviewer", DRAFT_TERM)

        search_in_box(viewer_page, DRAFT_TERM)

        # No visible article contains every keyword, so the service falls back to partial matches (articles
        # that merely mention 测试) and says so; the draft must not be among them.
        expect(viewer_page.locator("#summary .hint")).to_contain_text("未找到包含全部关键词的文章")
        hit_titles = " ".join(viewer_page.locator("li.hit h2").all_inner_texts())
        assert DRAFT_SLUG not in viewer_page.content() and "专用词" not in hit_titles, hit_titles
        with live_server.client("viewer") as client:
            result = client.get("/api/v1/search", params={"q": DRAFT_TERM, "limit": 50}).json()
        assert [h["slug"] for h in result["hits"] if h["status"] != "published"] == [], result["hits"]

    def test_viewer_gets_404_page_for_the_draft(self, viewer_page: Page) -> None:
        response = viewer_page.goto(f"/articles/{DRAFT_SLUG}")

        assert response is not None and response.status == 404
        expect(viewer_page.locator("section.error-page h1")).to_have_text("404")
        expect(viewer_page.locator("section.error-page .error")).to_contain_text("不存在")
        assert DRAFT_TERM not in viewer_page.content()


@pytest.mark.browser
class TestReviewAndPublish:
    """A reviewer publishes a draft from the review list; viewers then find it."""

    SLUG = "e2e-publish-dns"
    TERM = "蓝鲸巡检口令"

    def test_reviewer_publishes_draft_and_viewer_finds_it(
        self, live_server: LiveServer, reviewer_page: Page, viewer_page: Page
    ) -> None:
        # Its own draft, so that e2e-draft-vpn stays a draft for TestDraftVisibility whatever the order.
        live_server.create_article(
            "reviewer",
            {
                "slug": self.SLUG,
                "title": f"草稿：内网 DNS 解析偶发超时 {self.TERM}",
                "symptoms": "办公网客户端偶发解析超时，重试后恢复。",
                "tags": ["dns"],
            },
        )
        reviewer, viewer = reviewer_page, viewer_page  # separate browser contexts

        reviewer.goto("/review?status=draft")
        link = reviewer.locator(f'#review-list a[href="/articles/{self.SLUG}"]')
        expect(link).to_contain_text(self.TERM)
        with reviewer.expect_navigation():
            link.click()
        expect(reviewer.locator("#article-status")).to_have_text("草稿")
        with reviewer.expect_navigation():
            reviewer.locator("#review-actions").get_by_role("button", name="发布", exact=True).click()
        expect(reviewer.locator("#article-status")).to_have_text("已发布")
        expect(reviewer.locator("section.history li a").first).to_have_text("v2")

        # The index follows the database within about a second: retry until the hit shows as published
        # (no status badge).
        published_hit = hit_for(viewer, self.SLUG).filter(has_not=viewer.locator(".badge"))
        deadline = time.monotonic() + 5.0
        while True:
            viewer.goto("/?" + urlencode({"q": self.TERM}))
            if published_hit.count() == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        expect(published_hit).to_have_count(1)
        expect(published_hit.locator("mark").first).to_be_visible()
        with viewer.expect_navigation():
            published_hit.locator("h2 a").click()
        expect(viewer.locator("#article-title")).to_contain_text(self.TERM)


@pytest.mark.browser
class TestSecurityHeaders:
    """Pages are served with a restrictive Content-Security-Policy."""

    @pytest.mark.parametrize("path", ["/", f"/articles/{NGINX_502}"])
    def test_page_has_content_security_policy(self, viewer_page: Page, path: str) -> None:
        response = viewer_page.goto(path)

        assert response is not None and response.status == 200
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp, csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
        assert "frame-ancestors 'none'" in csp, csp
        assert response.headers.get("x-content-type-options") == "nosniff"

    def test_login_page_has_content_security_policy(self, new_context: NewContext) -> None:
        response = new_context().new_page().goto("/login")

        assert response is not None and response.status == 200
        assert "default-src 'self'" in response.headers.get("content-security-policy", "")
