"""`kb import` / `kb export`: Markdown and JSON Lines, upsert by slug, clear errors, idempotence, round trip."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from kb.article import importer, markdown_io
from kb.article.models import Article, ArticleVersion
from kb.context import Services
from kb.search import outbox

REPO = Path(__file__).resolve().parents[3]
CONTENT = REPO / "content"


def run_import(services: Services, *paths: Path) -> importer.ImportReport:
    """Import paths the way `kb import` does."""
    files, problems = importer.expand_paths(list(paths))
    report = importer.import_files(services.db, files, actor="test")
    report.problems[:0] = problems
    return report


def state(services: Services) -> dict[str, dict[str, object]]:
    """Every article's content, by slug."""
    with services.db.session(write=False) as session:
        return {a.slug: a.content() for a in session.scalars(select(Article))}


class TestShippedContent:
    def test_every_shipped_article_imports_cleanly_and_is_published(self, services: Services) -> None:
        report = run_import(services, CONTENT)
        assert report.problems == []
        assert report.created >= 60
        articles = state(services)
        assert all(a["status"] == "published" for a in articles.values())
        assert all(a["symptoms"] and a["cause"] and a["resolution"] and a["prevention"] for a in articles.values())

    def test_importing_twice_changes_nothing(self, services: Services) -> None:
        run_import(services, CONTENT)
        with services.db.session(write=False) as session:
            position = outbox.latest_position(session)
            versions = len(list(session.scalars(select(ArticleVersion.id))))
        second = run_import(services, CONTENT)
        assert (second.created, second.updated) == (0, 0)
        assert second.unchanged >= 60
        with services.db.session(write=False) as session:
            assert outbox.latest_position(session) == position
            assert len(list(session.scalars(select(ArticleVersion.id)))) == versions


class TestRoundTrip:
    def test_export_then_import_into_an_empty_database_gives_the_identical_state(
        self, services: Services, tmp_path: Path
    ) -> None:
        run_import(services, CONTENT)
        (tmp_path / "extra.jsonl").write_text(
            json.dumps(
                {
                    "id": "draft-with-body",
                    "title": "草稿：含正文与代码",
                    "status": "draft",
                    "body": "前言\n\n## 参考\n\n```bash\n# 注释不是标题\nls -la\n```",
                    "tags": ["x", "502"],
                    "review_by": "2027-01-31",
                    "source_ticket": "INC-1",
                },
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
        run_import(services, tmp_path / "extra.jsonl")
        original = state(services)
        exported = tmp_path / "export"
        assert importer.export_all(services.db, exported) == len(original)
        with services.db.session() as session:
            for article in session.scalars(select(Article)):
                session.delete(article)
        report = run_import(services, exported)
        assert report.problems == []
        assert state(services) == original

    def test_re_importing_an_export_into_the_same_database_is_a_no_op(self, services: Services, tmp_path: Path) -> None:
        run_import(services, CONTENT)
        importer.export_all(services.db, tmp_path / "out")
        report = run_import(services, tmp_path / "out")
        assert report.imported == 0


class TestJsonLines:
    def test_upserts_by_id_or_slug_with_published_default(self, services: Services, tmp_path: Path) -> None:
        path = tmp_path / "a.jsonl"
        lines = [
            {"id": "tikv-busy", "title": "TiKV server is busy", "body": "扩容 TiKV", "tags": ["tidb"]},
            {
                "slug": "ora-1",
                "title": "ORA-00001 唯一约束",
                "body": "b",
                "status": "in_review",
                "category": "数据库",
            },
        ]
        path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
        assert run_import(services, path).created == 2
        articles = state(services)
        assert articles["tikv-busy"]["status"] == "published"
        assert articles["ora-1"]["status"] == "in_review"
        path.write_text(
            json.dumps(
                {"id": "tikv-busy", "title": "TiKV server is busy（更新）", "body": "扩容"},
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
        report = run_import(services, path)
        assert (report.created, report.updated) == (0, 1)

    def test_broken_lines_are_reported_with_file_and_line_and_the_rest_imports(
        self, services: Services, tmp_path: Path
    ) -> None:
        path = tmp_path / "mixed.jsonl"
        path.write_text(
            "\n".join(
                [
                    json.dumps({"id": "ok-1", "title": "正常文章一", "body": "x"}),
                    "{not json",
                    json.dumps({"id": "Bad Slug!", "title": "坏 slug", "body": "x"}),
                    json.dumps({"id": "no-title", "body": "x"}),
                    json.dumps(["not", "an", "object"]),
                    json.dumps({"id": "ok-2", "title": "正常文章二", "body": "y", "tags": ["a,b"]}),
                    json.dumps({"id": "ok-3", "title": "正常文章三", "body": "z"}),
                ]
            )
            + "\n",
            encoding="utf-8",
        )
        report = run_import(services, path)
        assert report.created == 2
        assert sorted(state(services)) == ["ok-1", "ok-3"]
        where = [(p.line, p.message) for p in report.problems]
        assert [line for line, _ in where] == [2, 3, 4, 5, 6]
        assert all(p.source == str(path) for p in report.problems)
        assert "JSON" in where[0][1]
        assert "slug" in where[1][1]
        assert "title" in where[2][1]
        assert "逗号" in where[4][1]


class TestMarkdownFiles:
    def test_broken_front_matter_names_the_file_and_line(self, services: Services, tmp_path: Path) -> None:
        (tmp_path / "good.md").write_text("---\ntitle: 好文章\n---\n\n## 故障现象\n\n现象\n", encoding="utf-8")
        (tmp_path / "bad-yaml.md").write_text("---\ntitle: 坏\ntags: [a, b\n---\n正文\n", encoding="utf-8")
        (tmp_path / "no-front.md").write_text("# 只有正文\n", encoding="utf-8")
        (tmp_path / "unknown.md").write_text("---\ntitle: t\ncolour: red\n---\n", encoding="utf-8")
        report = run_import(services, tmp_path)
        assert sorted(state(services)) == ["good"]
        problems = {Path(p.source).name: p for p in report.problems}
        assert set(problems) == {"bad-yaml.md", "no-front.md", "unknown.md"}
        assert problems["bad-yaml.md"].line is not None
        assert "YAML" in problems["bad-yaml.md"].message
        assert "colour" in problems["unknown.md"].message

    def test_missing_paths_and_unsupported_files_are_reported(self, services: Services, tmp_path: Path) -> None:
        (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
        report = run_import(services, tmp_path / "nope", tmp_path / "notes.txt")
        assert [Path(p.source).name for p in report.problems] == ["nope", "notes.txt"]

    def test_sections_map_to_fields_and_code_block_headings_are_ignored(self) -> None:
        fields = markdown_io.parse_article(
            "---\nslug: s\ntitle: T\ntags: [0x80070005, 502]\n---\n前言\n\n## 故障现象\n\n现象\n\n## 排查步骤\n\n"
            "```bash\n## 原因\necho hi\n```\n\n## 参考\n\n链接\n\n## 预防措施\n\n监控\n"
        )
        assert fields["tags"] == ["0x80070005", "502"]
        assert fields["symptoms"] == "现象"
        assert fields["resolution"].startswith("```bash\n## 原因")
        assert "## 参考" in fields["resolution"]
        assert fields["prevention"] == "监控"
        assert fields["body"] == "前言"
        assert "cause" not in fields
