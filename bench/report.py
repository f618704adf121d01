"""The Markdown report: machine, command, the engines side by side against their targets, one table per size and
engine, and the Whoosh profiles."""

from __future__ import annotations

import importlib
import math
import os
import platform
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.breakdown import Breakdown
from bench.experiments import Experiment
from bench.measure import Summary
from bench.profiling import Cost, ProfileResult, ProfileSection
from bench.scenarios import LIKE_SQL, LatencyPhase, Options, SizeResult, TicketPhase

TARGET_SIZE = 50_000
MB = 1024 * 1024
SLOWEST_QUERIES = 8
DIFFERING_QUERIES = 12


@dataclass(frozen=True)
class Targets:
    """One engine's targets at ``TARGET_SIZE`` articles (None: no target for that measurement)."""

    search_p95_ms: float
    rebuild_s: float
    change_p95_s: float
    suggest_p95_ms: float | None = None
    ticket_suggest_p95_ms: float | None = 100.0  # GET /api/v1/tickets/{number}/suggestions, 500-character ticket
    ticket_shown_p95_s: float | None = 1.0  # POST /api/v1/tickets → suggestions response in hand


TARGETS: dict[str, Targets] = {
    "whoosh": Targets(search_p95_ms=50.0, rebuild_s=120.0, change_p95_s=1.0),
    "tantivy": Targets(search_p95_ms=10.0, rebuild_s=60.0, change_p95_s=1.0, suggest_p95_ms=20.0),
}


def targets_for(engine: str) -> Targets:
    """The targets of ``engine`` (Whoosh's for an engine without its own)."""
    return TARGETS.get(engine, TARGETS["whoosh"])


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
    engines: list[str] = field(default_factory=lambda: ["whoosh"])


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


def _change_p95(result: SizeResult) -> float:
    """Change → searchable p95, infinite when a sample timed out."""
    if result.change is None:
        return math.nan
    return math.inf if result.change.timeouts else result.change.visible_s.p95


def _p95(phase: LatencyPhase | None) -> float:
    return phase.latency_ms.p95 if phase is not None else math.nan


def _tickets(result: SizeResult) -> TicketPhase | None:
    """The ticket phase of ``result`` (None when skipped, or in runs saved before it existed)."""
    return getattr(result, "tickets", None)


def _errors(phase: LatencyPhase | None) -> str:
    return f" ({phase.errors} errors)" if phase is not None and phase.errors else ""


def _judged_p95(phase: LatencyPhase | None, scale: float = 1.0) -> float:
    """p95 latency times ``scale``; infinite when a request failed (a failure cannot meet a target)."""
    if phase is None:
        return math.nan
    return math.inf if phase.errors else phase.latency_ms.p95 * scale


def _ticket_suggest_p95(result: SizeResult) -> float:
    phase = _tickets(result)
    return _judged_p95(phase.suggestions if phase else None)


def _ticket_shown_p95_s(result: SizeResult) -> float:
    phase = _tickets(result)
    return _judged_p95(phase.shown if phase else None, 0.001)


def _ticket_chars(results: Sequence[SizeResult]) -> str:
    """The description length of the ticket phase ("500", or a range if the lengths varied)."""
    lengths = [t.description_chars for t in map(_tickets, results) if t is not None and not t.description_chars.empty]
    if not lengths:
        return "500"
    low, high = min(s.minimum for s in lengths), max(s.maximum for s in lengths)
    return f"{low:.0f}" if low == high else f"{low:.0f}–{high:.0f}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def size_table(result: SizeResult) -> list[str]:
    """The table of one size and engine: every number next to the engine's target."""
    at_target = result.size >= TARGET_SIZE
    targets = targets_for(result.engine)
    lines = [
        f"### {result.size:,} articles — {result.engine}",
        "",
        _row(["Measurement", "Result", "Target", "Verdict"]),
    ]
    lines.append(_row(["---", "---", "---", "---"]))

    def add(label: str, value: str, target: str = "", verdict: str = "") -> None:
        lines.append(_row([label, value, target, verdict]))

    problems = f" ({result.import_problems} problems)" if result.import_problems else ""
    add(
        "Import (`importer.import_files`, JSONL; once per size, shared by the engines)",
        f"{_num(result.import_seconds)} s — {_num(result.import_rate, 0)} articles/s "
        f"(CPU {_num(result.import_cpu_seconds)} s){problems}",
    )
    if result.rebuild_failure:
        add(
            "Full index rebuild (`indexing.rebuild`) as shipped",
            f"**failed** after {_num(result.rebuild_failed_seconds)} s: `{result.rebuild_failure[:300]}`",
            f"≤ {targets.rebuild_s:.0f} s at 50k",
            "❌ failed",
        )
    add(
        "Full index rebuild" + (" (fallback: `workers=1`)" if result.rebuild_failure else " (`indexing.rebuild`)"),
        f"**{_num(result.rebuild_seconds)} s** — {_num(result.rebuild_rate, 0)} articles/s "
        f"(CPU incl. worker processes {_num(result.rebuild_cpu_seconds)} s; {result.index_documents:,} docs)",
        f"≤ {targets.rebuild_s:.0f} s at 50k",
        _verdict(result.rebuild_seconds, targets.rebuild_s, at_target),
    )
    add(
        "Index (current generation) / database on disk",
        f"{_num(result.index_bytes / MB)} MB / {_num(result.database_bytes / MB)} MB",
    )
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
            f"p95 ≤ {targets.search_p95_ms:.0f} ms at 50k",
            _verdict(search.latency_ms.p95, targets.search_p95_ms, at_target),
        )
        add("Search throughput (one client, sequential)", f"{_num(search.per_second)} req/s")
        add("Search, server-reported `took_ms` p50 / p95 / p99 (the engine)", f"{_pcts(search.server_took_ms)} ms")
        add(
            "Search, HTTP latency − `took_ms` per request, p50 / p95 / p99 (HTTP, auth, routing, JSON)",
            f"{_pcts(search.overhead_ms)} ms",
        )
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
        if sugg.errors:
            target, verdict = "", f"❌ errors: {sugg.errors}"
        elif targets.suggest_p95_ms is not None:
            target = f"p95 ≤ {targets.suggest_p95_ms:.0f} ms at 50k"
            verdict = _verdict(sugg.latency_ms.p95, targets.suggest_p95_ms, at_target)
        else:
            target, verdict = "", ""
        add(
            f"Suggestions `POST /api/v1/suggestions`, p50 / p95 ({sugg.requests} tickets)",
            f"**{_pcts(sugg.latency_ms, 1, ('p50', 'p95'))} ms** (server `took_ms` "
            f"{_pcts(sugg.server_took_ms, 1, ('p50', 'p95'))} ms; CPU {_num(sugg.server_cpu_ms)} ms/request)",
            target,
            verdict,
        )
    change = result.change
    if change is not None:
        timeouts = f", {change.timeouts} timeouts" if change.timeouts else ""
        p95 = change.visible_s.p95 if not change.timeouts else math.inf
        add(
            f"Change → searchable, p50 / p95 ({change.visible_s.count} samples, poll every 20 ms)",
            f"**{_pcts(change.visible_s, 3, ('p50', 'p95'))} s** (max {_num(change.visible_s.maximum, 3)} s{timeouts})",
            f"p95 ≤ {targets.change_p95_s:.0f} s",
            _verdict(p95, targets.change_p95_s, True),
        )
        add(
            "&nbsp;&nbsp;&nbsp;of which the PATCH request, p50 / p95", f"{_pcts(change.patch_ms, 1, ('p50', 'p95'))} ms"
        )
    ticket = _tickets(result)
    if ticket is not None:
        chars = _ticket_chars([result])
        sugg_target = targets.ticket_suggest_p95_ms
        add(
            f"Ticket suggestions `GET /api/v1/tickets/{{number}}/suggestions`, {chars}-character ticket,"
            f" p50 / p95 / p99 ({ticket.suggestions.requests} tickets, one request each)",
            f"**{_pcts(ticket.suggestions.latency_ms)} ms**{_errors(ticket.suggestions)} (server `took_ms` "
            f"{_pcts(ticket.suggestions.server_took_ms, 1, ('p50', 'p95'))} ms; CPU "
            f"{_num(ticket.suggestions.server_cpu_ms)} ms/request; {ticket.suggestions.queries_with_hits} with hits)",
            f"p95 ≤ {sugg_target:g} ms at 50k" if sugg_target is not None else "",
            _verdict(_ticket_suggest_p95(result), sugg_target, at_target) if sugg_target is not None else "",
        )
        shown_target = targets.ticket_shown_p95_s
        add(
            f"Ticket creation → suggestions shown (POST, then GET suggestions), p50 / p95 / p99"
            f" ({ticket.shown.requests} tickets)",
            f"**{_pcts(ticket.shown.latency_ms)} ms**{_errors(ticket.shown)} (of which the POST "
            f"{_pcts(ticket.shown_post_ms, 1, ('p50', 'p95'))} ms)",
            f"p95 ≤ {shown_target:g} s at 50k" if shown_target is not None else "",
            _verdict(_ticket_shown_p95_s(result), shown_target, at_target) if shown_target is not None else "",
        )
        create = ticket.create
        add(
            f"Ticket creation `POST /api/v1/tickets` ({create.requests} sequential, classifier included):"
            " throughput; POST p50 / p95 / p99",
            f"**{_num(create.per_second)} tickets/s**; {_pcts(create.latency_ms)} ms{_errors(create)} "
            f"(server CPU {_num(create.server_cpu_ms)} ms/ticket)",
        )
    add(
        "Server RSS after the queries (at ready → after queries → end of run)",
        f"**{_num(result.rss_after_queries_bytes / MB, 0)} MB** ({_num(result.rss_ready_bytes / MB, 0)} → "
        f"{_num(result.rss_after_queries_bytes / MB, 0)} → {_num(result.rss_end_bytes / MB, 0)} MB)",
    )
    base = result.baseline
    if base is not None:
        add(
            f"Baseline: SQL `LIKE '%q%'` scan, p50 / p95 / p99 ({base.requests} queries, sqlite3; per size)",
            f"{_pcts(base.latency_ms)} ms — {base.queries_with_hits} / {base.queries} queries with ≥ 1 row",
        )
    if result.load_average:
        add(
            "1-minute load average (start → after HTTP → after the size's last phase)",
            " → ".join(f"{value:.2f}" for value in result.load_average),
            f"well below {os.cpu_count()} (the CPU count) means no contention",
        )
    if search is not None and search.per_query:
        slowest = sorted(search.per_query.items(), key=lambda item: item[1][0], reverse=True)[:SLOWEST_QUERIES]
        lines.append("")
        lines.append(
            f"Slowest queries at {result.size:,} articles with {result.engine} (median of the uncached requests;"
            " matches = `total`): "
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
    engines: Sequence[str] = (),
) -> str:
    """The whole Markdown document."""
    engines = list(engines) or list(dict.fromkeys(r.engine for r in results)) or ["whoosh"]
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
        " is recorded per size and engine, and CPU times (which contention inflates much less than wall time) are"
        " reported next to wall times.",
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
        f"- Engines: {', '.join(f'`{e}`' for e in engines)}, measured one after the other on the same data dir."
        " Per size the corpus is imported once; then for each engine a full rebuild with that engine is timed"
        " (a new index generation is built from the database and swapped in; the other engine's generation is"
        " left on disk and not counted in the index size) and the server is started with"
        " `KB_SEARCH_ENGINE=<engine>` for the HTTP phases. A later engine therefore also indexes the earlier"
        " engine's test edits (the same articles with one more nonsense word in the title).",
        "- Import: the replicated corpus is written as JSONL and imported with "
        "`kb.article.importer.import_files`"
        " (versions, audit log and index outbox included). Rebuild: `kb.search.indexing.rebuild(db, index)`"
        f" ({'; '.join(f'{engine}: {rebuild_mode(engine)}' for engine in engines)}).",
        "- HTTP: the real server (`python -m uvicorn api.app:create_app --factory --port P`, one process,"
        " default settings except the engine, access log on) is started as a subprocess; tokens are created with"
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
        *_ticket_workload(results, options),
        f"- Baseline: the same queries ({options.baseline_repetitions} rounds) as `{LIKE_SQL}` with"
        " `p = '%' + query + '%'`, `sqlite3` directly on the same database file, once per size after the"
        " engines (no engine is involved).",
        "",
        "## Results",
        "",
        *side_by_side(results, engines),
        *engine_comparison(results, engines),
        "## Details per size and engine",
        "",
    ]
    for result in results:
        lines.extend(size_table(result))
    if profile is not None and (profile.sections or profile.breakdowns):
        lines.extend(
            [
                "## Where the time goes (Whoosh only)",
                "",
                "In-process breakdowns and profiles of the Whoosh engine (`KB_SEARCH_ENGINE=whoosh`); the searches"
                " at the largest size ran right after its Whoosh HTTP phase, on that index.",
                "",
            ]
        )
        if profile.breakdowns:
            lines.extend(["### Wall-clock breakdown (timers, no profiler)", ""])
            for item in profile.breakdowns:
                lines.extend(breakdown_section(item))
        if profile.sections:
            lines.extend(["### cProfile", "", *_profile_overview(profile), ""])
            for section in profile.sections:
                lines.extend(profile_section(section))
    if what_ifs:
        lines.extend(["## Measured what-ifs (Whoosh only)", "", *experiments_section(what_ifs)])
    if notes:
        lines.extend(["## Analysis and suggested fixes", "", notes.strip(), ""])
    return "\n".join(lines).rstrip() + "\n"


def _ticket_workload(results: Sequence[SizeResult], options: Options) -> list[str]:
    """The workload bullet of the ticket phase (none when no result has one)."""
    phases = [t for t in map(_tickets, results) if t is not None]
    if not phases:
        return []
    count = phases[0].create.requests
    limit = getattr(options, "ticket_suggestion_limit", 5)
    warmup = getattr(options, "ticket_warmup", 0)
    return [
        f"- Tickets (after change → searchable, same server, engineer token): {count} tickets are created one at"
        " a time with `POST /api/v1/tickets` (title = a corpus title; description exactly"
        f" {_ticket_chars(results)} characters: the start of a corpus body at least that long, with the filler"
        " words, dropped characters, greeting and closing of the suggestion tickets; impact and urgency vary)."
        " That gives the creation throughput and the latency of the POST, which runs the ticket classifier"
        " (rules + naive Bayes) synchronously and writes the ticket, its events and an audit entry. Then"
        f" `GET /api/v1/tickets/{{number}}/suggestions?limit={limit}` once per created ticket (the service caches"
        f" no suggestions). Then {count} more tickets, each POSTed and its suggestions fetched at once:"
        " creation → suggestions shown is the wall time from sending the POST to having the suggestions"
        f" response. {warmup} unmeasured tickets come first. Tickets stay in the database, so a later engine"
        " runs with the earlier engine's tickets present.",
    ]


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


def rebuild_mode(engine: str = "whoosh") -> str:
    """How the product's rebuild with ``engine`` currently runs (it may fan out to worker processes)."""
    try:
        bulk = importlib.import_module("indexer.bulk")
    except ImportError:
        return "one process"
    workers = getattr(bulk, "default_workers", lambda: 1)()
    if engine == "tantivy":
        try:
            tantivy_index = importlib.import_module("indexer.tantivy_index")
        except ImportError:
            return "tantivy not importable"
        threshold = getattr(tantivy_index, "PARALLEL_THRESHOLD", 0)
        heap = getattr(tantivy_index, "BUILD_HEAP_BYTES", 0) / 1e6
        return (
            f"analysis in {workers} worker process(es) from {threshold:,} documents up, tantivy's writer with"
            f" {max(1, min(workers, 4))} indexing thread(s) and a {heap:,.0f} MB heap"
        )
    threshold = getattr(bulk, "PARALLEL_THRESHOLD", 0)
    return f"`indexer.bulk`: {workers} worker process(es) from {threshold:,} documents up, one process below"


def _queries() -> Sequence[str]:
    from bench.queries import QUERIES

    return QUERIES


def _by_size(results: Sequence[SizeResult]) -> dict[int, dict[str, SizeResult]]:
    table: dict[int, dict[str, SizeResult]] = {}
    for result in results:
        table.setdefault(result.size, {})[result.engine] = result
    return dict(sorted(table.items()))


def _at_target(results: Sequence[SizeResult], engine: str) -> SizeResult | None:
    """The result the targets are judged on: ``engine`` at 50k (or the smallest size above it)."""
    candidates = [r for r in results if r.engine == engine and r.size >= TARGET_SIZE]
    return min(candidates, key=lambda r: r.size) if candidates else None


@dataclass(frozen=True)
class Metric:
    """One row of the side-by-side table: how to show a result, and (per engine) the target and its value."""

    label: str
    show: Callable[[SizeResult], str]
    target: Callable[[Targets], float | None] | None = None
    actual: Callable[[SizeResult], float] | None = None
    unit: str = ""
    tickets: bool = False  # a row of the ticket phase (left out when no result has one)


def _metrics(ticket_chars: str = "500") -> list[Metric]:
    def rss(r: SizeResult) -> str:
        return " → ".join(
            _num(value / MB, 0) for value in (r.rss_ready_bytes, r.rss_after_queries_bytes, r.rss_end_bytes)
        )

    def with_hits(r: SizeResult) -> str:
        return f"{r.search.queries_with_hits} / {r.search.queries}" if r.search else "n/a"

    def ticket_suggest(r: SizeResult) -> str:
        phase = t.suggestions if (t := _tickets(r)) else None
        return f"**{_pcts(phase.latency_ms if phase else None)}**{_errors(phase)}"

    def ticket_took(r: SizeResult) -> str:
        phase = t.suggestions if (t := _tickets(r)) else None
        return _pcts(phase.server_took_ms if phase else None, 1, ("p50", "p95"))

    def ticket_shown(r: SizeResult) -> str:
        phase = t.shown if (t := _tickets(r)) else None
        return f"**{_pcts(phase.latency_ms if phase else None, 1, ('p50', 'p95'))}**{_errors(phase)}"

    def ticket_create(r: SizeResult) -> str:
        phase = t.create if (t := _tickets(r)) else None
        if phase is None:
            return "n/a"
        return f"{_num(phase.per_second)} ({_pcts(phase.latency_ms, 1, ('p50', 'p95'))}){_errors(phase)}"

    def ticket_create_cpu(r: SizeResult) -> str:
        phase = t.create if (t := _tickets(r)) else None
        return _num(phase.server_cpu_ms) if phase else "n/a"

    return [
        Metric(
            "Import, once per size: s (articles/s)", lambda r: f"{_num(r.import_seconds)} ({_num(r.import_rate, 0)})"
        ),
        Metric(
            "**Full rebuild: s (articles/s)**",
            lambda r: f"**{_num(r.rebuild_seconds)}** ({_num(r.rebuild_rate, 0)})",
            lambda t: t.rebuild_s,
            lambda r: r.rebuild_seconds,
            " s",
        ),
        Metric("Rebuild CPU incl. worker processes, s", lambda r: _num(r.rebuild_cpu_seconds)),
        Metric(
            "Index on disk, MB (segments after rebuild → end)",
            lambda r: f"{_num(r.index_bytes / MB)} ({r.segments_after_rebuild} → {r.segments_at_end})",
        ),
        Metric("Server start → `/readyz` 200, s", lambda r: _num(r.server_startup_seconds)),
        Metric(
            "**Search via HTTP p50 / p95 / p99, ms** (uncached)",
            lambda r: f"**{_pcts(r.search.latency_ms if r.search else None)}**",
            lambda t: t.search_p95_ms,
            lambda r: _p95(r.search),
            " ms p95",
        ),
        Metric(
            "&nbsp;&nbsp;in the engine (server `took_ms`) p50 / p95 / p99, ms",
            lambda r: _pcts(r.search.server_took_ms if r.search else None),
        ),
        Metric(
            "&nbsp;&nbsp;HTTP − `took_ms` per request p50 / p95, ms",
            lambda r: _pcts(r.search.overhead_ms if r.search else None, 1, ("p50", "p95")),
        ),
        Metric(
            "&nbsp;&nbsp;server CPU per request, ms",
            lambda r: _num(r.search.server_cpu_ms) if r.search else "n/a",
        ),
        Metric("Search throughput, one client, req/s", lambda r: _num(r.search.per_second) if r.search else "n/a"),
        Metric(
            "Repeated query (result cache) via HTTP p50 / p95, ms",
            lambda r: _pcts(r.search_repeated.latency_ms if r.search_repeated else None, 1, ("p50", "p95")),
        ),
        Metric("Queries with ≥ 1 hit", with_hits),
        Metric(
            "**Suggestions p50 / p95, ms**",
            lambda r: f"**{_pcts(r.suggestions.latency_ms if r.suggestions else None, 1, ('p50', 'p95'))}**",
            lambda t: t.suggest_p95_ms,
            lambda r: _p95(r.suggestions),
            " ms p95",
        ),
        Metric(
            "&nbsp;&nbsp;in the engine (server `took_ms`) p50 / p95, ms",
            lambda r: _pcts(r.suggestions.server_took_ms if r.suggestions else None, 1, ("p50", "p95")),
        ),
        Metric(
            "**Change → searchable p50 / p95, s**",
            lambda r: (
                f"**{_pcts(r.change.visible_s if r.change else None, 3, ('p50', 'p95'))}**"
                + (f" ({r.change.timeouts} timeouts)" if r.change and r.change.timeouts else "")
            ),
            lambda t: t.change_p95_s,
            _change_p95,
            " s p95",
        ),
        Metric(
            f"**Ticket suggestions `GET …/tickets/{{n}}/suggestions`, {ticket_chars}-character ticket,"
            " p50 / p95 / p99, ms**",
            ticket_suggest,
            lambda t: t.ticket_suggest_p95_ms,
            _ticket_suggest_p95,
            " ms p95",
            tickets=True,
        ),
        Metric("&nbsp;&nbsp;in the engine (server `took_ms`) p50 / p95, ms", ticket_took, tickets=True),
        Metric(
            "**Ticket creation → suggestions shown (POST + GET) p50 / p95, ms**",
            ticket_shown,
            lambda t: t.ticket_shown_p95_s,
            _ticket_shown_p95_s,
            " s p95",
            tickets=True,
        ),
        Metric("Ticket creation `POST /api/v1/tickets`: tickets/s (POST p50 / p95, ms)", ticket_create, tickets=True),
        Metric("&nbsp;&nbsp;server CPU per POST (classifier included), ms", ticket_create_cpu, tickets=True),
        Metric("Server RSS, MB (ready → after searches → end)", rss),
        Metric(
            "SQL `LIKE` baseline p50 / p95 / p99, ms (per size, no engine)",
            lambda r: _pcts(r.baseline.latency_ms if r.baseline else None),
        ),
    ]


def side_by_side(results: Sequence[SizeResult], engines: Sequence[str]) -> list[str]:
    """Rows = measurements, columns = each engine at each size, then each engine's 50k target and verdict."""
    sizes = _by_size(results)
    columns = [(size, engine) for size in sizes for engine in engines if engine in sizes[size]]
    header = ["Measurement"] + [f"{size:,} · {engine}" for size, engine in columns]
    for engine in engines:
        header += [f"{engine} target at {TARGET_SIZE // 1000}k", f"{engine} verdict"]
    lines = [_row(header), _row(["---"] + ["---:"] * len(columns) + ["---"] * 2 * len(engines))]
    judged = {engine: _at_target(results, engine) for engine in engines}
    metrics = _metrics(_ticket_chars(results))
    if not any(_tickets(r) for r in results):
        metrics = [metric for metric in metrics if not metric.tickets]
    for metric in metrics:
        cells = [metric.label] + [metric.show(sizes[size][engine]) for size, engine in columns]
        for engine in engines:
            limit = metric.target(targets_for(engine)) if metric.target is not None else None
            result = judged[engine]
            if limit is None or metric.actual is None:
                cells += ["", ""]
            elif result is None:
                cells += [f"≤ {limit:g}{metric.unit}", "— (no 50k run)"]
            else:
                cells += [f"≤ {limit:g}{metric.unit}", _verdict(metric.actual(result), limit, True)]
        lines.append(_row(cells))
    lines.append("")
    lines.append(
        "Bold rows carry targets; verdicts are judged at "
        f"{TARGET_SIZE:,} articles. Whoosh keeps its targets from before the second engine; tantivy's are the"
        " ones it was added for; the two ticket targets are the same for both engines. HTTP − `took_ms` is the time"
        " outside the engine: HTTP, auth (token hash + database lookup), routing, validation and JSON."
    )
    lines.append("")
    return lines


def _overlap(first: Sequence[str], second: Sequence[str]) -> float:
    if not first and not second:
        return 1.0
    return len(set(first) & set(second)) / max(len(set(first)), len(set(second)))


def _sources(slugs: Sequence[str]) -> tuple[str, ...]:
    """The source articles of a page in order of first appearance (copies ``<id>-r<k>`` collapsed)."""
    return tuple(dict.fromkeys(re.sub(r"-r\d+$", "", slug) for slug in slugs))


@dataclass(frozen=True)
class Agreement:
    """How two engines' first pages compare over the same queries or tickets."""

    compared: int = 0
    identical: int = 0
    identical_sources: int = 0
    same_top: int = 0
    same_top_source: int = 0
    overlap: float = math.nan
    source_overlap: float = math.nan

    def counts(self, exact: int, sources: int) -> str:
        """``exact (sources) / compared``."""
        return f"{exact} ({sources}) / {self.compared}" if self.compared else "n/a"

    def overlaps(self) -> str:
        """Mean overlap of the pages, exact (of sources)."""
        if not self.compared:
            return "n/a"
        return f"{self.overlap * 100:.0f} % ({self.source_overlap * 100:.0f} %)"


def _agreement(first: dict[str, tuple[str, ...]], second: dict[str, tuple[str, ...]]) -> Agreement:
    """Identical pages, same top hit and mean overlap, for the slugs and for their source articles."""
    keys = [key for key in first if key in second]
    if not keys:
        return Agreement()
    a = {key: _sources(first[key]) for key in keys}
    b = {key: _sources(second[key]) for key in keys}
    return Agreement(
        compared=len(keys),
        identical=sum(1 for key in keys if first[key] == second[key]),
        identical_sources=sum(1 for key in keys if a[key] == b[key]),
        same_top=sum(1 for key in keys if first[key][:1] == second[key][:1]),
        same_top_source=sum(1 for key in keys if a[key][:1] == b[key][:1]),
        overlap=sum(_overlap(first[key], second[key]) for key in keys) / len(keys),
        source_overlap=sum(_overlap(a[key], b[key]) for key in keys) / len(keys),
    )


def engine_comparison(results: Sequence[SizeResult], engines: Sequence[str]) -> list[str]:
    """How far the engines agree on the same queries and tickets (totals, first page, top hit)."""
    if len(engines) < 2:
        return []
    reference = engines[0]
    lines = [
        "### Do the engines return the same articles?",
        "",
        f"Each engine against {reference}, on the plain queries (totals and first page of 10) and on the"
        " suggestion tickets (hits). In parentheses the same comparison with the copies of one source article"
        " (`<id>-r<k>`, same body, near-identical title) collapsed into that article: copies score (almost) the"
        " same, and the engines break such ties differently. Equal totals are expected (both apply the same"
        " analysis and matching rules); identical pages are not (BM25 details and tie-breaking differ).",
        "",
        _row(
            [
                "Size",
                "Engines",
                "Equal totals",
                "Identical page 1 (same sources, same order)",
                "Same top hit (same source)",
                "Mean page-1 overlap (of sources)",
                "Suggestions: same top hit (same source)",
                "Suggestions: mean overlap (of sources)",
            ]
        ),
        _row(["---:", "---", "---:", "---:", "---:", "---:", "---:", "---:"]),
    ]
    differing: list[str] = []
    for size, by_engine in _by_size(results).items():
        base = by_engine.get(reference)
        if base is None or base.search is None:
            continue
        for engine in engines[1:]:
            other = by_engine.get(engine)
            if other is None or other.search is None:
                continue
            totals_a = {q: total for q, (_p50, total) in base.search.per_query.items()}
            totals_b = {q: total for q, (_p50, total) in other.search.per_query.items()}
            common = [q for q in totals_a if q in totals_b]
            equal = sum(1 for q in common if totals_a[q] == totals_b[q])
            pages = _agreement(base.search.top_slugs, other.search.top_slugs)
            tickets = (
                _agreement(base.suggestions.top_slugs, other.suggestions.top_slugs)
                if base.suggestions and other.suggestions
                else Agreement()
            )
            lines.append(
                _row(
                    [
                        f"{size:,}",
                        f"{engine} vs {reference}",
                        f"{equal} / {len(common)}",
                        pages.counts(pages.identical, pages.identical_sources),
                        pages.counts(pages.same_top, pages.same_top_source),
                        pages.overlaps(),
                        tickets.counts(tickets.same_top, tickets.same_top_source),
                        tickets.overlaps(),
                    ]
                )
            )
            diffs = [q for q in common if totals_a[q] != totals_b[q]]
            if diffs:
                shown = "; ".join(f"`{q}` {totals_a[q]:,} vs {totals_b[q]:,}" for q in diffs[:DIFFERING_QUERIES])
                more = f" and {len(diffs) - DIFFERING_QUERIES} more" if len(diffs) > DIFFERING_QUERIES else ""
                differing.append(f"- {size:,} articles, {reference} vs {engine}: {shown}{more}.")
    lines.append("")
    if differing:
        lines.extend(["Queries whose totals differ:", "", *differing, ""])
    return lines


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
                f"{_share(section, 'Whoosh analysis') * 100:.0f} %; segmentation (jieba / rjieba) "
                f"{(_share(section, 'jieba') + _share(section, 'rjieba')) * 100:.0f} %; our tokenizer glue "
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
