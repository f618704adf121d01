"""Auto-classification and routing: one thread-safe classifier per process, trained from resolved tickets."""

from __future__ import annotations

import threading

from sqlalchemy import select

from kb.db import Database
from kb.ticket.classify import Classifier, Proposal
from kb.ticket.models import Ticket

TRAINING_LIMIT = 20_000


class Router:
    """Proposes category and assignment group for new tickets; learns from every resolution."""

    def __init__(self, db: Database | None = None, classifier: Classifier | None = None) -> None:
        self._classifier = classifier or Classifier()
        self._lock = threading.Lock()
        # Trained on first use, not at start: most processes (CLI commands, readers) never classify.
        self._untrained_db = db
        self._training = threading.Lock()

    def _ensure_trained(self) -> None:
        if self._untrained_db is None:
            return
        with self._training:
            if self._untrained_db is not None:
                self.train_from(self._untrained_db)
                self._untrained_db = None

    def train_from(self, db: Database) -> int:
        """Learn from the most recent resolved tickets that carry a category; returns how many."""
        with db.session(write=False) as session:
            rows = session.execute(
                select(Ticket.title, Ticket.description, Ticket.category)
                .where(Ticket.resolved_at.is_not(None), Ticket.category != "")
                .order_by(Ticket.id.desc())
                .limit(TRAINING_LIMIT)
            ).all()
        with self._lock:
            for title, description, category in rows:
                self._classifier.learn(title, description, category)
        return len(rows)

    def propose(self, title: str, description: str) -> Proposal:
        """Category and group proposed for a ticket's text, with the reasons."""
        self._ensure_trained()
        with self._lock:
            return self._classifier.propose(title, description)

    def learn(self, title: str, description: str, category: str) -> None:
        """Learn from one resolved ticket."""
        if category:
            self._ensure_trained()
            with self._lock:
                self._classifier.learn(title, description, category)
