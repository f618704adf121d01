"""End-to-end fixtures: the real service in a subprocess, tokens from the real CLI, headless Chromium.

One service (and one browser) is shared by the whole e2e session: starting it imports the 64 articles of
``content/``, which is the slow part. Tests that publish or attack create their own articles, so that
``e2e-draft-vpn`` (created here) stays a draft for the whole session and the order of tests does not matter.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.servers import free_port, uvicorn_command

REPO = Path(__file__).resolve().parents[2]
CONTENT_ARTICLES = len(list((REPO / "content").glob("*.md")))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT = 60.0
INDEX_TIMEOUT = 10.0
BROWSER_TIMEOUT_MS = 10_000

DRAFT_SLUG = "e2e-draft-vpn"
DRAFT_TERM = "E2E测试专用词"
DRAFT_ONLY_WORD = "GlobalProtect"  # in the draft's symptoms and in no article of content/
DRAFT = {
    "slug": DRAFT_SLUG,
    "title": f"草稿：VPN 客户端报错 {DRAFT_TERM}",
    "symptoms": f"{DRAFT_ONLY_WORD} 客户端连接后立即断开，日志出现 gateway timeout。仅用于端到端测试。",
    "tags": ["vpn"],
}
TOKEN_NAMES = {"reviewer": "审核员甲", "viewer": "查看者乙", "engineer": "工程师丙"}


@dataclass
class LiveServer:
    """A running service: where it listens, the env it runs with, and a token per role."""

    base_url: str
    env: dict[str, str]
    data_dir: Path
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, role: str) -> httpx.Client:
        """An HTTP client authenticated as ``role`` (the caller closes it)."""
        return httpx.Client(
            base_url=self.base_url, timeout=10.0, headers={"Authorization": f"Bearer {self.tokens[role]}"}
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of the service's log, for failure messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def search_slugs(self, role: str, query: str) -> list[str]:
        """Slugs of the first page of API search hits for ``query`` as ``role``."""
        with self.client(role) as client:
            response = client.get("/api/v1/search", params={"q": query, "limit": 50})
        assert response.status_code == 200, f"search {query!r} -> {response.status_code}: {response.text}"
        return [hit["slug"] for hit in response.json()["hits"]]

    def wait_until_searchable(self, role: str, query: str, slug: str, timeout: float = INDEX_TIMEOUT) -> None:
        """Poll the search API until ``slug`` is a hit for ``query`` (the index is updated asynchronously)."""
        deadline = time.monotonic() + timeout
        slugs: list[str] = []
        while time.monotonic() < deadline:
            slugs = self.search_slugs(role, query)
            if slug in slugs:
                return
            time.sleep(0.1)
        raise AssertionError(
            f"{slug!r} not found by {query!r} as {role} within {timeout}s (hits: {slugs})\n{self.log_tail()}"
        )

    def create_article(self, role: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /api/v1/articles as ``role``; returns the created article."""
        with self.client(role) as client:
            response = client.post("/api/v1/articles", json=payload)
        assert response.status_code == 201, f"create {payload.get('slug')} -> {response.status_code}: {response.text}"
        created: dict[str, Any] = response.json()
        return created


def _service_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(
        {
            "KB_DATA_DIR": str(data_dir),
            "KB_IMPORT_CONTENT_ON_FIRST_START": "true",
            "KB_CONTENT_DIR": str(REPO / "content"),
            "KB_HOST": "127.0.0.1",
            "KB_PORT": str(port),
            "KB_ALLOW_ANONYMOUS_READ": "false",
            "KB_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _start(server: LiveServer, port: int) -> subprocess.Popen[bytes]:
    command = uvicorn_command(port)
    with open(server.log_path, "ab") as log:
        return subprocess.Popen(
            command, cwd=REPO, env=server.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_ready(server: LiveServer, process: subprocess.Popen[bytes], min_documents: int = 0) -> None:
    """Wait until GET /readyz is 200 (and the index holds ``min_documents``), or fail with the log."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer"
    with httpx.Client(base_url=server.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"service exited with {process.returncode} during start-up:\n{server.log_tail()}")
            try:
                response = client.get("/readyz")
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                last = f"{response.status_code} {response.text}"
                if response.status_code == 200:
                    documents = response.json()["checks"]["index"].get("documents", 0)
                    if documents >= min_documents:
                        return
            time.sleep(0.1)
    pytest.fail(f"service not ready within {STARTUP_TIMEOUT}s (last /readyz: {last}):\n{server.log_tail()}")


def _create_tokens(env: dict[str, str]) -> dict[str, str]:
    """Run ``kb token create`` for each role (in parallel); the secret is the last line of stdout."""
    processes = {
        role: subprocess.Popen(
            [sys.executable, "-m", "kb.cli", "token", "create", "--role", role, "--name", name],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role, name in TOKEN_NAMES.items()
    }
    tokens: dict[str, str] = {}
    for role, process in processes.items():
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, f"kb token create --role {role} failed:\n{stdout}\n{stderr}"
        lines = stdout.strip().splitlines()
        assert lines, f"kb token create --role {role} printed nothing on stdout:\n{stderr}"
        tokens[role] = lines[-1].strip()
    return tokens


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real service on a free port, on a fresh data dir, with content/ imported on first start."""
    data_dir = tmp_path_factory.mktemp("e2e") / "data"
    port = free_port()
    server = LiveServer(
        base_url=f"http://127.0.0.1:{port}",
        env=_service_env(data_dir, port),
        data_dir=data_dir,
        log_path=data_dir.parent / "service.log",
    )

    process = _start(server, port)
    try:
        # Ready, and the first-start import of content/ is searchable (the import is indexed asynchronously).
        _wait_ready(server, process, min_documents=CONTENT_ARTICLES)
        server.tokens = _create_tokens(server.env)
        server.create_article("reviewer", DRAFT)
        server.wait_until_searchable("reviewer", DRAFT_TERM, DRAFT_SLUG)
        yield server
    finally:
        _stop(process)


# --- browser ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright (skipped without it, unless CI is set)."""
    if shutil.which(str(CHROMIUM)) is None:
        reason = f"{CHROMIUM} not found: install Debian's chromium package to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


NewContext = Callable[..., BrowserContext]


@pytest.fixture
def new_context(browser: Browser, live_server: LiveServer) -> Iterator[NewContext]:
    """Factory of fresh browser contexts (own cookies) on the service; all closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(base_url=live_server.base_url, locale="zh-CN", **options)
        context.set_default_timeout(BROWSER_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def login(context: BrowserContext, token: str) -> Page:
    """Sign in through the /login form (token typed into the password field); returns the page."""
    page = context.new_page()
    page.goto("/login")
    page.locator("input[type=password]#token").fill(token)
    with page.expect_navigation():
        page.locator("section.login button[type=submit]").click()
    assert urlsplit(page.url).path == "/", f"login did not land on the search page: {page.url}"
    assert page.locator("header .who").count() == 1, "not logged in: no user name in the header"
    return page


@pytest.fixture
def viewer_page(new_context: NewContext, live_server: LiveServer) -> Page:
    """A page logged in as the viewer (in its own browser context)."""
    return login(new_context(), live_server.tokens["viewer"])


@pytest.fixture
def reviewer_page(new_context: NewContext, live_server: LiveServer) -> Page:
    """A page logged in as the reviewer (in its own browser context)."""
    return login(new_context(), live_server.tokens["reviewer"])
