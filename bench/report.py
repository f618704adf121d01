"""The Markdown report: machine, command, one table per size against the targets, and the profiles."""

from __future__ import annotations

import importlib
import math
import os
import platform
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.breakdown import Breakdown
from bench.experiments import Experiment
from bench.measure import Summary
from bench.profiling import Cost, ProfileResult, ProfileSection
from bench.scenarios import LIKE_SQL, Options, SizeResult

TARGET_SIZE = 50_000
SEARCH_P95_TARGET_MS = 50.0
REBUILD_TARGET_S = 120.0
CHANGE_P95_TARGET_S = 1.0
MB = 1024 * 1024
SLOWEST_QUERIES = 8


@dataclass(frozen=True)
class Machine:
    """Where the benchmark ran."""

    cpus: int
    cpu_model: str
    memory_gb: float
    python: str
    platform: str
    load_average: tuple[float, float, float]


@dataclass
class Run:
    """Everything one run measured, enough to render the report again (``--rerender``)."""

    argv: list[str]
    corpus: Path
    corpus_articles: int
    options: Options
    machine: Machine
    started_at: datetime
    total_seconds: float = 0.0
    results: list[SizeResult] = field(default_factory=list)
    profile: ProfileResult | None = None
    what_ifs: list[Experiment] = field(default_factory=list)


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.processor() or "unknown"


def _memory_gb() -> float:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return math.nan
    match = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024 / 1024 if match else math.nan


def machine_info() -> Machine:
    """nproc, CPU model, RAM and Python version of this machine."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
    return Machine(cpus, _cpu_model(), _memory_gb(), sys.version.split()[0], platform.platform(), os.getloadavg())


# --- formatting --------------------------------------------------------------------------------


def _num(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _pcts(summary: Summary | None, digits: int = 1, percentiles: tuple[str, ...] = ("p50", "p95", "p99")) -> str:
    if summary is None or summary.empty:
        return "n/a"
    return " / ".join(_num(float(getattr(summary, name)), digits) for name in percentiles)


def _verdict(value: float, target: float, applies: bool) -> str:
    if not applies:
        return "— (target is for 50k)"
    if math.isnan(value):
        return "n/a"
    return "✅ met" if value <= target else "❌ missed"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def size_table(result: SizeResult) -> list[str]:
    """The table of one size: every number next to its target."""
    at_target = result.size >= TARGET_SIZE
    lines = [f"### {result.size:,} articles", "", _row(["Measurement", "Result", "Target", "Verdict"])]
    lines.append(_row(["---", "---", "---", "---"]))

    def add(label: str, value: str, target: str = "", verdict: str = "") -> None:
        lines.append(_row([label, value, target, verdict]))

    problems = f" ({result.import_problems} problems)" if result.import_problems else ""
    add(
        "Import (`importer.import_files`, JSONL)",
        f"{_num(result.import_seconds)} s — {_num(result.import_rate, 0)} articles/s "
        f"(CPU {_num(result.import_cpu_seconds)} s){problems}",
    )
    if result.rebuild_failure:
        add(
            "Full index rebuild (`indexing.rebuild`) as shipped",
            f"**failed** after {_num(result.rebuild_failed_seconds)} s: `{result.rebuild_failure[:300]}`",
            f"≤ {REBUILD_TARGET_S:.0f} s at 50k",
            "❌ failed",
        )
    add(
        "Full index rebuild" + (" (fallback: `workers=1`)" if result.rebuild_failure else " (`indexing.rebuild`)"),
        f"**{_num(result.rebuild_seconds)} s** — {_num(result.rebuild_rate, 0)} articles/s "
        f"(CPU incl. worker processes {_num(result.rebuild_cpu_seconds)} s; {result.index_documents:,} docs)",
        f"≤ {REBUILD_TARGET_S:.0f} s at 50k",
        _verdict(result.rebuild_seconds, REBUILD_TARGET_S, at_target),
    )
    add("Index / database on disk", f"{_num(result.index_bytes / MB)} MB / {_num(result.database_bytes / MB)} MB")
    add(
        "Index segments (after the rebuild → end of the run)",
        f"{result.segments_after_rebuild} → {result.segments_at_end}",
    )
    add("Server start → `/readyz` 200", f"{_num(result.server_startup_seconds)} s")
    search = result.search
    if search is not None:
        add(
            f"Search via HTTP, p50 / p95 / p99 ({search.requests} sequential requests, each a new cache key)",
            f"**{_pcts(search.latency_ms)} ms**",
            f"p95 ≤ {SEARCH_P95_TARGET_MS:.0f} ms at 50k",
            _verdict(search.latency_ms.p95, SEARCH_P95_TARGET_MS, at_target),
        )
        add("Search throughput (one client, sequential)", f"{_num(search.per_second)} req/s")
        add("Search, server-reported `took_ms` p50 / p95 / p99", f"{_pcts(search.server_took_ms)} ms")
        add("Search, server CPU time per request (contention-independent)", f"{_num(search.server_cpu_ms)} ms")
        add("Queries with ≥ 1 hit (search)", f"{search.queries_with_hits} / {search.queries}")
        if search.errors:
            add("Search errors (non-200)", str(search.errors), "0", "❌")
        if search.total_mismatches:
            add("Padded queries whose total differed from the plain query", str(search.total_mismatches), "0", "⚠️")
    repeated = result.search_repeated
    if repeated is not None:
        add(
            f"Search via HTTP, repeated queries, p50 / p95 / p99 ({repeated.requests} requests; result-cache hits)",
            f"{_pcts(repeated.latency_ms)} ms (server `took_ms` "
            f"{_pcts(repeated.server_took_ms, 2, ('p50', 'p95'))} ms)",
        )
    sugg = result.suggestions
    if sugg is not None:
        add(
            f"Suggestions `POST /api/v1/suggestions`, p50 / p95 ({sugg.requests} tickets)",
            f"**{_pcts(sugg.latency_ms, 1, ('p50', 'p95'))} ms** (server `took_ms` "
            f"{_pcts(sugg.server_took_ms, 1, ('p50', 'p95'))} ms; CPU {_num(sugg.server_cpu_ms)} ms/request)",
            "",
            f"❌ errors: {sugg.errors}" if sugg.errors else "",
        )
    change = result.change
    if change is not None:
        timeouts = f", {change.timeouts} timeouts" if change.timeouts else ""
        p95 = change.visible_s.p95 if not change.timeouts else math.inf
        add(
            f"Change → searchable, p50 / p95 ({change.visible_s.count} samples, poll every 20 ms)",
            f"**{_pcts(change.visible_s, 3, ('p50', 'p95'))} s** (max {_num(change.visible_s.maximum, 3)} s{timeouts})",
            f"p95 ≤ {CHANGE_P95_TARGET_S:.0f} s",
            _verdict(p95, CHANGE_P95_TARGET_S, True),
        )
        add(
            "&nbsp;&nbsp;&nbsp;of which the PATCH request, p50 / p95", f"{_pcts(change.patch_ms, 1, ('p50', 'p95'))} ms"
        )
    add(
        "Server RSS after the queries (at ready → after queries → end of run)",
        f"**{_num(result.rss_after_queries_bytes / MB, 0)} MB** ({_num(result.rss_ready_bytes / MB, 0)} → "
        f"{_num(result.rss_after_queries_bytes / MB, 0)} → {_num(result.rss_end_bytes / MB, 0)} MB)",
    )
    base = result.baseline
    if base is not None:
        add(
            f"Baseline: SQL `LIKE '%q%'` scan, p50 / p95 / p99 ({base.requests} queries, sqlite3)",
            f"{_pcts(base.latency_ms)} ms — {base.queries_with_hits} / {base.queries} queries with ≥ 1 row",
        )
    if result.load_average:
        add(
            "1-minute load average (start → after HTTP → end)",
            " → ".join(f"{value:.2f}" for value in result.load_average),
            f"well below {os.cpu_count()} (the CPU count) means no contention",
        )
    if search is not None and search.per_query:
        slowest = sorted(search.per_query.items(), key=lambda item: item[1][0], reverse=True)[:SLOWEST_QUERIES]
        lines.append("")
        lines.append(
            f"Slowest queries at {result.size:,} articles (median of the uncached requests; matches = `total`): "
            + "; ".join(f"`{query}` {latency:.0f} ms ({total:,})" for query, (latency, total) in slowest)
            + "."
        )
    for note in result.notes:
        lines.append(f"\n> {note}")
    lines.append("")
    return lines


def _cost_table(costs: Sequence[Cost], header: str) -> list[str]:
    lines = [_row([header, "Seconds", "Share"]), _row(["---", "---:", "---:"])]
    for cost in costs:
        if math.isnan(cost.seconds):  # a function the code no longer has
            continue
        lines.append(_row([cost.label.replace("|", "\\|"), _num(cost.seconds, 2), _num(cost.share * 100) + " %"]))
    return lines


def breakdown_section(item: Breakdown) -> list[str]:
    """Wall-clock time of the main steps of one activity."""
    per_op = item.total_seconds / item.operations * 1000 if item.operations else math.nan
    lines = [
        f"#### {item.title}",
        "",
        f"Total {_num(item.total_seconds, 2)} s wall, {_num(item.cpu_seconds, 2)} s CPU "
        f"({_num(per_op, 2)} ms wall per item). Indented rows are part of the row above; rows without a call"
        " count were measured in a separate pass or derived.",
        "",
        _row(["Step", "Seconds", "Share of total", "Calls", "ms per item"]),
        _row(["---", "---:", "---:", "---:", "---:"]),
    ]
    for label, seconds, calls in item.rows:
        share = seconds / item.total_seconds if item.total_seconds else math.nan
        per_item = seconds / item.operations * 1000 if item.operations else math.nan
        depth = (len(label) - len(label.lstrip(" "))) // 2
        shown = "&nbsp;&nbsp;&nbsp;" * depth + label.strip().replace("|", "\\|")
        cells = [
            shown,
            _num(seconds, 2),
            f"{share * 100:.1f} %",
            str(calls) if calls else "—",
            _num(per_item, 2),
        ]
        lines.append(_row(cells))
    lines.append("")
    return lines


def experiments_section(what_ifs: Sequence[Experiment]) -> list[str]:
    """One table per experiment: each variant against the shipped code (the first variant)."""
    lines = [
        "Run in the benchmark process by swapping one function or schema detail; product code is unchanged.",
        "",
    ]
    for experiment in what_ifs:
        base = experiment.variants[0].seconds if experiment.variants else math.nan
        lines.extend(
            [
                f"#### {experiment.title}",
                "",
                f"{experiment.articles:,} items; time is {experiment.unit}.",
                "",
                _row(["Variant", "Seconds", "vs shipped", "Index size", "Results"]),
                _row(["---", "---:", "---:", "---:", "---"]),
            ]
        )
        for variant in experiment.variants:
            ratio = variant.seconds / base if base else math.nan
            size = f"{_num(variant.index_bytes / MB)} MB" if variant.index_bytes else ""
            lines.append(
                _row([variant.label, _num(variant.seconds, 2), f"{ratio * 100:.0f} %", size, variant.same_results])
            )
        lines.append("")
    return lines


def profile_section(section: ProfileSection) -> list[str]:
    """One profiled activity: self time by component, key cumulative functions, top cumulative functions."""
    per_op = section.wall_seconds / section.operations * 1000 if section.operations else math.nan
    lines = [
        f"#### {section.title}",
        "",
        f"Wall time under the profiler {_num(section.wall_seconds, 2)} s ({_num(per_op, 2)} ms per item; "
        f"cProfile inflates Python-heavy code, so compare shares, not absolute times).",
        "",
        "Self time by component (builtins and standard library charged to their callers):",
        "",
        *_cost_table([c for c in section.components if c.share >= 0.005], "Component"),
        "",
        "Cumulative time of the functions that matter (nested rows are part of the row above):",
        "",
        *_cost_table(section.key_functions, "Function"),
        "",
        "<details><summary>Top cumulative entries (raw cProfile)</summary>",
        "",
        *_cost_table(section.top_cumulative, "Function"),
        "",
        "</details>",
        "",
    ]
    return lines


def render(
    results: Sequence[SizeResult],
    profile: ProfileResult | None,
    *,
    command: str,
    corpus: Path,
    corpus_articles: int,
    options: Options,
    machine: Machine,
    started: datetime,
    total_seconds: float,
    notes: str | None = None,
    what_ifs: Sequence[Experiment] = (),
) -> str:
    """The whole Markdown document."""
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `python -m bench` on {started:%Y-%m-%d %H:%M} (local time); the run took "
        f"{total_seconds / 60:.1f} minutes. Regenerate with the command below; numbers vary by machine.",
        "",
        "## Machine",
        "",
        _row(["CPUs (nproc)", "CPU model", "RAM", "Python", "Platform", "Load average at start (1/5/15 min)"]),
        _row(["---", "---", "---", "---", "---", "---"]),
        _row(
            [
                str(machine.cpus),
                machine.cpu_model,
                f"{machine.memory_gb:.1f} GB",
                machine.python,
                machine.platform,
                " / ".join(f"{value:.2f}" for value in machine.load_average),
            ]
        ),
        "",
        "The machine is shared: other work (for example test suites) may run at the same time. The load average"
        " is recorded per size, and CPU times (which contention inflates much less than wall time) are reported"
        " next to wall times.",
        "",
        "## Command",
        "",
        "```sh",
        command,
        "```",
        "",
        *_code_changes(started, total_seconds),
        "## Workload",
        "",
        f"- Corpus: `{corpus.name}`, {corpus_articles:,} real Chinese support articles (TiDB docs, "
        "Microsoft 365"
        " support), replicated to N articles with new slugs `<id>-r<k>` and slightly varied titles for copies"
        " k ≥ 1. Every size runs in a fresh temporary data dir (`KB_DATA_DIR`, SQLite, "
        "`KB_IMPORT_CONTENT_ON_FIRST_START=false`).",
        "- Import: the replicated corpus is written as JSONL and imported with "
        "`kb.article.importer.import_files`"
        " (versions, audit log and index outbox included). Rebuild: `kb.search.indexing.rebuild(db, index)`"
        f" ({rebuild_mode()}).",
        "- HTTP: the real server (`python -m uvicorn api.app:create_app --factory --port P`, one process,"
        " default settings, access log on) is started as a subprocess; tokens are created with"
        " `python -m kb.cli token create`. One keep-alive `httpx` client sends requests one at a time, so"
        " latencies include HTTP, auth, JSON and the search itself.",
        f"- Search: {len(_queries())} queries (Chinese, English, error codes, traditional characters), "
        f"{options.warmup_rounds} warm-up round(s), then {options.repetitions} rounds in shuffled order; "
        "`limit=10`, facets on (API default), viewer token. The service caches results per index generation, so"
        " in the measured rounds the n-th use of a query carries n trailing `。` (the analyzer drops punctuation:"
        " same analysis, same hits; the benchmark checks the totals agree): every request is a cache miss, as"
        f" for distinct user queries. {options.cached_rounds} more rounds repeat the plain queries (cache hits).",
        f"- Suggestions: {options.suggestions} tickets, title = a corpus title, description = the first ~600"
        " characters of a corpus body with filler words, dropped characters, greeting and closing.",
        f"- Change → searchable: {options.change_samples} times, a reviewer PATCHes an article title to"
        " contain a unique word `zqx<8 digits>`; the clock starts before the PATCH and stops when"
        f" `GET /api/v1/search?q=<word>` (polled every {options.poll_seconds * 1000:.0f} ms) reports"
        " `total ≥ 1`.",
        f"- Baseline: the same queries ({options.baseline_repetitions} rounds) as `{LIKE_SQL}` with"
        " `p = '%' + query + '%'`, `sqlite3` directly on the same database file.",
        "",
        "## Results",
        "",
        _summary_table(results),
        "",
    ]
    for result in results:
        lines.extend(size_table(result))
    if profile is not None and (profile.sections or profile.breakdowns):
        lines.extend(["## Where the time goes", ""])
        if profile.breakdowns:
            lines.extend(["### Wall-clock breakdown (timers, no profiler)", ""])
            for item in profile.breakdowns:
                lines.extend(breakdown_section(item))
        if profile.sections:
            lines.extend(["### cProfile", "", *_profile_overview(profile), ""])
            for section in profile.sections:
                lines.extend(profile_section(section))
    if what_ifs:
        lines.extend(["## Measured what-ifs", "", *experiments_section(what_ifs)])
    if notes:
        lines.extend(["## Analysis and suggested fixes", "", notes.strip(), ""])
    return "\n".join(lines).rstrip() + "\n"


def _code_changes(started: datetime, total_seconds: float) -> list[str]:
    """A warning when product code was modified while the run was measuring (the code is edited concurrently)."""
    root = Path(__file__).resolve().parent.parent
    begin = started.timestamp()
    end = begin + total_seconds
    changed = sorted(
        str(path.relative_to(root))
        for package in ("indexer", "kb", "api")
        for path in (root / package).rglob("*.py")
        if begin <= path.stat().st_mtime <= end
    )
    if not changed:
        return []
    return [
        f"> **Note:** product files changed while this run was measuring: {', '.join(changed)}. Phases that started"
        " after a change (the server and index-build worker processes import the code when they start) may have"
        " run newer code than earlier phases.",
        "",
    ]


def rebuild_mode() -> str:
    """How the product's rebuild currently runs (it may fan out to worker processes)."""
    try:
        bulk = importlib.import_module("indexer.bulk")
    except ImportError:
        return "one process"
    workers = getattr(bulk, "default_workers", lambda: 1)()
    threshold = getattr(bulk, "PARALLEL_THRESHOLD", 0)
    return f"`indexer.bulk`: {workers} worker process(es) from {threshold:,} documents up, one process below"


def _queries() -> Sequence[str]:
    from bench.queries import QUERIES

    return QUERIES


def _summary_table(results: Sequence[SizeResult]) -> str:
    rows = [
        _row(
            [
                "Articles",
                "Import art/s",
                "Rebuild s (art/s)",
                "Search p50 / p95 / p99 ms",
                "req/s",
                "Suggest p50 / p95 ms",
                "Change→searchable p50 / p95 s",
                "RSS MB",
                "LIKE p50 / p95 / p99 ms",
            ]
        ),
        _row(["---:"] * 9),
    ]
    for r in results:
        rows.append(
            _row(
                [
                    f"{r.size:,}",
                    _num(r.import_rate, 0),
                    f"{_num(r.rebuild_seconds)} ({_num(r.rebuild_rate, 0)})",
                    _pcts(r.search.latency_ms if r.search else None),
                    _num(r.search.per_second) if r.search else "n/a",
                    _pcts(r.suggestions.latency_ms if r.suggestions else None, 1, ("p50", "p95")),
                    _pcts(r.change.visible_s if r.change else None, 3, ("p50", "p95")),
                    _num(r.rss_after_queries_bytes / MB, 0),
                    _pcts(r.baseline.latency_ms if r.baseline else None),
                ]
            )
        )
    return "\n".join(rows)


def _share(section: ProfileSection, prefix: str) -> float:
    return sum(c.share for c in section.components if c.label.startswith(prefix))


def _key(section: ProfileSection, prefix: str) -> float:
    return sum(c.share for c in section.key_functions if c.label.strip().startswith(prefix) and c.share == c.share)


def _profile_overview(profile: ProfileResult) -> list[str]:
    """A few generated sentences with the headline shares."""
    lines: list[str] = []
    for section in profile.sections:
        if "index build" in section.title:
            lines.append(
                f"- **{section.title}** (share of self time): Whoosh indexing "
                f"{_share(section, 'Whoosh indexing') * 100:.0f} % + codec/storage "
                f"{_share(section, 'Whoosh codec') * 100:.0f} % + analysis filters "
                f"{_share(section, 'Whoosh analysis') * 100:.0f} %; jieba "
                f"{_share(section, 'jieba') * 100:.0f} %; our tokenizer glue "
                f"{_share(section, 'indexer.analysis') * 100:.0f} %; OpenCC "
                f"{_share(section, 'OpenCC') * 100:.0f} %; SQLAlchemy/SQLite "
                f"{_share(section, 'SQLAlchemy') * 100:.0f} %. The final commit (flush + optimize) is "
                f"{_key(section, 'SegmentWriter.commit') * 100:.0f} % cumulative."
            )
        else:
            lines.append(
                f"- **{section.title}** (share of self time): Whoosh query execution "
                f"{_share(section, 'Whoosh query') * 100:.0f} % + codec/storage "
                f"{_share(section, 'Whoosh codec') * 100:.0f} %; our analysis module "
                f"{_share(section, 'indexer.analysis') * 100:.0f} % (`normalize_with_offsets` for highlighting: "
                f"{_key(section, 'normalize_with_offsets') * 100:.0f} % cumulative); "
                f"highlighting {_share(section, 'indexer.highlight') * 100:.0f} %; OpenCC "
                f"{_share(section, 'OpenCC') * 100:.0f} %; SQLAlchemy/SQLite "
                f"{_share(section, 'SQLAlchemy') * 100:.0f} %. Cumulative: Whoosh `search` "
                f"{_key(section, 'whoosh Searcher.search') * 100:.0f} %, hits + snippets (`_result`) "
                f"{_key(section, 'Searcher._result') * 100:.0f} %."
            )
    return lines


def write_report(text: str, path: Path) -> None:
    """Write the report, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
