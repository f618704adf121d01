"""Markdown files with YAML front matter <-> article fields (see docs/content-format.md)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import yaml

SECTION_FIELDS = {
    "故障现象": "symptoms",
    "现象": "symptoms",
    "症状": "symptoms",
    "原因": "cause",
    "根因": "cause",
    "故障原因": "cause",
    "解决方案": "resolution",
    "排查步骤": "resolution",
    "处理步骤": "resolution",
    "解决办法": "resolution",
    "处理方法": "resolution",
    "预防措施": "prevention",
    "预防": "prevention",
    "补充说明": "body",
    "正文": "body",
}
EXPORT_HEADINGS = (
    ("symptoms", "故障现象"),
    ("cause", "原因"),
    ("resolution", "解决方案"),
    ("prevention", "预防措施"),
    ("body", "补充说明"),
)
FRONT_MATTER_KEYS = (
    "slug",
    "title",
    "status",
    "category",
    "product",
    "component",
    "environment",
    "tags",
    "owner",
    "review_by",
    "source_ticket",
)


class _TextLoader(yaml.SafeLoader):
    """YAML without implicit numbers: tags such as 0x80070005, 502 or 5.7.501 must stay text."""


_TextLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_HEADING_RE = re.compile(r"^##\s+(.+?)\s*#*\s*$")
_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")


class MarkdownFormatError(ValueError):
    """A file that cannot be read as an article; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _split_front_matter(text: str) -> tuple[dict[str, Any], str, int]:
    text = text.lstrip("\ufeff")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise MarkdownFormatError("缺少 YAML front matter（文件必须以 --- 开头）", 1)
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            try:
                meta = yaml.load("\n".join(lines[1:index]), Loader=_TextLoader) or {}
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark
                line = mark.line + 2 if mark is not None else None
                raise MarkdownFormatError(f"front matter 不是合法的 YAML：{exc.problem}", line) from None
            except yaml.YAMLError as exc:
                raise MarkdownFormatError(f"front matter 不是合法的 YAML：{exc}", 2) from None
            if not isinstance(meta, dict):
                raise MarkdownFormatError("front matter 必须是键值对（YAML 映射）", 2)
            return meta, "\n".join(lines[index + 1 :]), index + 2
    raise MarkdownFormatError("front matter 没有结束的 --- 行", 1)


def split_sections(markdown_text: str) -> dict[str, str]:
    """Split Markdown into the structured fields by their level-2 headings; the rest is the body."""
    chunks: dict[str, list[str]] = {}
    current = "body"
    buffer: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(buffer).strip("\n").rstrip()
        if text.strip():
            chunks.setdefault(current, []).append(text.strip("\n"))

    for line in markdown_text.split("\n"):
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING_RE.match(line)
        if heading and heading.group(1) in SECTION_FIELDS:
            flush()
            current, buffer = SECTION_FIELDS[heading.group(1)], []
            continue
        buffer.append(line)
    flush()
    return {name: "\n\n".join(parts).strip() for name, parts in chunks.items()}


def parse_article(text: str) -> dict[str, Any]:
    """Article fields from a Markdown file's text (front matter + sections)."""
    meta, content, _ = _split_front_matter(text)
    unknown = sorted(set(meta) - set(FRONT_MATTER_KEYS) - {"id"})
    if unknown:
        raise MarkdownFormatError(f"front matter 中有未知字段：{', '.join(unknown)}", 2)
    fields: dict[str, Any] = {key: value for key, value in meta.items() if value is not None}
    if "id" in fields and "slug" not in fields:
        fields["slug"] = str(fields.pop("id"))
    fields.pop("id", None)
    if isinstance(fields.get("tags"), str):
        fields["tags"] = [t.strip() for t in re.split(r"[,，]", fields["tags"]) if t.strip()]
    elif isinstance(fields.get("tags"), list):
        fields["tags"] = [str(t) for t in fields["tags"] if t is not None]
    for key in ("category", "product", "component", "environment", "owner", "source_ticket", "title", "slug"):
        if key in fields and not isinstance(fields[key], str):
            fields[key] = str(fields[key])
    fields.update(split_sections(content))
    return fields


def render_article(content: dict[str, Any], slug: str) -> str:
    """A Markdown file that re-imports to the same article."""
    meta: dict[str, Any] = {"slug": slug}
    for key in FRONT_MATTER_KEYS[1:]:
        value = content.get(key)
        if value in (None, "", []):
            continue
        if key == "review_by" and isinstance(value, str):
            value = date.fromisoformat(value)
        meta[key] = value
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)
    parts = ["---", front.rstrip("\n"), "---", ""]
    for field, heading in EXPORT_HEADINGS:
        value = content.get(field) or ""
        if value.strip():
            parts.extend([f"## {heading}", "", value.strip(), ""])
    return "\n".join(parts)
