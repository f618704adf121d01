"""The Whoosh engine: generations of Whoosh indexes, a small pool of searchers, incremental commits."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.query import Every

from indexer import bulk
from indexer.documents import IndexableDocument, SearchRequest, SearchResult
from indexer.fields import document_fields
from indexer.schema import schema_version
from indexer.search import Searcher
from indexer.store import GenerationalIndex, IndexChange, IndexUnavailable

SMALL_SEGMENT_DOCS = 500


def merge_small_segments(writer: Any, segments: list[Any]) -> list[Any]:
    """Whoosh merge policy: fold every segment under SMALL_SEGMENT_DOCS documents into the new one.

    Each incremental commit writes a segment and Whoosh's MERGE_SMALL waits for five of them; search time grows
    with the segment count (7 segments searched 44 % slower than 1 at 50k), while merging tiny ones is cheap.
    """
    from whoosh.reading import SegmentReader

    kept = []
    for segment in segments:
        if segment.doc_count_all() < SMALL_SEGMENT_DOCS:
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
        else:
            kept.append(segment)
    return kept


# Searches running at once. Under the GIL on two cores more gain nothing, and every Whoosh searcher keeps its own
# readers and caches: one per server thread (up to 40) grew a 50k-article server past 1 GB.
SEARCHER_POOL_SIZE = 4


class SearcherPool:
    """At most ``size`` Whoosh searchers shared by all threads, each used by one thread at a time."""

    def __init__(self, size: int = SEARCHER_POOL_SIZE) -> None:
        self._size = size
        self._idle: list[tuple[Any, Any]] = []
        self._out = 0
        self._cond = threading.Condition()
        self._held = threading.local()

    @contextlib.contextmanager
    def searcher(self, ix: Any) -> Iterator[Any]:
        """A searcher on ``ix``'s latest committed state (a thread already holding one gets the same again)."""
        held = getattr(self._held, "entry", None)
        if held is not None and held[0] is ix:
            yield held[1]
            return
        searcher = self._checkout(ix)
        self._held.entry = (ix, searcher)
        try:
            yield searcher
        finally:
            self._held.entry = None
            self._checkin(ix, searcher)

    def _checkout(self, ix: Any) -> Any:
        with self._cond:
            while not self._idle and self._out >= self._size:
                self._cond.wait()
            self._out += 1
            entry = self._idle.pop() if self._idle else None
        try:
            if entry is not None:
                owner, searcher = entry
                if owner is ix and searcher.reader().generation() == ix.latest_generation():
                    return searcher
                # Not Searcher.refresh(): it reuses segment readers and so misses deletions in unchanged segments.
                searcher.close()
            return ix.searcher()
        except BaseException:
            with self._cond:
                self._out -= 1
                self._cond.notify()
            raise

    def _checkin(self, ix: Any, searcher: Any) -> None:
        with self._cond:
            self._out -= 1
            self._idle.append((ix, searcher))
            self._cond.notify()

    def clear(self) -> None:
        """Close the idle searchers (those in use are replaced at their next checkout)."""
        with self._cond:
            idle, self._idle = self._idle, []
        for _ix, searcher in idle:
            searcher.close()

    @property
    def open_searchers(self) -> int:
        """Searchers currently open (idle or in use)."""
        with self._cond:
            return self._out + len(self._idle)


class SearchIndex(GenerationalIndex):
    """The Whoosh engine (pure Python; the default)."""

    name = "whoosh"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._ix: Any = None
        self._pool = SearcherPool()
        self._searcher: Searcher | None = None

    def schema_version(self) -> str:
        """Changes whenever the Whoosh schema, the analyzer or its dictionaries change."""
        return schema_version()

    def _open_generation(self, gen_dir: Path) -> int:
        ix = whoosh_index.open_dir(str(gen_dir))
        with ix.searcher() as searcher:
            searcher.search(Every(), limit=1)
            count = int(searcher.doc_count())
        self._ix = ix
        return count

    def _close_generation(self) -> None:
        self._ix = None
        self._pool.clear()

    def _build_generation(
        self,
        gen_dir: Path,
        documents: list[IndexableDocument],
        progress: Callable[[int], None] | None,
        workers: int | None,
    ) -> None:
        bulk.build(gen_dir, documents, workers=workers, progress=progress)

    def _apply_changes(self, changes: Iterable[IndexChange]) -> int:
        applied = 0
        writer = self._ix.writer(timeout=30.0)
        try:
            for change in changes:
                if change.document is None:
                    writer.delete_by_term("slug", change.slug)
                else:
                    writer.update_document(**document_fields(change.document))
                applied += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=merge_small_segments)
        return applied

    # --- reading -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def searcher(self) -> Iterator[Any]:
        """A Whoosh searcher on the latest committed state, from the shared pool."""
        self._refresh_if_swapped()
        ix = self._ix
        if ix is None:
            raise IndexUnavailable(self.health.detail)
        with self._pool.searcher(ix) as searcher:
            yield searcher

    def doc_count(self) -> int:
        """Number of documents in the open generation."""
        with self.searcher() as searcher:
            return int(searcher.doc_count())

    def _query_runner(self) -> Searcher:
        if self._searcher is None:
            self._searcher = Searcher(self)
        return self._searcher

    def search(self, request: SearchRequest) -> SearchResult:
        """Search with permissions applied before ranking (see ``indexer.search``)."""
        return self._query_runner().search(request)

    def suggest(self, title: str, description: str, request: SearchRequest) -> SearchResult:
        """Articles for ticket text, ranked by its key terms."""
        return self._query_runner().suggest(title, description, request)
