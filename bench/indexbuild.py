"""A single-process index build made of the product's own pieces, for breakdowns, profiles and what-ifs.

``kb.search.indexing.rebuild`` may fan out to worker processes, where neither timers nor cProfile can follow.
This builds the same index in this process: documents from the database (``indexing._all_documents``), field
values (``document_fields``), the product schema and analyzers, one Whoosh writer with 256 MB of pool memory
and an optimizing commit (the product's single-process path).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import stopwatch
from bench.scenarios import bench_env, directory_bytes, use_env

WRITER_MEMORY_MB = 256


def document_fields_function() -> Callable[[Any], dict[str, Any]]:
    """The product's ``document_fields`` wherever it lives (it moved between modules)."""
    for name in ("indexer.fields", "indexer.index"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        function = getattr(module, "document_fields", None)
        if callable(function):
            return function
    raise RuntimeError("indexer has no document_fields function")


def load_documents(data_dir: Path) -> list[Any]:
    """Every article of ``data_dir``'s database as an IndexableDocument."""
    from kb.config import Settings
    from kb.context import build_services
    from kb.search import indexing

    use_env(bench_env(data_dir))
    services = build_services(Settings())
    try:
        return list(indexing._all_documents(services.db))
    finally:
        services.close()


@dataclass(frozen=True)
class BuildTimes:
    """Wall seconds of the two halves of a Whoosh build, and the index size."""

    add_seconds: float
    commit_seconds: float
    index_bytes: int

    @property
    def total(self) -> float:
        """Both halves."""
        return self.add_seconds + self.commit_seconds


def write_index(directory: Path, values: Sequence[dict[str, Any]], schema: Any = None) -> BuildTimes:
    """Add every document's field values to a new index in ``directory`` and commit (optimize=True)."""
    from whoosh import index as whoosh_index

    from indexer.schema import build_schema

    directory.mkdir(parents=True, exist_ok=False)
    ix = whoosh_index.create_in(str(directory), schema if schema is not None else build_schema())
    writer = ix.writer(limitmb=WRITER_MEMORY_MB)
    with stopwatch() as adding:
        for fields in values:
            writer.add_document(**fields)
    with stopwatch() as committing:
        writer.commit(optimize=True)
    ix.close()
    return BuildTimes(adding.elapsed, committing.elapsed, directory_bytes(directory))
