"""The real corpus, replicated to N articles with unique slugs ``<id>-r<k>`` and slightly varied titles."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_TITLE = 300

# Copy k (k >= 1) of an article gets one of these; copy 0 keeps the original title.
TITLE_VARIANTS: tuple[str, ...] = (
    "{title}（案例 {k}）",
    "{title} - 补充说明 {k}",
    "【第 {k} 版】{title}",
    "{title}（更新 {k}）",
    "常见问题 {k}：{title}",
)


@dataclass(frozen=True)
class SourceArticle:
    """One article of the source corpus."""

    id: str
    title: str
    body: str
    tags: tuple[str, ...]


def load_corpus(path: Path) -> list[SourceArticle]:
    """Every article of a JSON Lines corpus (id, title, body, tags)."""
    articles: list[SourceArticle] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            raw = json.loads(line)
            articles.append(
                SourceArticle(
                    id=str(raw["id"]),
                    title=str(raw["title"]),
                    body=str(raw.get("body", "")),
                    tags=tuple(str(t) for t in raw.get("tags", ())),
                )
            )
    if not articles:
        raise ValueError(f"{path}: the corpus is empty")
    return articles


def replica_slug(article_id: str, copy: int) -> str:
    """The slug of copy ``copy`` of an article."""
    return f"{article_id}-r{copy}"


def vary_title(title: str, copy: int) -> str:
    """Copy 0 keeps the title; later copies get a small, deterministic variation."""
    if copy == 0:
        return title[:MAX_TITLE]
    template = TITLE_VARIANTS[(copy - 1) % len(TITLE_VARIANTS)]
    decorated = template.format(title="{title}", k=copy)
    room = MAX_TITLE - (len(decorated) - len("{title}"))
    return decorated.replace("{title}", title[:room])


def replicate(articles: Sequence[SourceArticle], size: int) -> Iterator[dict[str, Any]]:
    """``size`` import records: copy 0 of every article, then copy 1, and so on."""
    produced = 0
    copy = 0
    while produced < size:
        for article in articles:
            if produced >= size:
                return
            yield {
                "slug": replica_slug(article.id, copy),
                "title": vary_title(article.title, copy),
                "body": article.body,
                "tags": list(article.tags),
            }
            produced += 1
        copy += 1


def write_jsonl(records: Iterator[dict[str, Any]], path: Path) -> int:
    """Write records as JSON Lines; returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False))
            handle.write("\n")
            count += 1
    return count
