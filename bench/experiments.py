"""Measured what-ifs for the bottlenecks the profiles point at, run in this process without editing product code.

- Index without positions: the word fields are ``TEXT`` with positions (``phrase=True``), but no query uses
  phrases; ``phrase=False`` stores only frequencies. Same documents, same analyzers, same writer settings.
- Segments: a parallel bulk build leaves one segment per worker chunk, and every incremental update commits
  another small one; each search builds matchers per segment.
- Facets: every API search counts tags/category/status over all matches (``with_facets=True`` by default),
  which makes Whoosh collect and score every matching document.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.indexbuild import document_fields_function, load_documents, write_index
from bench.measure import stopwatch
from bench.queries import QUERIES, FreshPlans
from bench.scenarios import bench_env, segment_count, use_env


@dataclass(frozen=True)
class Variant:
    """One measured variant."""

    label: str
    seconds: float
    index_bytes: int = 0
    same_results: str = ""


@dataclass
class Experiment:
    """A what-if with its variants (the first is the code as shipped)."""

    title: str
    articles: int
    unit: str
    variants: list[Variant]


@contextmanager
def patched(owner: Any, attribute: str, value: Any) -> Iterator[None]:
    """Temporarily replace ``owner.attribute`` (in this process only)."""
    original = getattr(owner, attribute)
    setattr(owner, attribute, value)
    try:
        yield
    finally:
        setattr(owner, attribute, original)


# --- index without positions ---------------------------------------------------------------------------------


def _schema(positions: bool) -> Any:
    from whoosh import fields

    from indexer import analysis
    from indexer.schema import WORD_FIELDS, build_schema

    schema = build_schema()
    if positions:
        return schema
    for name in WORD_FIELDS:
        stored = bool(schema[name].stored)
        schema.remove(name)
        schema.add(name, fields.TEXT(analyzer=analysis.chinese_analyzer(), stored=stored, phrase=False))
    return schema


def _top_slugs(directory: Path, queries: list[str]) -> list[list[str]]:
    from whoosh import index as whoosh_index
    from whoosh.query import Or

    from indexer import analysis
    from indexer.search import concept_query

    ix = whoosh_index.open_dir(str(directory))
    answers: list[list[str]] = []
    with ix.searcher() as searcher:
        for query in queries:
            concepts = analysis.query_concepts(query)
            if not concepts:
                answers.append([])
                continue
            results = searcher.search(Or([concept_query(c) for c in concepts]), limit=10)
            answers.append([hit["slug"] for hit in results])
    ix.close()
    return answers


def positions_experiment(data_dir: Path, workdir: Path) -> Experiment:
    """Build the index of ``data_dir``'s articles with and without positions in the word fields."""
    document_fields = document_fields_function()
    values = [document_fields(doc) for doc in load_documents(data_dir)]
    base = workdir / "experiment-positions"
    shutil.rmtree(base, ignore_errors=True)
    shipped = write_index(base / "with-positions", values, _schema(positions=True))
    lean = write_index(base / "without-positions", values, _schema(positions=False))
    queries = list(QUERIES)
    same = _top_slugs(base / "with-positions", queries) == _top_slugs(base / "without-positions", queries)
    shutil.rmtree(base, ignore_errors=True)
    verdict = "identical top-10 for every query" if same else "top-10 differs for some queries"
    return Experiment(
        "Single-process index build with and without positions in the word fields",
        len(values),
        "seconds for add_document × N + commit (documents already loaded)",
        [
            Variant("as shipped: word fields with positions (`phrase=True`)", shipped.total, shipped.index_bytes),
            Variant("word fields `phrase=False` (frequencies only)", lean.total, lean.index_bytes, verdict),
        ],
    )


# --- search what-ifs --------------------------------------------------------------------------------------


def _totals_and_scores(result: Any) -> tuple[int, list[float], list[str]]:
    """What two ways of running a search must agree on: the total, the top scores, and which articles."""
    return result.total, [round(hit.score, 3) for hit in result.hits], [hit.slug for hit in result.hits]


def _compare(first: list[Any], second: list[Any]) -> tuple[int, int, int, int]:
    """(searches, same output, same totals and top scores, same totals) for tuples from _totals_and_scores."""
    same = sum(1 for a, b in zip(first, second, strict=True) if a == b)
    if not first or not isinstance(first[0], tuple) or len(first[0]) != 3:
        return len(first), same, same, same
    scores = sum(1 for a, b in zip(first, second, strict=True) if a[:2] == b[:2])
    totals = sum(1 for a, b in zip(first, second, strict=True) if a[0] == b[0])
    return len(first), same, scores, totals


def _same_ranking(comparison: tuple[int, int, int, int]) -> str:
    searches, same, scores, totals = comparison
    if same == searches:
        return f"identical results for all {searches} searches"
    return (
        f"identical results for {same}/{searches} searches; same totals and top-10 scores for {scores}/{searches}"
        f" (equal-score ties may swap articles); same totals for {totals}/{searches}"
    )


def _search_ab(
    data_dir: Path,
    count: int,
    variant: Callable[[], AbstractContextManager[Any]],
    variant_request: dict[str, Any],
    extract: Callable[[Any], Any],
) -> tuple[float, float, tuple[int, int, int, int]]:
    """Best-of-3 seconds for ``count`` searches as shipped and as the variant, alternating; same output?"""
    from kb.auth.permissions import VIEWER, Principal
    from kb.config import Settings
    from kb.context import build_services
    from kb.search import service

    use_env(bench_env(data_dir))
    services = build_services(Settings())
    principal = Principal("bench", VIEWER)
    plans = FreshPlans(QUERIES, count, seed=17)

    def run(request_options: dict[str, Any]) -> tuple[float, list[Any]]:
        outputs: list[Any] = []
        plan = plans.next()
        with stopwatch() as watch:
            for query in plan:
                request = service.build_request(services.settings, principal, query, **request_options)
                outputs.append(extract(service.search(services.index, services.db, request, principal)))
        return watch.elapsed, outputs

    try:
        run({})  # warm-up
        shipped_times: list[float] = []
        variant_times: list[float] = []
        for _ in range(3):  # alternate and keep the best of three: the machine may be shared
            seconds, shipped_out = run({})
            shipped_times.append(seconds)
            with variant():
                seconds, variant_out = run(variant_request)
            variant_times.append(seconds)
    finally:
        services.close()
    return min(shipped_times), min(variant_times), _compare(shipped_out, variant_out)


def facets_experiment(data_dir: Path, count: int, label: str) -> Experiment:
    """The same searches with facets (the API default) and without; hits and totals compared."""
    shipped_s, lean_s, same = _search_ab(
        data_dir,
        count,
        contextlib.nullcontext,
        {"with_facets": False},
        _totals_and_scores,
    )
    return Experiment(
        f"{count} searches against {label}: with facets (API default) vs without",
        count,
        "seconds for all searches, in process (best of 3, alternating)",
        [
            Variant("as shipped: `with_facets=True` (tags, category, status counted over all matches)", shipped_s),
            Variant(
                "`with_facets=False`",
                lean_s,
                0,
                _same_ranking(same),
            ),
        ],
    )


# --- one segment vs several ----------------------------------------------------------------------------------


def _optimize_current_generation(data_dir: Path) -> None:
    from whoosh import index as whoosh_index

    generation = json.loads((data_dir / "index" / "CURRENT").read_text(encoding="utf-8"))["generation"]
    ix = whoosh_index.open_dir(str(data_dir / "index" / generation))
    try:
        ix.optimize()
    finally:
        ix.close()


def segments_experiment(data_dir: Path, workdir: Path, count: int, label: str) -> Experiment:
    """The same searches against the index as the run left it and against a copy merged into one segment."""
    from kb.auth.permissions import VIEWER, Principal
    from kb.config import Settings
    from kb.context import build_services
    from kb.search import service

    copy = workdir / "experiment-one-segment" / "data"
    shutil.rmtree(copy.parent, ignore_errors=True)
    shutil.copytree(data_dir, copy)
    before = segment_count(data_dir)
    _optimize_current_generation(copy)
    use_env(bench_env(data_dir))
    as_is = build_services(Settings())
    use_env(bench_env(copy))
    merged = build_services(Settings())
    principal = Principal("bench", VIEWER)
    plans = FreshPlans(QUERIES, count, seed=19)

    def run(services: Any) -> tuple[float, list[Any]]:
        outputs: list[Any] = []
        plan = plans.next()
        with stopwatch() as watch:
            for query in plan:
                request = service.build_request(services.settings, principal, query)
                result = service.search(services.index, services.db, request, principal)
                outputs.append(_totals_and_scores(result))
        return watch.elapsed, outputs

    try:
        run(as_is)
        run(merged)
        as_is_times: list[float] = []
        merged_times: list[float] = []
        for _ in range(3):
            seconds, as_is_out = run(as_is)
            as_is_times.append(seconds)
            seconds, merged_out = run(merged)
            merged_times.append(seconds)
    finally:
        as_is.close()
        merged.close()
        shutil.rmtree(copy.parent, ignore_errors=True)
    same = _same_ranking(_compare(as_is_out, merged_out))
    return Experiment(
        f"{count} searches against {label}: the index as the run left it vs merged into one segment",
        count,
        "seconds for all searches, in process (best of 3, alternating)",
        [
            Variant(f"as left by the run ({before} segments: bulk build + incremental updates)", min(as_is_times)),
            Variant("after `ix.optimize()` (1 segment)", min(merged_times), 0, same),
        ],
    )
