"""Several processes editing and searching at once: no lost update, no LockError, no server error."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from kb.article import service
from kb.article.models import Article, ArticleVersion
from kb.article.schemas import ArticleCreate, ArticleUpdate
from kb.auth.permissions import Principal
from kb.db import Database
from tests.servers import Server, create_token

REVIEWER = Principal("并发测试", "reviewer")
WRITERS = 6
INCREMENTS = 25


def _increment(url: str, count: int) -> None:
    db = Database(url)
    db.create_all()
    for _ in range(count):
        with db.session() as session:
            article = session.scalar(select(Article).where(Article.slug == "counter").with_for_update())
            assert article is not None
            value = int(article.symptoms)
            service.update_article(session, "counter", ArticleUpdate(symptoms=str(value + 1)), REVIEWER)
    db.dispose()


@pytest.mark.slow
class TestDatabaseWriters:
    def test_concurrent_read_modify_write_transactions_lose_nothing(self, database_url: str) -> None:
        db = Database(database_url)
        db.create_all()
        with db.session() as session:
            service.create_article(session, ArticleCreate(slug="counter", title="计数器", symptoms="0"), REVIEWER)
        context = multiprocessing.get_context("spawn")
        workers = [context.Process(target=_increment, args=(database_url, INCREMENTS)) for _ in range(WRITERS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=240)
            assert worker.exitcode == 0
        with db.session(write=False) as session:
            article = session.scalar(select(Article).where(Article.slug == "counter"))
            assert article is not None
            assert int(article.symptoms) == WRITERS * INCREMENTS
            versions = session.scalars(select(ArticleVersion.version).where(ArticleVersion.article_id == article.id))
            assert sorted(versions) == list(range(1, WRITERS * INCREMENTS + 2))
        db.dispose()


def _http_increment(url: str, token: str, count: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    statuses: list[int] = []
    done = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while done < count:
            current = client.get("/api/v1/articles/counter")
            statuses.append(current.status_code)
            body = current.json()
            update = client.patch(
                "/api/v1/articles/counter",
                json={"symptoms": str(int(body["symptoms"]) + 1), "expected_version": body["version"]},
            )
            statuses.append(update.status_code)
            if update.status_code == 200:
                done += 1
    results.put(statuses)


def _http_search(url: str, token: str, seconds: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    statuses: list[int] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while time.monotonic() < deadline:
            response = client.get("/api/v1/search", params={"q": "计数器 并发"})
            statuses.append(response.status_code)
            if response.status_code == 200:
                assert response.json()["total"] >= 1
    results.put(statuses)


@pytest.mark.slow
class TestHttpWithSeveralWorkers:
    def test_two_workers_four_editors_two_searchers(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "data"
        server = Server(data_dir, workers=2)
        try:
            server.wait_ready()
            token = create_token(data_dir, "reviewer", "并发编辑")
            created = httpx.post(
                f"{server.url}/api/v1/articles",
                headers={"Authorization": f"Bearer {token}"},
                json={"slug": "counter", "title": "计数器 并发测试", "symptoms": "0", "status": "published"},
            )
            assert created.status_code == 201
            time.sleep(1.0)
            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            editors = [context.Process(target=_http_increment, args=(server.url, token, 15, results)) for _ in range(4)]
            searchers = [context.Process(target=_http_search, args=(server.url, token, 8.0, results)) for _ in range(2)]
            for process in editors + searchers:
                process.start()
            statuses: list[int] = []
            for _ in editors + searchers:
                statuses.extend(results.get(timeout=240))
            for process in editors + searchers:
                process.join(timeout=30)
                assert process.exitcode == 0
            assert set(statuses) <= {200, 409}, sorted(set(statuses))
            final = httpx.get(
                f"{server.url}/api/v1/articles/counter", headers={"Authorization": f"Bearer {token}"}
            ).json()
            assert int(final["symptoms"]) == 60
            assert final["version"] == 61
        finally:
            server.stop()
        log = server.log()
        assert "LockError" not in log
        assert "Traceback" not in log
