"""Where the time goes: cProfile of one full rebuild and of a batch of searches, summarised by component."""

from __future__ import annotations

import cProfile
import inspect
import logging
import math
import pstats
import shutil
import sys
import sysconfig
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.breakdown import Breakdown
from bench.corpus import SourceArticle, replicate, write_jsonl
from bench.indexbuild import document_fields_function, load_documents, write_index
from bench.measure import stopwatch
from bench.queries import QUERIES, FreshPlans
from bench.scenarios import bench_env, single_process_rebuild, use_env

log = logging.getLogger("bench")

FuncKey = tuple[str, int, str]
KeyTarget = Callable[..., Any] | FuncKey | None  # a Python function, a profiler key (builtins) or missing
RJIEBA_TOKENIZE: FuncKey = ("~", 0, "<method 'tokenize' of 'builtins.Jieba' objects>")
_STDLIB = sysconfig.get_paths()["stdlib"]
_SITE = sysconfig.get_paths()["purelib"]


@dataclass(frozen=True)
class Cost:
    """A labelled cost in seconds and as a share of the profiled total."""

    label: str
    seconds: float
    share: float


@dataclass
class ProfileSection:
    """One profiled activity."""

    title: str
    wall_seconds: float
    profiled_seconds: float
    operations: int
    components: list[Cost] = field(default_factory=list)
    key_functions: list[Cost] = field(default_factory=list)
    top_cumulative: list[Cost] = field(default_factory=list)


@dataclass
class ProfileResult:
    """The profile summaries shown in the report."""

    sections: list[ProfileSection] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)


# --- attributing self time to components --------------------------------------------------------------------


def _component(filename: str) -> str | None:
    """The component a file belongs to, or None for builtins and the standard library (charged to callers)."""
    path = filename.replace("\\", "/")
    if "/jieba/" in path:
        return "jieba segmentation"
    if "opencc" in path:
        return "OpenCC (traditional→simplified)"
    if "/whoosh/" in path:
        sub = path.split("/whoosh/", 1)[1]
        if sub.startswith("analysis/"):
            return "Whoosh analysis filters"
        if sub.startswith(("writing", "fields", "formats", "multiproc", "externalsort")):
            return "Whoosh indexing (writer, field formats, posting pool)"
        if sub.startswith(("codec/", "filedb/", "util/", "columns", "system", "compat")):
            return "Whoosh codec & storage (encode/decode postings, files, columns)"
        query_modules = ("searching", "matching/", "query/", "scoring", "collectors", "sorting", "reading")
        if sub.startswith((*query_modules, "idsets", "spelling", "automata/")):
            return "Whoosh query execution (matching, scoring, collecting, facets)"
        return "Whoosh (other)"
    if "/sqlalchemy/" in path or "sqlite3" in path:
        return "SQLAlchemy / SQLite"
    if "/pydantic" in path:
        return "pydantic"
    for module, label in (
        ("indexer/analysis.py", "indexer.analysis (tokenizer glue, normalisation, query concepts)"),
        ("indexer/highlight.py", "indexer.highlight (snippets, matched terms)"),
        ("indexer/search.py", "indexer.search (query building, tiers, hits)"),
        ("indexer/index.py", "indexer.index (document fields, generations)"),
        ("indexer/", "indexer (other)"),
        ("kb/", "kb services"),
        ("bench/", "benchmark driver"),
    ):
        if module in path:
            return label
    if path.startswith(("~", "<")) or (path.startswith(_STDLIB) and not path.startswith(_SITE)):
        return None
    return "other libraries"


def _builtin_component(key: FuncKey) -> str | None:
    """Compiled extensions whose methods show up as builtins: rjieba (pyo3 names its class ``builtins.Jieba``)."""
    if key[0] == "~" and "builtins.Jieba" in key[2]:
        return "rjieba segmentation (Rust)"
    return None


def component_times(stats: pstats.Stats) -> dict[str, float]:
    """Self time per component; builtins and stdlib are charged to whoever called them."""
    raw: dict[FuncKey, Any] = stats.stats  # type: ignore[attr-defined]
    memo: dict[FuncKey, dict[str, float]] = {}

    def shares(key: FuncKey, depth: int = 0) -> dict[str, float]:
        if key in memo:
            return memo[key]
        own = _component(key[0]) or _builtin_component(key)
        if own is not None:
            memo[key] = {own: 1.0}
            return memo[key]
        memo[key] = {"standard library / builtins": 1.0}  # provisional, breaks cycles
        callers: dict[FuncKey, tuple[Any, ...]] = raw[key][4]
        weights = {caller: float(entry[2]) for caller, entry in callers.items() if caller in raw}
        total = sum(weights.values())
        if depth > 30 or total <= 0:
            return memo[key]
        mixed: dict[str, float] = defaultdict(float)
        for caller, weight in weights.items():
            for label, fraction in shares(caller, depth + 1).items():
                mixed[label] += fraction * weight / total
        memo[key] = dict(mixed)
        return memo[key]

    totals: dict[str, float] = defaultdict(float)
    for key, (_cc, _nc, tottime, _ct, _callers) in raw.items():
        for label, fraction in shares(key).items():
            totals[label] += tottime * fraction
    return dict(totals)


def _code_key(function: Callable[..., Any]) -> FuncKey:
    code = inspect.unwrap(function).__code__
    return (code.co_filename, code.co_firstlineno, code.co_name)


def cumulative(stats: pstats.Stats, function: KeyTarget) -> float:
    """Cumulative seconds spent in ``function`` (and its callees); NaN when it does not exist (any more)."""
    if function is None:
        return math.nan
    key = function if isinstance(function, tuple) else _code_key(function)
    entry = stats.stats.get(key)  # type: ignore[attr-defined]
    return float(entry[3]) if entry else 0.0


def _costs(values: dict[str, float], total: float, limit: int | None = None) -> list[Cost]:
    ordered = sorted(values.items(), key=lambda item: item[1], reverse=True)
    return [Cost(label, seconds, seconds / total if total else 0.0) for label, seconds in ordered[:limit]]


def _top_cumulative(stats: pstats.Stats, total: float, limit: int = 15) -> list[Cost]:
    raw: dict[FuncKey, Any] = stats.stats  # type: ignore[attr-defined]
    rows: list[Cost] = []
    for (filename, line, name), entry in raw.items():
        if filename.startswith("~") or "/bench/" in filename or "cProfile" in filename:
            continue
        short = filename.replace(_SITE + "/", "").replace(str(Path.cwd()) + "/", "")
        rows.append(Cost(f"{short}:{line}({name})", float(entry[3]), float(entry[3]) / total if total else 0))
    rows.sort(key=lambda cost: cost.seconds, reverse=True)
    return rows[:limit]


def _section(
    title: str,
    profile: cProfile.Profile,
    wall: float,
    operations: int,
    keys: Sequence[tuple[str, KeyTarget]],
) -> ProfileSection:
    stats = pstats.Stats(profile, stream=sys.stderr)
    total = float(stats.total_tt)  # type: ignore[attr-defined]
    section = ProfileSection(title, wall, total, operations)
    section.components = _costs(component_times(stats), total)
    section.key_functions = [
        Cost(label, seconds, seconds / total if total else 0.0)
        for label, seconds in ((label, cumulative(stats, fn)) for label, fn in keys)
    ]
    section.top_cumulative = _top_cumulative(stats, total)
    return section


# --- the profiled activities -----------------------------------------------------------------------------


def _maybe(owner: Any, name: str) -> Callable[..., Any] | None:
    function = getattr(owner, name, None)
    return function if callable(function) else None


def _rebuild_keys() -> list[tuple[str, KeyTarget]]:
    import jieba
    from whoosh.writing import SegmentWriter

    from indexer import analysis, highlight
    from kb.search import indexing

    return [
        ("reading articles from SQLite (_all_documents incl. ORM)", _maybe(indexing, "_all_documents")),
        ("document_fields (markdown→plain text for snippets)", document_fields_function()),
        ("  highlight.plain_text", _maybe(highlight, "plain_text")),
        ("SegmentWriter.add_document (analysis + posting buffers)", SegmentWriter.add_document),
        ("  tokenizer __call__ (word and n-gram fields)", _maybe(analysis.JiebaTokenizer, "__call__")),
        (
            "    tokens_of_normalized (word fields: segmenter + compound parts)",
            _maybe(analysis, "tokens_of_normalized"),
        ),
        ("      jieba Tokenizer.tokenize (search mode; KB_SEGMENTER=jieba)", jieba.Tokenizer.tokenize),
        ("      rjieba Jieba.tokenize (search mode; the default segmenter)", RJIEBA_TOKENIZE),
        ("    analysis.normalize (NFKC + OpenCC)", _maybe(analysis, "normalize")),
        ("    analysis.bigrams (n-gram field)", _maybe(analysis, "bigrams")),
        ("SegmentWriter.commit (flush + optimize merge)", SegmentWriter.commit),
    ]


def _search_keys() -> list[tuple[str, KeyTarget]]:
    from whoosh.searching import Hit, Results
    from whoosh.searching import Searcher as WhooshSearcher

    from indexer import analysis, highlight
    from indexer import search as isearch
    from indexer.index import SearchIndex
    from kb.search import service

    return [
        ("kb.search.service.search (everything)", _maybe(service, "search")),
        ("SearchIndex.searcher (refresh check)", _maybe(SearchIndex, "searcher")),
        ("analysis.query_concepts (query analysis)", _maybe(analysis, "query_concepts")),
        ("visible_documents (permission filter doc set)", _maybe(isearch, "visible_documents")),
        ("Searcher._tiers (min-should-match docs_for_query)", _maybe(isearch.Searcher, "_tiers")),
        ("whoosh Searcher.search (matching + scoring + facet collection)", WhooshSearcher.search),
        ("whoosh Results.__len__ (exact total count)", Results.__len__),
        ("Searcher._result (hits, snippets, facets)", _maybe(isearch.Searcher, "_result")),
        ("  whoosh Hit.fields (stored fields)", Hit.fields),
        ("  highlight_with_terms (snippet + title)", _maybe(highlight, "highlight_with_terms")),
        ("  highlight.highlight (snippet + title)", _maybe(highlight, "highlight")),
        ("  highlight.matched_terms", _maybe(highlight, "matched_terms")),
        ("    normalize_with_offsets", _maybe(highlight, "normalize_with_offsets")),
        ("  _facets (group counts)", _maybe(isearch, "_facets")),
        ("Searcher._did_you_mean (zero-result spelling)", _maybe(isearch.Searcher, "_did_you_mean")),
    ]


def profile_rebuild(articles: Sequence[SourceArticle], size: int, workdir: Path) -> tuple[ProfileSection, Path]:
    """Import ``size`` articles and build their index (not profiled), then profile a single-process build.

    Returns the data dir too, for the search profiles.
    """
    from kb.article import importer
    from kb.config import Settings
    from kb.context import build_services
    from kb.search import indexing

    data_dir = workdir / f"profile-{size}" / "data"
    data_dir.mkdir(parents=True)
    use_env(bench_env(data_dir))
    jsonl = data_dir.parent / "corpus.jsonl"
    write_jsonl(replicate(articles, size), jsonl)
    services = build_services(Settings())
    try:
        importer.import_files(services.db, [jsonl], actor="bench")
        try:
            indexing.rebuild(services.db, services.index)
        except Exception:
            log.exception("indexing.rebuild failed; building the index with workers=1")
            single_process_rebuild(services)
    finally:
        services.close()
    document_fields = document_fields_function()
    target = workdir / f"profile-{size}" / "single-process-index"
    profile = cProfile.Profile()
    with stopwatch() as watch:
        profile.enable()
        documents = load_documents(data_dir)
        write_index(target, [document_fields(doc) for doc in documents])
        profile.disable()
    shutil.rmtree(target, ignore_errors=True)
    title = f"Single-process index build of {size:,} articles"
    return _section(title, profile, watch.elapsed, size, _rebuild_keys()), data_dir


def profile_searches(data_dir: Path, count: int, label: str) -> ProfileSection:
    """Profile ``count`` searches through kb.search.service (as the API runs them: viewer, facets on)."""
    from kb.auth.permissions import VIEWER, Principal
    from kb.config import Settings
    from kb.context import build_services
    from kb.search import service

    use_env(bench_env(data_dir))
    services = build_services(Settings())
    principal = Principal("bench", VIEWER)
    plan = FreshPlans(QUERIES, count, seed=13).next()
    try:
        for query in QUERIES:  # warm caches (searcher, synonym table, OpenCC converters)
            service.search(
                services.index,
                services.db,
                service.build_request(services.settings, principal, query),
                principal,
            )
        profile = cProfile.Profile()
        with stopwatch() as watch:
            profile.enable()
            for query in plan:
                request = service.build_request(services.settings, principal, query)
                service.search(services.index, services.db, request, principal)
            profile.disable()
    finally:
        services.close()
    return _section(f"{count} searches against {label}", profile, watch.elapsed, count, _search_keys())
