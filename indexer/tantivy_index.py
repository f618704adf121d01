"""The tantivy engine: generations of tantivy indexes fed with our analyzer's tokens."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import tantivy

from indexer import analysis, bulk
from indexer.documents import IndexableDocument, SearchRequest, SearchResult
from indexer.store import GenerationalIndex, IndexChange, IndexUnavailable
from indexer.tantivy_schema import analysed_fields, build_schema, schema_version, to_tantivy
from indexer.tantivy_search import TantivySearcher

WRITER_HEAP_BYTES = 64_000_000
BUILD_HEAP_BYTES = 256_000_000
BUILD_CHUNK_DOCS = 250
PARALLEL_THRESHOLD = 2000


def _init_worker(cache_dir: Path | None) -> None:
    analysis.initialize(cache_dir)


def _analyse_chunk(documents: list[IndexableDocument]) -> list[dict[str, Any]]:
    return [analysed_fields(document) for document in documents]


def _chunks(documents: Sequence[IndexableDocument], size: int) -> Iterator[list[IndexableDocument]]:
    for start in range(0, len(documents), size):
        yield list(documents[start : start + size])


class TantivyIndex(GenerationalIndex):
    """The tantivy engine (Rust): the same tokens as Whoosh, two orders of magnitude faster to query."""

    name = "tantivy"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.schema = build_schema()
        self._ix: Any = None
        self._writer: Any = None
        self._meta_stamp: tuple[int, int] | None = None
        self._reload_lock = threading.Lock()
        self._searcher = TantivySearcher(self)

    def schema_version(self) -> str:
        """Changes whenever the tantivy schema, the analyzer or its dictionaries change."""
        return schema_version()

    # --- generations -------------------------------------------------------------------------------------

    def _open_generation(self, gen_dir: Path) -> int:
        if not (gen_dir / "meta.json").is_file():
            raise FileNotFoundError(f"{gen_dir / 'meta.json'} 不存在")
        ix = tantivy.Index.open(str(gen_dir))
        ix.config_reader("Manual", 0)
        searcher = ix.searcher()
        probe = searcher.search(tantivy.Query.all_query(), 1)
        for _score, address in probe.hits:
            searcher.doc(address)
        self._ix = ix
        self._meta_stamp = self._meta_signature(gen_dir)
        return int(searcher.num_docs)

    def _close_generation(self) -> None:
        self._drop_writer()
        self._ix = None
        self._meta_stamp = None

    def _drop_writer(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.wait_merging_threads()

    def release_writer(self) -> None:
        """Give up the writer role (and tantivy's own writer)."""
        with self._lock:
            self._drop_writer()
        super().release_writer()

    @staticmethod
    def _meta_signature(gen_dir: Path) -> tuple[int, int] | None:
        try:
            stat = (gen_dir / "meta.json").stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns)

    def _build_generation(
        self,
        gen_dir: Path,
        documents: list[IndexableDocument],
        progress: Callable[[int], None] | None,
        workers: int | None,
    ) -> None:
        ix = tantivy.Index(self.schema, path=str(gen_dir), reuse=False)
        workers = bulk.default_workers() if workers is None else workers
        writer = ix.writer(BUILD_HEAP_BYTES, max(1, min(workers, 4)))
        try:
            for chunk in self._analysed_chunks(documents, workers):
                for fields in chunk:
                    writer.add_document(to_tantivy(fields))
                if progress is not None:
                    progress(len(chunk))
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()

    @staticmethod
    def _analysed_chunks(documents: list[IndexableDocument], workers: int) -> Iterator[list[dict[str, Any]]]:
        chunks = _chunks(documents, BUILD_CHUNK_DOCS)
        if workers <= 1 or len(documents) < PARALLEL_THRESHOLD:
            yield from map(_analyse_chunk, chunks)
            return
        # Analysis (jieba and our token rules) is the Python-bound part; tantivy's own writer threads index.
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=_init_worker, initargs=(analysis.cache_dir(),)) as pool:
            yield from pool.imap(_analyse_chunk, chunks)

    def _apply_changes(self, changes: Iterable[IndexChange]) -> int:
        if self._writer is None:
            self._writer = self._ix.writer(WRITER_HEAP_BYTES, 1)
        writer = self._writer
        applied = 0
        try:
            for change in changes:
                writer.delete_documents_by_term("slug", change.slug)
                if change.document is not None:
                    writer.add_document(to_tantivy(analysed_fields(change.document)))
                applied += 1
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        return applied

    # --- reading -----------------------------------------------------------------------------------------

    def reader(self) -> tuple[Any, tuple[object, ...]]:
        """A tantivy searcher on the latest commit and a key naming that committed state."""
        gen_dir = self.require_open()
        ix = self._ix
        if ix is None:
            raise IndexUnavailable(self.health.detail)
        stamp = self._meta_signature(gen_dir)
        if stamp != self._meta_stamp:
            with self._reload_lock:
                if stamp != self._meta_stamp:
                    ix.reload()
                    self._meta_stamp = stamp
        return ix.searcher(), (str(gen_dir), stamp)

    def doc_count(self) -> int:
        """Number of documents in the open generation."""
        searcher, _key = self.reader()
        return int(searcher.num_docs)

    def search(self, request: SearchRequest) -> SearchResult:
        """Search with permissions applied before ranking (see ``indexer.tantivy_search``)."""
        return self._searcher.search(request)

    def suggest(self, title: str, description: str, request: SearchRequest) -> SearchResult:
        """Articles for ticket text, ranked by its key terms."""
        return self._searcher.suggest(title, description, request)
