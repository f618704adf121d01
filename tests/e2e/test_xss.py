"""Stored XSS: an article full of payloads, created through the API, viewed in the real browser.

The browser contexts bypass the Content-Security-Policy on purpose: CSP alone would already block inline
handlers and javascript: URLs, and must not hide a regression in the Markdown sanitiser or the templates.
(TestSecurityHeaders in test_pages.py checks that the CSP is sent.)
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.e2e.conftest import LiveServer, NewContext, login
from tests.kb.article.test_rendering import XSS_PAYLOADS, XSS_TITLE

SLUG = "e2e-xss-payloads"
TERM = "鹦鹉螺载荷样本"
TITLE = f"{XSS_TITLE} 安全回归 {TERM}"
TAG_PAYLOAD = "<img src=x onerror=alert('tag')>"
CATEGORY_PAYLOAD = "<svg onload=alert('category')>"

# Problems a browser sees in the DOM under ``root``: event-handler attributes, script-capable elements,
# and links/sources whose resolved protocol is javascript:, vbscript: or data:.
FIND_PROBLEMS = """(root) => {
  const scope = document.querySelector(root);
  if (!scope) return [`no element ${root}`];
  const problems = [];
  for (const el of scope.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (attr.name.toLowerCase().startsWith('on')) problems.push(`${el.tagName} ${attr.name}=${attr.value}`);
    }
    for (const prop of ['href', 'src', 'action', 'formAction']) {
      const value = typeof el[prop] === 'string' ? el[prop] : '';
      if (!value) continue;
      let protocol = '';
      try { protocol = new URL(value, document.baseURI).protocol; } catch (e) { continue; }
      if (['javascript:', 'vbscript:', 'data:'].includes(protocol)) {
        problems.push(`${el.tagName} ${prop}=${value}`);
      }
    }
  }
  for (const el of scope.querySelectorAll('script, iframe, svg, object, embed, details, body body, frame')) {
    problems.push(el.outerHTML.slice(0, 200));
  }
  return problems;
}"""
BAD_LINKS = (
    'a[href^="javascript" i], a[href^="data:" i], a[href^="vbscript:" i], '
    '[src^="javascript" i], [src^="vbscript:" i], [src^="data:" i]'
)


@pytest.fixture(scope="module")
def xss_article(live_server: LiveServer) -> str:
    """A published article whose title, sections, tags and category carry the payload corpus."""
    corpus = "\n\n".join(XSS_PAYLOADS)
    live_server.create_article(
        "reviewer",
        {
            "slug": SLUG,
            "title": TITLE,
            "status": "published",
            "symptoms": f"{TERM}：页面出现异常弹窗。\n\n{corpus}",
            "cause": " ".join(XSS_PAYLOADS),
            "resolution": "\n".join(f"- 第 {n} 步：{p}" for n, p in enumerate(XSS_PAYLOADS, start=1)),
            "body": f"## 载荷\n\n{corpus}\n\n```html\n{XSS_PAYLOADS[0]}\n```\n",
            "category": CATEGORY_PAYLOAD,
            "tags": ["xss", TAG_PAYLOAD],
        },
    )
    live_server.wait_until_searchable("viewer", TERM, SLUG)
    return SLUG


@pytest.fixture
def xss_page(new_context: NewContext, live_server: LiveServer) -> tuple[Page, list[str]]:
    """A viewer page (CSP bypassed) and the list of dialog messages it has shown."""
    dialogs: list[str] = []
    page = login(new_context(bypass_csp=True), live_server.tokens["viewer"])

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page, dialogs


def assert_no_injection(page: Page, root: str) -> None:
    """Nothing executable under ``root`` and no script anywhere in the document."""
    assert page.evaluate(FIND_PROBLEMS, root) == []
    assert page.locator(f"{root} script").count() == 0
    assert page.locator(f"{root} :is({BAD_LINKS})").count() == 0
    assert page.evaluate("document.scripts.length") == 0, page.content()


@pytest.mark.browser
class TestStoredXss:
    """Payloads stored in an article never run, on the article page or in search results."""

    def test_article_page(self, xss_article: str, xss_page: tuple[Page, list[str]]) -> None:
        page, dialogs = xss_page
        response = page.goto(f"/articles/{xss_article}")
        assert response is not None and response.status == 200
        page.wait_for_load_state("load")
        for link in page.locator("#article-content a").all():  # sanitised links have no href left
            link.click(no_wait_after=True)
        page.wait_for_timeout(300)  # onerror / ontoggle / onload would have fired by now

        assert dialogs == []
        assert page.url.endswith(f"/articles/{xss_article}"), page.url
        expect(page.locator("#article-title")).to_have_text(TITLE)  # shown as text, not markup
        assert XSS_TITLE in page.title()
        expect(page.locator("article .meta a.tag", has_text=TAG_PAYLOAD)).to_have_count(1)
        expect(page.locator("article .meta .category")).to_have_text(CATEGORY_PAYLOAD)
        expect(page.locator("#article-content > section")).to_have_count(4)  # prevention is empty
        # The fenced code block shows the payload as text.
        expect(page.locator("#article-content pre code")).to_contain_text(XSS_PAYLOADS[0])
        assert_no_injection(page, "#article-content")
        assert_no_injection(page, "article")

    def test_search_results_page(self, xss_article: str, xss_page: tuple[Page, list[str]]) -> None:
        page, dialogs = xss_page
        response = page.goto("/?" + urlencode({"q": TERM}))
        assert response is not None and response.status == 200
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)

        assert dialogs == []
        hit = page.locator("li.hit").filter(has=page.locator(f'a[href="/articles/{xss_article}"]'))
        expect(hit).to_have_count(1)
        expect(hit.locator("h2 a")).to_have_text(TITLE)
        expect(hit.locator(".tag", has_text=TAG_PAYLOAD)).to_have_count(1)
        expect(page.locator("aside.facets a", has_text=CATEGORY_PAYLOAD)).to_have_count(1)
        assert_no_injection(page, ".results")
        assert_no_injection(page, "aside.facets")
        assert_no_injection(page, "main")


class TestStoredXssApi:
    """The search API returns escaped snippets (only <mark> is markup)."""

    def test_search_api_snippet_is_escaped(self, xss_article: str, live_server: LiveServer) -> None:
        with live_server.client("viewer") as client:
            hits = client.get("/api/v1/search", params={"q": TERM}).json()["hits"]
        hit = next(h for h in hits if h["slug"] == xss_article)
        without_marks = hit["snippet"].replace("<mark>", "").replace("</mark>", "")
        assert "<" not in without_marks, hit["snippet"]
