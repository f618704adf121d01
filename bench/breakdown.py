"""Profiler-free breakdowns: wall-clock timers wrapped around a few functions (in this process only).

cProfile multiplies the cost of call-heavy pure-Python code (Whoosh, jieba) several times over, so its shares
are skewed. Here a handful of coarse search functions are wrapped with perf_counter timers (a microsecond per
call), and an index build is split into its steps, with the analyzers also run alone over the same fields.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.indexbuild import document_fields_function, load_documents, write_index
from bench.measure import stopwatch
from bench.queries import QUERIES, FreshPlans
from bench.scenarios import bench_env, use_env

_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@dataclass
class Timer:
    """Accumulated wall time and calls of one wrapped function."""

    label: str
    seconds: float = 0.0
    calls: int = 0


@dataclass(frozen=True)
class Target:
    """``owner.attribute`` to wrap; ``iterates`` when it returns a generator whose consumption is the cost."""

    owner: Any
    attribute: str
    label: str
    iterates: bool = False


@dataclass
class Breakdown:
    """Wall-clock time of one activity and of its main steps (indented labels are part of the row above)."""

    title: str
    total_seconds: float
    operations: int
    cpu_seconds: float = 0.0
    rows: list[tuple[str, float, int]] = field(default_factory=list)  # (label, seconds, calls)


def _timed_iterator(iterator: Iterator[Any], timer: Timer) -> Iterator[Any]:
    while True:
        started = time.perf_counter()
        try:
            item = next(iterator)
        except StopIteration:
            timer.seconds += time.perf_counter() - started
            return
        timer.seconds += time.perf_counter() - started
        yield item


def _wrap(original: Callable[..., Any], timer: Timer, iterates: bool) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        timer.calls += 1
        started = time.perf_counter()
        try:
            result = original(*args, **kwargs)
        finally:
            timer.seconds += time.perf_counter() - started
        return _timed_iterator(iter(result), timer) if iterates else result

    return wrapper


@contextmanager
def instrumented(targets: list[Target]) -> Iterator[list[Timer]]:
    """Wrap every target that exists with a timer for the duration of the block, then restore the originals."""
    present = [target for target in targets if callable(getattr(target.owner, target.attribute, None))]
    timers = [Timer(target.label) for target in present]
    originals = [getattr(target.owner, target.attribute) for target in present]
    try:
        for target, timer, original in zip(present, timers, originals, strict=True):
            setattr(target.owner, target.attribute, _wrap(original, timer, target.iterates))
        yield timers
    finally:
        for target, original in zip(present, originals, strict=True):
            setattr(target.owner, target.attribute, original)


# --- rebuild ---------------------------------------------------------------------------------------------


def rebuild_breakdown(data_dir: Path, workdir: Path) -> Breakdown:
    """A single-process build of ``data_dir``'s articles step by step, plus the analyzers alone."""
    from indexer import analysis

    total_cpu = time.process_time()
    with stopwatch() as reading:
        documents = load_documents(data_dir)
    document_fields = document_fields_function()
    with stopwatch() as converting:
        values = [document_fields(doc) for doc in documents]
    target = workdir / "breakdown-index"
    shutil.rmtree(target, ignore_errors=True)
    build = write_index(target, values)
    shutil.rmtree(target, ignore_errors=True)
    total_cpu = time.process_time() - total_cpu
    words = analysis.chinese_analyzer()
    grams = analysis.bigram_analyzer()
    word_fields = ("title", "symptoms", "tags_text", "body")
    with stopwatch() as analysing:
        for fields in values:
            for name in word_fields:
                for _token in words(fields[name], positions=True, mode="index"):
                    pass
            for _token in grams(fields["ngram"], mode="index"):
                pass
    with stopwatch() as bigram_only:
        for fields in values:
            for _token in grams(fields["ngram"], mode="index"):
                pass
    normalized: list[str] = []
    with stopwatch() as normalize_only:
        for fields in values:
            normalized.extend(analysis.normalize(fields[name]) for name in word_fields)
    segmenter = analysis._jieba()
    segmenter_name = analysis.segmenter_name()
    with stopwatch() as jieba_only:
        for text in normalized:
            for run in _HAN_RUN.findall(text):
                for _word in segmenter.tokenize(run, mode="search"):
                    pass
    total = reading.elapsed + converting.elapsed + build.total
    count = len(documents)
    result = Breakdown(f"Single-process index build of {count:,} articles (no profiler)", total, count, total_cpu)
    result.rows = [
        ("reading articles from SQLite (ORM → IndexableDocument)", reading.elapsed, 0),
        ("document_fields (incl. markdown → snippet text)", converting.elapsed, 0),
        ("Whoosh add_document × N (analysis + in-memory postings)", build.add_seconds, 0),
        (f"  analysis alone: {segmenter_name} word fields + bigram field (separate pass)", analysing.elapsed, 0),
        ("    normalize (NFKC + OpenCC) alone", normalize_only.elapsed, 0),
        (f"    {segmenter_name} search-mode segmentation alone", jieba_only.elapsed, 0),
        ("    bigram tokenizer alone", bigram_only.elapsed, 0),
        (
            "  the rest of add_document (Whoosh formats, posting pool, stored fields)",
            build.add_seconds - analysing.elapsed,
            0,
        ),
        ("Whoosh commit (sort + write postings, optimize)", build.commit_seconds, 0),
    ]
    return result


# --- searches --------------------------------------------------------------------------------------------


def search_breakdown(data_dir: Path, count: int, label: str) -> Breakdown:
    """``count`` searches through kb.search.service with timers around the main steps."""
    from whoosh.searching import Results
    from whoosh.searching import Searcher as WhooshSearcher

    from indexer import analysis, highlight
    from indexer import search as isearch
    from kb.auth.permissions import VIEWER, Principal
    from kb.config import Settings
    from kb.context import build_services
    from kb.search import service

    use_env(bench_env(data_dir))
    services = build_services(Settings())
    principal = Principal("bench", VIEWER)
    plan = FreshPlans(QUERIES, count, seed=13).next()
    targets = [
        Target(analysis, "query_concepts", "query analysis (query_concepts)"),
        Target(isearch, "visible_documents", "permission filter → doc set (visible_documents)"),
        Target(WhooshSearcher, "docs_for_query", "Whoosh docs_for_query (filter sets, min-should-match tier)"),
        Target(WhooshSearcher, "search", "Whoosh Searcher.search (match, score, collect facets)"),
        Target(Results, "__len__", "Whoosh len(results) (exact total)"),
        Target(isearch, "_facets", "facet counts (_facets)"),
        Target(isearch, "_hit", "building hits (_hit: stored fields, snippet, title, matched terms)"),
        Target(highlight, "highlight_with_terms", "  highlight_with_terms (snippet window / title + terms found)"),
        Target(highlight, "highlight", "  highlight.highlight"),
        Target(highlight, "matched_terms", "  highlight.matched_terms"),
        Target(highlight, "normalize_with_offsets", "    normalize_with_offsets"),
        Target(isearch.Searcher, "_did_you_mean", "did-you-mean on zero results"),
    ]
    try:
        for query in QUERIES:
            service.search(
                services.index,
                services.db,
                service.build_request(services.settings, principal, query),
                principal,
            )
        cpu = time.process_time()
        with instrumented(targets) as timers, stopwatch() as total:
            for query in plan:
                request = service.build_request(services.settings, principal, query)
                service.search(services.index, services.db, request, principal)
        cpu = time.process_time() - cpu
    finally:
        services.close()
    result = Breakdown(f"{count} searches against {label} (no profiler, in process)", total.elapsed, count, cpu)
    result.rows = [(timer.label, timer.seconds, timer.calls) for timer in timers if timer.calls]
    return result
