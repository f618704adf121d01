"""The `kb` command as an operator runs it: subprocesses on a real data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.engine import ENGINES

REPO = Path(__file__).resolve().parents[2]


ENGINE_FILE = "engine-under-test"


def kb(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `kb ARGS` against ``data_dir`` with the search engine that data dir was set up for."""
    engine_file = data_dir.parent / ENGINE_FILE
    engine = engine_file.read_text() if engine_file.exists() else "whoosh"
    env = {
        **os.environ,
        "KB_DATA_DIR": str(data_dir),
        "KB_IMPORT_CONTENT_ON_FIRST_START": "false",
        "KB_SEARCH_ENGINE": engine,
    }
    result = subprocess.run(
        [sys.executable, "-m", "kb.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module", params=ENGINES)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with content/ imported through the CLI, once per search engine."""
    data_dir = tmp_path_factory.mktemp(f"cli-{request.param}") / "data"
    (data_dir.parent / ENGINE_FILE).write_text(request.param)
    result = kb(data_dir, "import", str(REPO / "content"))
    assert "新增 64 篇" in result.stdout or "新增" in result.stdout
    return data_dir


class TestImportAndSearch:
    def test_search_prints_json_with_the_documented_hit_shape(self, loaded: Path) -> None:
        result = kb(loaded, "search", "Nginx 502", "--json")
        body = json.loads(result.stdout)
        assert body["hits"][0]["slug"] == "nginx-502-bad-gateway-connection-refused"
        assert {"slug", "title", "score", "snippet", "tags", "status", "updated_at"} <= set(body["hits"][0])

    def test_search_prints_a_table_by_default(self, loaded: Path) -> None:
        assert "nginx-502-bad-gateway" in kb(loaded, "search", "Nginx 502").stdout

    def test_import_reports_broken_lines_and_exits_non_zero_but_imports_the_rest(
        self, loaded: Path, tmp_path: Path
    ) -> None:
        path = tmp_path / "mixed.jsonl"
        path.write_text(
            '{"id": "cli-ok", "title": "CLI 导入的文章 cliunique", "body": "x"}\n{broken\n', encoding="utf-8"
        )
        result = kb(loaded, "import", str(path), check=False)
        assert result.returncode == 1
        # rich wraps long lines at the terminal width, so compare without whitespace.
        assert "".join(f"{path} 第 2 行".split()) in "".join(result.stderr.split())
        assert json.loads(kb(loaded, "search", "cliunique", "--json").stdout)["total"] == 1

    def test_export_and_reindex(self, loaded: Path, tmp_path: Path) -> None:
        kb(loaded, "export", str(tmp_path / "out"))
        assert len(list((tmp_path / "out").glob("*.md"))) >= 64
        assert "索引已重建" in kb(loaded, "reindex").stdout
        assert json.loads(kb(loaded, "search", "ORA-00942", "--json").stdout)["total"] >= 1


class TestTokens:
    def test_create_prints_the_token_on_the_last_line_then_list_and_revoke(self, loaded: Path) -> None:
        created = kb(loaded, "token", "create", "--role", "reviewer", "--name", "审核员")
        token = created.stdout.strip().splitlines()[-1]
        assert token.startswith("kb_") and len(token) > 30
        listing = kb(loaded, "token", "list").stdout
        assert "审核员" in listing and token not in listing
        token_id = created.stderr.split("#")[1].split("（")[0]
        kb(loaded, "token", "revoke", token_id)
        assert "已吊销" in kb(loaded, "token", "list").stdout

    def test_an_unknown_role_is_a_clear_error(self, loaded: Path) -> None:
        result = kb(loaded, "token", "create", "--role", "superuser", "--name", "x", check=False)
        assert result.returncode == 1
        assert "未知角色" in result.stderr


class TestSwitchingEngines:
    def test_switching_is_one_setting_plus_reindex(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "data"
        (tmp_path / ENGINE_FILE).write_text("whoosh")
        kb(data_dir, "import", str(REPO / "content"))
        assert json.loads((data_dir / "index" / "CURRENT").read_text())["engine"] == "whoosh"
        (tmp_path / ENGINE_FILE).write_text("tantivy")
        assert "索引已重建：64 篇文章" in kb(data_dir, "reindex").stdout
        assert json.loads((data_dir / "index" / "CURRENT").read_text())["engine"] == "tantivy"
        hits = json.loads(kb(data_dir, "search", "印表機離線", "--json").stdout)["hits"]
        assert hits[0]["slug"] == "printer-offline-spooler-queue-stuck"
