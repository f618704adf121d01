"""The Whoosh engine: generations of Whoosh indexes, per-thread searchers, incremental commits."""

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


class SearchIndex(GenerationalIndex):
    """The Whoosh engine (pure Python; the default)."""

    name = "whoosh"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._ix: Any = None
        self._local = threading.local()
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
        self._local = threading.local()

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
        """A Whoosh searcher on the latest committed state, reused per thread."""
        self._refresh_if_swapped()
        ix = self._ix
        if ix is None:
            raise IndexUnavailable(self.health.detail)
        cached = getattr(self._local, "entry", None)
        if cached is not None and cached[0] is ix and cached[1].reader().generation() == ix.latest_generation():
            searcher = cached[1]
        else:
            # Not Searcher.refresh(): it reuses segment readers and so misses deletions in unchanged segments.
            if cached is not None:
                cached[1].close()
            searcher = ix.searcher()
        self._local.entry = (ix, searcher)
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
