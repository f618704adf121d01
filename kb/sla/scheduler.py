"""The SLA scheduler: evaluation and notification delivery, periodically, in exactly one process at a time."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

from kb.config import Settings
from kb.db import Database, utcnow
from kb.notify import service as notify
from kb.sla import lease
from kb.sla.evaluate import EvaluationReport, evaluate_due

log = logging.getLogger(__name__)
LEASE = "sla-scheduler"


def new_holder() -> str:
    """A name for this process that no other process or restart shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class PassReport:
    """One scheduler pass: whether this process held the lease, and what it did."""

    leader: bool
    evaluation: EvaluationReport | None = None
    delivered: int = 0


def run_once(db: Database, settings: Settings, holder: str, now: datetime | None = None) -> PassReport:
    """Evaluate and deliver if this process holds (or can take) the lease; otherwise do nothing."""
    ttl = 3 * settings.sla_scheduler_seconds
    if not lease.acquire(db, LEASE, holder, ttl, now):
        return PassReport(leader=False)

    def renew() -> bool:
        return lease.acquire(db, LEASE, holder, ttl, None if now is None else max(now, utcnow()))

    evaluation = evaluate_due(db, settings, now, still_leader=renew)
    if not renew():
        return PassReport(True, evaluation)
    dispatched = notify.dispatch(db, settings, now=now)
    return PassReport(True, evaluation, dispatched.sent)


class SlaScheduler:
    """A daemon thread calling ``run_once`` every ``KB_SLA_SCHEDULER_SECONDS``; the first pass runs at start."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings, self.holder = db, settings, new_holder()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name="sla-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop, wait for the thread and hand the lease back."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            lease.release(self.db, LEASE, self.holder)
        except Exception:  # the lease simply expires if the database is gone
            log.warning("could not release the SLA scheduler lease", exc_info=True)

    def _run(self) -> None:
        while True:
            try:
                report = run_once(self.db, self.settings, self.holder)
                if report.evaluation and report.evaluation.events:
                    log.info("SLA: %d events recorded", len(report.evaluation.events))
            except Exception:  # the next pass retries; a failing database must not kill the thread
                log.exception("SLA scheduler pass failed")
            if self._stop.wait(self.settings.sla_scheduler_seconds):
                return
