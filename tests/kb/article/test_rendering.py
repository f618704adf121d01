"""render_markdown: untrusted Markdown becomes safe HTML, and ordinary Markdown still renders."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from kb.article import rendering
from kb.article.rendering import render_markdown

# Shared with tests/e2e/test_xss.py, which puts the same corpus through the real service and browser.
XSS_PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[y](&#106;avascript:alert(1))",
    '<a href="data:text/html,<script>alert(1)</script>">d</a>',
    "<svg onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<details open ontoggle=alert(1)>",
    '<a href="vbscript:msgbox(1)">v</a>',
    "<body onload=alert(1)>",
)
XSS_TITLE = "<script>alert('t')</script>"
SAFE_SCHEMES = {"", "http", "https", "mailto"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "background", "poster"}
FORBIDDEN_TAGS = {"script", "iframe", "svg", "object", "embed", "body", "details", "style", "form", "base"}
# The WHATWG URL parser strips leading/trailing C0 controls and spaces and drops tab/LF/CR anywhere, so
# " java\tscript:" is a javascript: URL; "java script:" (inner space) is a relative one.
_STRIPPED_AROUND_URL = "".join(chr(c) for c in range(0x21))
_REMOVED_IN_URL = re.compile(r"[\t\n\r]")


class _Elements(HTMLParser):
    """Collects every start tag and its attributes, as a browser would see them (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, [(name.lower(), value or "") for name, value in attrs]))


def elements(html: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(tag, [(attribute, value), ...]) for every element of ``html``."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def url_scheme(url: str) -> str:
    """The scheme a browser would use for ``url`` ('' for relative URLs and fragments)."""
    cleaned = _REMOVED_IN_URL.sub("", url.strip(_STRIPPED_AROUND_URL)).lower()
    match = re.match(r"^([a-z][a-z0-9+.-]*):", cleaned)
    return match.group(1) if match else ""


def assert_safe(html: str) -> None:
    """No script, no event handler, no dangerous element, only http/https/mailto/relative URLs."""
    lowered = html.lower()
    assert "<script" not in lowered, html
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", lowered), html
    for scheme in ("javascript:", "vbscript:", "data:"):
        assert not re.search(rf"""(href|src)\s*=\s*["']?\s*{scheme}""", lowered), html
    for tag, attrs in elements(html):
        assert tag not in FORBIDDEN_TAGS, (tag, html)
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, html)
            if name in URL_ATTRIBUTES:
                assert url_scheme(value) in SAFE_SCHEMES, (tag, name, value, html)


class TestChecker:
    """assert_safe itself catches what the sanitiser must remove (so passing tests mean something)."""

    @pytest.mark.parametrize(
        "html",
        [
            "<script>alert(1)</script>",
            '<img src="x" onerror="alert(1)">',
            "<p onclick=alert(1)>x</p>",
            '<a href="javascript:alert(1)">x</a>',
            '<a href=" JaVa\tScRiPt:alert(1)">x</a>',
            '<a href="&#106;avascript:alert(1)">x</a>',
            '<img src="data:image/svg+xml,<svg/onload=alert(1)>">',
            '<a href="vbscript:msgbox(1)">v</a>',
            "<svg><circle/></svg>",
            '<iframe src="/x"></iframe>',
        ],
    )
    def test_rejects_unsafe_html(self, html: str) -> None:
        with pytest.raises(AssertionError):
            assert_safe(html)

    def test_accepts_safe_html(self) -> None:
        assert_safe('<p><a href="https://x.example/a">a</a> <a href="java script:x">b</a> on=1 onclick</p>')


class TestXssPayloads:
    """Each payload, alone, inside a document, and all together, is neutralised."""

    @pytest.mark.parametrize("payload", XSS_PAYLOADS)
    def test_payload_alone(self, payload: str) -> None:
        assert_safe(render_markdown(payload))

    @pytest.mark.parametrize("payload", XSS_PAYLOADS)
    def test_payload_inside_markdown(self, payload: str) -> None:
        html = render_markdown(f"## 现象\n\n用户报告：{payload} 之后页面空白。\n\n- 第一步 {payload}\n- 第二步\n")
        assert_safe(html)
        assert "<h2>现象</h2>" in html

    def test_whole_corpus(self) -> None:
        assert_safe(render_markdown("\n\n".join((XSS_TITLE, *XSS_PAYLOADS))))
        assert_safe(render_markdown(" ".join(XSS_PAYLOADS)))

    def test_script_content_is_dropped_not_shown(self) -> None:
        assert "alert" not in render_markdown("<script>alert(1)</script>")

    def test_stripped_links_keep_their_text(self) -> None:
        html = render_markdown("[click](javascript:alert(1)) 与 [x](JaVaScRiPt:alert(1))")
        assert ">click</a>" in html and ">x</a>" in html
        assert "href" not in html

    @pytest.mark.parametrize(
        "url",
        [
            "java\tscript:alert(1)",
            "java&#9;script:alert(1)",
            "java&#x0A;script:alert(1)",
            "\x01javascript:alert(1)",
            "&#0;javascript:alert(1)",
            "javascript&colon;alert(1)",
            "JAVASCRIPT:alert(1)",
            "&#x6A;avascript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "vbscript:msgbox(1)",
        ],
    )
    def test_obfuscated_link_schemes(self, url: str) -> None:
        assert_safe(render_markdown(f'[a]({url}) <a href="{url}">b</a> ![c]({url})'))

    def test_sections_are_sanitised(self) -> None:
        content = {field: "\n\n".join(XSS_PAYLOADS) for field in ("symptoms", "cause", "resolution", "body")}
        sections = rendering.render_sections(content)
        assert [title for title, _ in sections] == ["故障现象", "原因", "解决方案", "补充说明"]
        for _title, html in sections:
            assert_safe(html)


class TestOrdinaryMarkdown:
    """The sanitiser keeps what articles legitimately use."""

    def test_headings_lists_and_emphasis(self) -> None:
        html = render_markdown("## 排查步骤\n\n### 第一步\n\n1. **确认** 服务状态\n2. 查看 `error.log`\n\n- *注意*\n")
        assert "<h2>排查步骤</h2>" in html and "<h3>第一步</h3>" in html
        assert "<ol>" in html and "<ul>" in html and "<strong>确认</strong>" in html
        assert "<code>error.log</code>" in html and "<em>注意</em>" in html

    def test_fenced_code_keeps_language_and_escapes_html(self) -> None:
        html = render_markdown('```bash\nsystemctl status nginx\necho "<script>alert(1)</script>"\n```\n')
        assert '<pre><code class="language-bash">systemctl status nginx' in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert_safe(html)

    def test_tables(self) -> None:
        html = render_markdown("| 项目 | 值 |\n|------|----|\n| 端口 | 8080 |\n")
        for tag in ("<table>", "<thead>", "<th>项目</th>", "<tbody>", "<td>8080</td>"):
            assert tag in html, (tag, html)

    @pytest.mark.parametrize(
        "url",
        [
            "https://nginx.org/en/docs/",
            "http://example.com/a?b=1",
            "mailto:sre@example.com",
            "/articles/nginx-504-gateway-timeout-upstream-timed-out",
            "../runbooks/dns.md",
            "#section",
        ],
    )
    def test_safe_links_survive(self, url: str) -> None:
        html = render_markdown(f"参见 [文档]({url})。")
        assert f'href="{url}"' in html, html
        assert 'rel="noopener noreferrer nofollow"' in html

    def test_images_with_https_source_survive(self) -> None:
        html = render_markdown("![拓扑图](https://example.com/topology.png)")
        assert '<img alt="拓扑图" src="https://example.com/topology.png">' in html

    def test_table_column_alignment_survives(self) -> None:
        html = render_markdown("| 左 | 右 |\n|:---|---:|\n| a | b |\n")
        assert '<th align="left">左</th>' in html and '<td align="right">b</td>' in html, html
