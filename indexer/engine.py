"""The search-engine protocol every engine implements, and the factory that picks one by name.

Nothing outside ``indexer/`` knows which engine runs: callers hold a ``SearchEngine`` and pass plain
dataclasses in and out. Both engines share the analysis pipeline, the generation layout (``indexer.store``)
and the engine-neutral highlighter, so switching is one setting plus a rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from indexer.documents import IndexableDocument, SearchRequest, SearchResult
from indexer.store import IndexChange, IndexHealth

ENGINES = ("whoosh", "tantivy")
DEFAULT_ENGINE = "whoosh"


class SearchEngine(Protocol):
    """An index root that can be opened, written by one writer, rebuilt, searched and counted."""

    name: str
    root: Path
    health: IndexHealth

    def schema_version(self) -> str:
        """Changes whenever the engine's schema, the analyzer or its dictionaries change."""
        ...

    def open(self) -> IndexHealth:
        """Open the current generation and report whether it is usable."""
        ...

    @property
    def is_open(self) -> bool:
        """Whether a usable generation is open."""
        ...

    def generation_dir(self) -> Path | None:
        """Directory of the generation currently in use, if any."""
        ...

    def position(self) -> int:
        """Last change-log position applied to the open generation."""
        ...

    def doc_count(self) -> int:
        """Number of documents in the open generation."""
        ...

    def acquire_writer(self) -> None:
        """Become the root's single writer (WriterBusy when another process is)."""
        ...

    def release_writer(self) -> None:
        """Give up the writer role."""
        ...

    @property
    def is_writer(self) -> bool:
        """Whether this object holds the writer lock."""
        ...

    def apply(self, changes: Iterable[IndexChange], position: int) -> int:
        """Apply upserts/deletes in order and record ``position``."""
        ...

    def rebuild(
        self,
        documents: Iterable[IndexableDocument],
        position: int,
        progress: Callable[[int], None] | None = None,
        workers: int | None = None,
    ) -> IndexHealth:
        """Build a new generation and swap it in atomically."""
        ...

    def search(self, request: SearchRequest) -> SearchResult:
        """Permission-filtered, ranked, paginated search with optional facets."""
        ...

    def suggest(self, title: str, description: str, request: SearchRequest) -> SearchResult:
        """Articles for ticket text, ranked by its key terms."""
        ...

    def close(self) -> None:
        """Release the writer lock and readers."""
        ...


def create_engine(name: str, root: Path) -> SearchEngine:
    """The engine called ``name`` on the index root ``root`` (not opened yet)."""
    if name == "whoosh":
        from indexer.index import SearchIndex

        return SearchIndex(root)
    if name == "tantivy":
        from indexer.tantivy_index import TantivyIndex

        return TantivyIndex(root)
    raise ValueError(f"未知的搜索引擎“{name}”，可选：{', '.join(ENGINES)}")
