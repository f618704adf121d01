"""The long-lived objects of one process: settings, database, index, searcher and the index writer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from indexer import analysis
from indexer.engine import SearchEngine, create_engine
from kb.config import Settings
from kb.db import Database
from kb.search.indexing import IndexWriterLoop
from kb.ticket.routing import Router

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a request or command needs, built once."""

    settings: Settings
    db: Database
    index: SearchEngine
    router: Router
    writer: IndexWriterLoop | None = None

    def notify_changed(self) -> None:
        """Tell the index writer that committed changes are waiting."""
        if self.writer is not None:
            self.writer.notify()

    def close(self) -> None:
        """Stop the writer and release resources."""
        if self.writer is not None:
            self.writer.stop()
        self.index.close()
        self.db.dispose()


def build_services(settings: Settings, *, start_writer: bool = False) -> Services:
    """Initialise jieba, the database schema and the index (and optionally the writer thread)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    analysis.initialize(settings.cache_dir)
    db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    db.create_all()
    index = create_engine(settings.search_engine, settings.index_dir)
    index.open()
    services = Services(settings, db, index, Router(db))
    if start_writer:
        services.writer = IndexWriterLoop(db, index, settings.index_poll_seconds)
        services.writer.start()
    return services
