"""`kb import`: Markdown files/folders and JSON Lines, upserted by slug; bad items are reported, not fatal."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from kb.article import markdown_io, service
from kb.article.models import Article
from kb.article.schemas import ArticleImport
from kb.db import Database

BATCH_SIZE = 200


@dataclass(frozen=True)
class ImportProblem:
    """Why one file or line was not imported."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source} 第 {self.line} 行" if self.line else self.source
        return f"{where}：{self.message}"


@dataclass
class ImportReport:
    """What an import did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def imported(self) -> int:
        """Articles created or updated."""
        return self.created + self.updated


@dataclass(frozen=True)
class _Item:
    source: str
    line: int | None
    data: ArticleImport | None = None
    problem: str | None = None


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "文章"
        parts.append(f"字段 {where}：{item['msg']}")
    return "；".join(parts)


def _validated(source: str, line: int | None, raw: dict[str, Any]) -> _Item:
    try:
        return _Item(source, line, data=ArticleImport.model_validate(raw))
    except ValidationError as exc:
        return _Item(source, line, problem=_describe(exc))


def expand_paths(paths: Iterable[Path]) -> tuple[list[Path], list[ImportProblem]]:
    """Files to import: .md and .jsonl files, folders searched recursively."""
    files: list[Path] = []
    problems: list[ImportProblem] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".md", ".jsonl") and p.is_file()))
        elif path.is_file() and path.suffix in (".md", ".markdown", ".jsonl"):
            files.append(path)
        elif path.exists():
            problems.append(ImportProblem(str(path), None, "不支持的文件类型（只接受 .md 和 .jsonl）"))
        else:
            problems.append(ImportProblem(str(path), None, "文件或目录不存在"))
    return files, problems


def _markdown_item(path: Path) -> _Item:
    try:
        fields = markdown_io.parse_article(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return _Item(str(path), None, problem="文件不是 UTF-8 编码")
    except markdown_io.MarkdownFormatError as exc:
        return _Item(str(path), exc.line, problem=str(exc))
    fields.setdefault("slug", path.stem.lower())
    return _validated(str(path), None, fields)


def _jsonl_items(path: Path) -> Iterator[_Item]:
    with open(path, encoding="utf-8", errors="strict") as handle:
        try:
            for number, raw_line in enumerate(handle, start=1):
                if not raw_line.strip():
                    continue
                try:
                    raw = json.loads(raw_line)
                except json.JSONDecodeError as exc:
                    yield _Item(str(path), number, problem=f"不是合法的 JSON：{exc.msg}（第 {exc.colno} 列）")
                    continue
                if not isinstance(raw, dict):
                    yield _Item(str(path), number, problem="每行必须是一个 JSON 对象")
                    continue
                if "slug" not in raw and "id" in raw:
                    raw["slug"] = str(raw["id"])
                yield _validated(str(path), number, raw)
        except UnicodeDecodeError:
            yield _Item(str(path), None, problem="文件不是 UTF-8 编码")


def _items(files: list[Path]) -> Iterator[_Item]:
    for path in files:
        if path.suffix == ".jsonl":
            yield from _jsonl_items(path)
        else:
            yield _markdown_item(path)


def count_items(files: list[Path]) -> int:
    """How many articles the files hold (for the progress bar)."""
    total = 0
    for path in files:
        if path.suffix == ".jsonl":
            with open(path, "rb") as handle:
                total += sum(1 for line in handle if line.strip())
        else:
            total += 1
    return total


def import_files(
    db: Database,
    files: list[Path],
    *,
    actor: str,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Imports in batches; each article in its own savepoint, so one bad item never spoils the rest."""
    report = ImportReport()
    batch: list[_Item] = []

    def flush() -> None:
        if not batch:
            return
        with db.session() as session:
            for item in batch:
                assert item.data is not None
                try:
                    with session.begin_nested():
                        outcome = service.import_article(session, item.data, actor)
                except Exception as exc:
                    report.problems.append(ImportProblem(item.source, item.line, f"保存失败：{exc}"))
                    continue
                setattr(report, outcome, getattr(report, outcome) + 1)
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for item in _items(files):
        if item.problem is not None:
            report.problems.append(ImportProblem(item.source, item.line, item.problem))
            if progress is not None:
                progress(1)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    flush()
    return report


def export_all(db: Database, directory: Path) -> int:
    """Writes every article as <slug>.md with front matter; re-importing gives the same state."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    with db.session(write=False) as session:
        for article in session.scalars(select(Article).order_by(Article.slug)).yield_per(500):
            text = markdown_io.render_article(article.content(), article.slug)
            (directory / f"{article.slug}.md").write_text(text, encoding="utf-8")
            count += 1
    return count
