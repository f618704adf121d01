"""Markdown -> HTML with python-markdown, then sanitised with an allow-list (nh3)."""

from __future__ import annotations

from typing import Any

import markdown
import nh3

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
SECTION_TITLES = (
    ("symptoms", "故障现象"),
    ("cause", "原因"),
    ("resolution", "解决方案"),
    ("prevention", "预防措施"),
    ("body", "补充说明"),
)


def render_markdown(text: str) -> str:
    """Safe HTML for untrusted Markdown: no scripts, no event handlers, only http/https/mailto/relative links."""
    raw = markdown.markdown(
        text or "",
        extensions=["fenced_code", "tables", "sane_lists"],
        extension_configs={"tables": {"use_align_attribute": True}},
        output_format="html",
    )
    return str(
        nh3.clean(
            raw,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=ALLOWED_SCHEMES,
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )
    )


def render_sections(content: dict[str, Any]) -> list[tuple[str, str]]:
    """(section title, safe HTML) for each non-empty section of an article."""
    return [
        (title, render_markdown(content.get(field) or ""))
        for field, title in SECTION_TITLES
        if (content.get(field) or "").strip()
    ]
