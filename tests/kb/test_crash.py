"""kill -9 during a bulk import, restart: the database and the index agree on every article."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from indexer.documents import SearchRequest
from indexer.engine import create_engine
from kb.article.models import Article
from kb.config import Settings
from kb.db import Database
from kb.search import outbox
from tests.servers import REPO, Server, service_env

ARTICLES = 4000


def write_corpus(path: Path) -> None:
    """A bulk-import file of generated but realistic articles."""
    topics = [
        "Nginx 502",
        "MySQL 死锁",
        "磁盘满",
        "VPN 连接失败",
        "打印机脱机",
        "Kafka 积压",
        "证书过期",
        "OOM",
    ]
    with open(path, "w", encoding="utf-8") as handle:
        for number in range(ARTICLES):
            topic = topics[number % len(topics)]
            handle.write(
                json.dumps(
                    {
                        "id": f"bulk-{number:05d}",
                        "title": f"{topic} 案例 {number}",
                        "body": f"第 {number} 号案例：{topic} 的排查步骤与解决方案。错误码 E{number:05d}。",
                        "tags": [topic.split()[0].lower(), "bulk"],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )


def database_state(data_dir: Path) -> dict[str, tuple[str, str]]:
    """slug -> (title, status) in the database."""
    db = Database(Settings(data_dir=data_dir).database_url)
    with db.session(write=False) as session:
        state = {a.slug: (a.title, a.status) for a in session.scalars(select(Article))}
    db.dispose()
    return state


ALL_STATUSES = ("draft", "in_review", "published", "retired")


def index_state(data_dir: Path, engine: str) -> dict[str, tuple[str, str]]:
    """slug -> (title, status) in the index."""
    index = create_engine(engine, data_dir / "index")
    assert index.open().state == "ok"
    result = index.search(SearchRequest("", limit=ARTICLES * 2, statuses=ALL_STATUSES, with_facets=False))
    state = {hit.slug: (hit.title, hit.status) for hit in result.hits}
    assert result.total == len(state)
    index.close()
    return state


def wait_until_caught_up(data_dir: Path, engine: str, timeout: float = 120.0) -> None:
    """Wait until the index has applied the whole change log."""
    db = Database(Settings(data_dir=data_dir).database_url)
    with db.session(write=False) as session:
        target = outbox.latest_position(session)
    db.dispose()
    index = create_engine(engine, data_dir / "index")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        index.open()
        if index.is_open and index.position() >= target:
            return
        time.sleep(0.2)
    raise AssertionError("index did not catch up after restart")


@pytest.mark.slow
class TestCrashDuringBulkImport:
    def test_kill_9_of_importer_and_service_then_restart(self, tmp_path: Path, search_engine: str) -> None:
        data_dir = tmp_path / "data"
        corpus = tmp_path / "bulk.jsonl"
        write_corpus(corpus)
        engine_env = {"KB_SEARCH_ENGINE": search_engine}
        server = Server(data_dir, **engine_env)
        server.wait_ready()
        importer = subprocess.Popen(
            [sys.executable, "-m", "kb.cli", "import", str(corpus)],
            cwd=REPO,
            env=service_env(data_dir, **engine_env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while len(database_state(data_dir)) < 600 and time.monotonic() < deadline:
            time.sleep(0.2)
        os.killpg(importer.pid, signal.SIGKILL)
        server.kill()
        importer.wait(timeout=10)
        partial = database_state(data_dir)
        assert 0 < len(partial) < ARTICLES, "the crash should interrupt the import"

        restarted = Server(data_dir, **engine_env)
        try:
            restarted.wait_ready()
            wait_until_caught_up(data_dir, search_engine)
            assert index_state(data_dir, search_engine) == database_state(data_dir)
        finally:
            restarted.stop()

    def test_a_corrupted_index_is_rebuilt_at_start(self, tmp_path: Path, search_engine: str) -> None:
        data_dir = tmp_path / "data"
        corpus = tmp_path / "bulk.jsonl"
        write_corpus(corpus)
        subprocess.run(
            [sys.executable, "-m", "kb.cli", "import", str(corpus)],
            cwd=REPO,
            env=service_env(data_dir, KB_SEARCH_ENGINE=search_engine),
            capture_output=True,
            check=True,
            timeout=300,
        )
        pointer = json.loads((data_dir / "index" / "CURRENT").read_text())
        for path in (data_dir / "index" / pointer["generation"]).iterdir():
            if path.is_file() and path.name != "state.json":
                path.write_bytes(b"\0" * 64)
        server = Server(data_dir, KB_SEARCH_ENGINE=search_engine)
        try:
            server.wait_ready()
            wait_until_caught_up(data_dir, search_engine)
            assert index_state(data_dir, search_engine) == database_state(data_dir)
            assert "rebuilding" in server.log()
        finally:
            server.stop()
