"""API fixtures: the real app (lifespan, writer thread) over a real database and index, via TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kb.config import Settings
from kb.context import Services
from tests.conftest import make_token, wait_indexed


@dataclass
class Api:
    """A running app with a token per role."""

    client: TestClient
    services: Services
    tokens: dict[str, str]

    def headers(self, role: str | None) -> dict[str, str]:
        """Authorization header for ``role`` (none for anonymous)."""
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def wait(self) -> None:
        """Wait until the index reflects every committed change."""
        wait_indexed(self.services)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    """The app with viewer, engineer, reviewer, admin and integration tokens."""
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        services: Services = app.state.services
        tokens = {
            role: make_token(services, role) for role in ("viewer", "engineer", "reviewer", "admin", "integration")
        }
        wait_indexed(services)
        yield Api(client, services, tokens)
