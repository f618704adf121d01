"""Shared fixtures: real SQLite files (and PostgreSQL via KB_TEST_POSTGRES_URL), real indexes of both engines."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from indexer import analysis
from indexer.engine import ENGINES
from kb.auth import service as auth_service
from kb.config import Settings
from kb.context import Services, build_services
from kb.search import indexing, outbox

REPO = Path(__file__).resolve().parent.parent
JIEBA_CACHE = REPO / ".pytest_cache" / "jieba"
POSTGRES_URL = os.environ.get("KB_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(scope="session", autouse=True)
def _jieba() -> None:
    analysis.initialize(JIEBA_CACHE)


def _postgres_schema_url(schema: str) -> str:
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database per test: a SQLite file, or a new schema on the PostgreSQL test server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kb.sqlite3'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_settings(data_dir: Path, database_url: str, **overrides: object) -> Settings:
    """Settings for a test data dir (no first-start import unless asked)."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "import_content_on_first_start": False,
        "index_poll_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=ENGINES)
def search_engine(request: pytest.FixtureRequest) -> str:
    """Each search engine in turn (KB_SEARCH_ENGINE)."""
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, search_engine: str) -> Settings:
    """Settings on a fresh data dir and database, for each search engine."""
    return make_settings(tmp_path / "data", database_url, search_engine=search_engine)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Services without the writer thread; call sync_index() to bring the index up to date."""
    built = build_services(settings)
    yield built
    built.close()


def sync_index(services: Services) -> None:
    """Apply every pending change to the index, as the single writer would."""
    index = services.index
    held = index.is_writer
    if not held:
        index.acquire_writer()
    try:
        if index.open().state != "ok":
            indexing.rebuild(services.db, index)
        indexing.apply_pending(services.db, index)
    finally:
        if not held:
            index.release_writer()


def wait_indexed(services: Services, timeout: float = 10.0) -> None:
    """Wait until the writer thread has applied every committed change."""
    with services.db.session(write=False) as session:
        target = outbox.latest_position(session)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if services.index.is_open and services.index.position() >= target:
            return
        time.sleep(0.02)
    raise AssertionError(f"index did not reach position {target} within {timeout}s")


def make_token(services: Services, role: str, name: str | None = None) -> str:
    """A fresh token secret for ``role``."""
    with services.db.session() as session:
        _token, secret = auth_service.create_token(session, name=name or f"{role}-user", role=role, actor="test")
    return secret
