"""Start-up orchestration: first-start content import and the first-admin hint."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

from kb.article import importer
from kb.auth import service as auth_service
from kb.context import Services
from kb.search.indexing import article_count

log = logging.getLogger(__name__)
MARKER = ".content-imported"


@contextlib.contextmanager
def first_start_lock(data_dir: Path) -> Iterator[None]:
    """Serialise first-start work between worker processes sharing a data dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "first-start.lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def import_default_content(services: Services) -> importer.ImportReport | None:
    """On an empty data dir, import the embedded knowledge base (content/) once."""
    settings = services.settings
    marker = settings.data_dir / MARKER
    if not settings.import_content_on_first_start or marker.exists():
        return None
    if article_count(services.db) > 0:
        marker.touch()
        return None
    files, problems = importer.expand_paths([Path(settings.content_dir)])
    report = importer.import_files(services.db, files, actor="system:first-start")
    report.problems[:0] = problems
    for problem in report.problems:
        log.warning("content import: %s", problem)
    marker.touch()
    services.notify_changed()
    return report


def bootstrap_admin(services: Services) -> str | None:
    """On first start (no admin token yet) create one random admin token and return it, to be shown once.

    There is no default password: the token is random, stored only as a hash, and printed once on the
    operator's console. Later admins are made with ``kb token create --role admin``.
    """
    with services.db.session() as session:
        if auth_service.has_admin_token(session):
            return None
        _token, secret = auth_service.create_token(session, name="初始管理员", role="admin", actor="system:first-start")
    return secret
