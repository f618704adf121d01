"""Periodic ticket housekeeping in each service process: retry owed drafts, close unanswered resolutions."""

from __future__ import annotations

import logging
import threading

from indexer.engine import SearchEngine
from kb.db import Database
from kb.ticket import drafts, survey

log = logging.getLogger(__name__)


def run_once(db: Database, engine: SearchEngine | None, auto_close_days: int) -> tuple[int, list[str]]:
    """One pass: (drafts produced, tickets closed)."""
    produced = drafts.process_pending(db, engine)
    with db.session() as session:
        closed = survey.close_unanswered(session, auto_close_days)
    return produced, closed


class MaintenanceLoop:
    """A daemon thread calling ``run_once`` every ``interval`` seconds until stopped."""

    def __init__(self, db: Database, engine: SearchEngine | None, auto_close_days: int, interval: float) -> None:
        self.db, self.engine, self.auto_close_days, self.interval = db, engine, auto_close_days, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name="ticket-maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                produced, closed = run_once(self.db, self.engine, self.auto_close_days)
                if produced or closed:
                    log.info("ticket maintenance: %d drafts produced, %d tickets closed", produced, len(closed))
            except Exception:  # the next pass retries; a failing database must not kill the thread
                log.exception("ticket maintenance failed")
