"""Feeding the index from the database: the single writer loop and full rebuilds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from sqlalchemy import func, select

from indexer.documents import IndexableDocument
from indexer.engine import SearchEngine
from indexer.store import IndexChange, IndexHealth, WriterBusy
from kb.article.models import Article
from kb.db import Database
from kb.search import outbox

log = logging.getLogger(__name__)
APPLY_BATCH = 500


def to_document(article: Article) -> IndexableDocument:
    """The index's view of an article: title, symptoms, tags, and the rest as body."""
    body = "\n\n".join(part for part in (article.cause, article.resolution, article.prevention, article.body) if part)
    return IndexableDocument(
        slug=article.slug,
        title=article.title,
        status=article.status,
        updated_at=article.updated_at,
        symptoms=article.symptoms,
        body=body,
        tags=tuple(article.tags or ()),
        category=article.category,
        product=article.product,
        owner=article.owner,
        author=article.created_by,
    )


def _all_documents(db: Database) -> Iterator[IndexableDocument]:
    with db.session(write=False) as session:
        for article in session.scalars(select(Article).order_by(Article.id)).yield_per(500):
            yield to_document(article)


def article_count(db: Database) -> int:
    """Articles in the database."""
    with db.session(write=False) as session:
        return int(session.scalar(select(func.count(Article.id))) or 0)


def rebuild(db: Database, index: SearchEngine, progress: Callable[[int], None] | None = None) -> IndexHealth:
    """Builds a new index generation from the database and swaps it in."""
    with db.session(write=False) as session:
        position = outbox.latest_position(session)
    return index.rebuild(_all_documents(db), position, progress)


def apply_pending(db: Database, index: SearchEngine) -> int:
    """Applies every change after the index's position, in order; returns how many were applied."""
    applied = 0
    while True:
        start = index.position()
        with db.session(write=False) as session:
            rows = outbox.pending_changes(session, start, APPLY_BATCH)
            if not rows:
                return applied
            slugs = list(dict.fromkeys(row.slug for row in rows))
            articles = {a.slug: a for a in session.scalars(select(Article).where(Article.slug.in_(slugs)))}
            changes = [IndexChange(slug, to_document(articles[slug]) if slug in articles else None) for slug in slugs]
            last_position = rows[-1].id
        index.apply(changes, last_position)
        applied += len(rows)


class IndexWriterLoop:
    """The one thread per data dir that owns the index writer: (re)builds at start, then follows the outbox."""

    def __init__(self, db: Database, index: SearchEngine, poll_seconds: float = 0.2) -> None:
        self.db = db
        self.index = index
        self.poll_seconds = poll_seconds
        self.state = "starting"
        self.detail = ""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start following the outbox in a daemon thread (if this process can become the writer)."""
        self._thread = threading.Thread(target=self._run, name="index-writer", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Wake the writer after a commit so the change is searchable sooner."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the loop and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def ensure_index(self) -> None:
        """Rebuild when the index is missing, corrupt or from another schema version."""
        health = self.index.open()
        if health.state != "ok":
            self.state = "rebuilding"
            self.detail = f"{health.detail}；正在从数据库重建"
            log.warning("index %s: %s; rebuilding from the database", health.state, health.detail)
            rebuild(self.db, self.index)
        self.state = "ok"
        self.detail = ""

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.index.acquire_writer()
                break
            except WriterBusy:
                self.state = "reader"
                self._stop.wait(1.0)
        else:
            return
        try:
            self.ensure_index()
        except Exception as exc:
            log.exception("index rebuild failed")
            self.state, self.detail = "failed", f"索引重建失败：{exc}"
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            try:
                apply_pending(self.db, self.index)
                if self.state != "ok":
                    self.state, self.detail = "ok", ""
            except Exception as exc:
                log.exception("applying index changes failed")
                self.state, self.detail = "degraded", f"索引更新失败，稍后重试：{exc}"
                try:
                    if self.index.open().state != "ok":
                        self.ensure_index()
                except Exception:
                    log.exception("index recovery failed")
                self._stop.wait(1.0)
        self.index.release_writer()
