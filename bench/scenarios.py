"""One benchmark size end to end: import once, then per engine a rebuild and HTTP search/suggestions/freshness/
tickets and RSS, then the LIKE baseline."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import math
import os
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import server as srv
from bench.corpus import SourceArticle, replica_slug, replicate, write_jsonl
from bench.measure import Summary, cpu_seconds, ms, percentile, rate, stopwatch, summarize
from bench.queries import QUERIES, Ticket, distinct_plan, query_plan, sized_tickets, tickets, unpadded

log = logging.getLogger("bench")
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Options:
    """Workload knobs shared by every size."""

    repetitions: int = 10
    warmup_rounds: int = 1
    suggestions: int = 100
    change_samples: int = 20
    poll_seconds: float = 0.02
    change_timeout: float = 30.0
    baseline_repetitions: int = 10
    cached_rounds: int = 2
    tickets: int = 200  # tickets created for the throughput/suggestion phase, and creation → suggestions samples
    ticket_chars: int = 500
    ticket_warmup: int = 3
    ticket_suggestion_limit: int = 5


@dataclass
class LatencyPhase:
    """Sequential request latencies of one phase."""

    latency_ms: Summary
    requests: int
    seconds: float
    errors: int = 0
    server_took_ms: Summary | None = None
    queries: int = 0
    queries_with_hits: int = 0
    server_cpu_ms: float = math.nan  # server CPU time (user + system) per request
    total_mismatches: int = 0  # padded queries whose total differed from the plain query's
    per_query: dict[str, tuple[float, int]] = field(default_factory=dict)  # query -> (p50 ms, total matches)
    top_slugs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # query or ticket -> first page's slugs
    overhead_ms: Summary | None = None  # per request: client latency - server took_ms (HTTP, auth, JSON, routing)

    @property
    def per_second(self) -> float:
        """Requests per second (sequential)."""
        return rate(self.requests, self.seconds)


@dataclass
class ChangePhase:
    """PATCH → searchable delays."""

    visible_s: Summary
    patch_ms: Summary
    polls: Summary
    timeouts: int


@dataclass
class TicketPhase:
    """Tickets over HTTP: sequential creation, suggestions of the created tickets, creation → suggestions shown."""

    description_chars: Summary  # length of the descriptions sent
    create: LatencyPhase  # sequential POST /api/v1/tickets (latency of the POST; per_second = tickets/s)
    suggestions: LatencyPhase  # GET /api/v1/tickets/{number}/suggestions, once per ticket created above
    shown: LatencyPhase  # POST, then GET its suggestions: wall time from sending the POST to the suggestions
    shown_post_ms: Summary | None = None  # the POST part of ``shown``


@dataclass
class SizeResult:
    """Everything measured for one corpus size with one search engine (import and baseline are per size)."""

    size: int
    engine: str = "whoosh"
    import_seconds: float = 0.0
    import_cpu_seconds: float = 0.0
    imported: int = 0
    import_problems: int = 0
    rebuild_seconds: float = 0.0
    rebuild_cpu_seconds: float = 0.0
    segments_after_rebuild: int = 0
    rebuild_failure: str = ""
    rebuild_failed_seconds: float = 0.0
    segments_at_end: int = 0
    index_documents: int = 0
    index_bytes: int = 0
    database_bytes: int = 0
    server_startup_seconds: float = 0.0
    rss_ready_bytes: int = 0
    rss_after_queries_bytes: int = 0
    rss_end_bytes: int = 0
    search: LatencyPhase | None = None
    search_repeated: LatencyPhase | None = None
    suggestions: LatencyPhase | None = None
    change: ChangePhase | None = None
    baseline: LatencyPhase | None = None
    tickets: TicketPhase | None = None
    load_average: list[float] = field(default_factory=list)  # 1-minute load at start, after HTTP, at end
    notes: list[str] = field(default_factory=list)

    @property
    def import_rate(self) -> float:
        """Articles imported per second."""
        return rate(self.imported, self.import_seconds)

    @property
    def rebuild_rate(self) -> float:
        """Articles indexed per second by a full rebuild."""
        return rate(self.index_documents, self.rebuild_seconds)


def bench_env(data_dir: Path, engine: str = "whoosh") -> dict[str, str]:
    """The process environment with every KB_ setting removed except a data dir (SQLite default) and the engine."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KB_")}
    env["KB_DATA_DIR"] = str(data_dir)
    env["KB_IMPORT_CONTENT_ON_FIRST_START"] = "false"
    env["KB_SEARCH_ENGINE"] = engine
    return env


def use_env(env: dict[str, str]) -> None:
    """Make ``env``'s KB_ settings this process's (Settings() reads os.environ)."""
    for key in [k for k in os.environ if k.startswith("KB_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith("KB_")})


def directory_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def segment_count(data_dir: Path, engine: str = "whoosh") -> int:
    """Segments in the generation ``data_dir`` currently points at (0 when there is none or another engine's)."""
    pointer = data_dir / "index" / "CURRENT"
    try:
        current = json.loads(pointer.read_text(encoding="utf-8"))
        generation = current["generation"]
    except (OSError, ValueError, KeyError):
        return 0
    if current.get("engine", "whoosh") != engine:
        return 0
    if engine == "tantivy":
        from indexer.engine import create_engine
        from indexer.tantivy_index import TantivyIndex

        index = create_engine("tantivy", data_dir / "index")
        try:
            if not isinstance(index, TantivyIndex) or index.open().state != "ok":
                return 0
            return int(index.reader()[0].num_segments)
        finally:
            index.close()
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(data_dir / "index" / generation))
    try:
        return len(ix._segments())
    finally:
        ix.close()


def _progress_logger(label: str, total: int, every: int = 5000) -> Callable[[int], None]:
    done = 0
    next_report = every

    def advance(count: int) -> None:
        nonlocal done, next_report
        done += count
        if done >= next_report or done == total:
            log.info("  %s: %d/%d", label, done, total)
            while next_report <= done:
                next_report += every

    return advance


# --- in-process phases -------------------------------------------------------------------------------------


@dataclass
class PreparedSize:
    """One size's data dir after the (single) import, shared by every engine measured at that size."""

    size: int
    data_dir: Path
    import_seconds: float = 0.0
    import_cpu_seconds: float = 0.0
    imported: int = 0
    import_problems: int = 0
    database_bytes: int = 0
    notes: list[str] = field(default_factory=list)


def import_corpus(size: int, articles: Sequence[SourceArticle], data_dir: Path) -> PreparedSize:
    """Write the replicated corpus and import it with the real importer (no index is built here)."""
    from kb.article import importer
    from kb.config import Settings
    from kb.context import build_services

    prepared = PreparedSize(size, data_dir)
    jsonl = data_dir.parent / f"corpus-{size}.jsonl"
    written = write_jsonl(replicate(articles, size), jsonl)
    log.info("  wrote %d articles to %s", written, jsonl)
    use_env(bench_env(data_dir))
    services = build_services(Settings())
    try:
        cpu = cpu_seconds()
        with stopwatch() as watch:
            report = importer.import_files(
                services.db, [jsonl], actor="bench", progress=_progress_logger("import", written)
            )
        prepared.import_seconds = watch.elapsed
        prepared.import_cpu_seconds = cpu_seconds() - cpu
        prepared.imported = report.imported
        prepared.import_problems = len(report.problems)
        for problem in report.problems[:5]:
            prepared.notes.append(f"import problem: {problem}")
        log.info(
            "  imported %d in %.1f s (%.0f/s)", report.imported, watch.elapsed, rate(report.imported, watch.elapsed)
        )
    finally:
        services.close()
    prepared.database_bytes = sum(directory_bytes(p) for p in data_dir.glob("kb.sqlite3*"))
    return prepared


def new_result(prepared: PreparedSize, engine: str) -> SizeResult:
    """A result for ``engine`` at ``prepared``'s size, with the size's import figures copied in."""
    return SizeResult(
        size=prepared.size,
        engine=engine,
        import_seconds=prepared.import_seconds,
        import_cpu_seconds=prepared.import_cpu_seconds,
        imported=prepared.imported,
        import_problems=prepared.import_problems,
        database_bytes=prepared.database_bytes,
        notes=list(prepared.notes),
    )


def rebuild_index(result: SizeResult, data_dir: Path) -> None:
    """Time a full rebuild with ``result.engine`` (a new generation is built from the database and swapped in)."""
    from kb.config import Settings
    from kb.context import build_services
    from kb.search import indexing

    use_env(bench_env(data_dir, result.engine))
    settings = Settings()
    services = build_services(settings)
    try:
        progress = _progress_logger(f"{result.engine} rebuild", indexing.article_count(services.db))
        cpu = cpu_seconds()
        with stopwatch() as watch:
            try:
                health = indexing.rebuild(services.db, services.index, progress)
            except Exception as exc:
                result.rebuild_failure = f"{type(exc).__name__}: {exc}"
                result.rebuild_failed_seconds = watch.elapsed_so_far()
                log.exception("  indexing.rebuild failed after %.1f s", result.rebuild_failed_seconds)
        if result.rebuild_failure:
            cpu = cpu_seconds()
            with stopwatch() as watch:
                health = single_process_rebuild(services)
            result.notes.append(
                f"`indexing.rebuild` failed after {result.rebuild_failed_seconds:.1f} s with "
                f"`{result.rebuild_failure}`; the rebuild figures are for `index.rebuild(..., workers=1)`."
            )
        result.rebuild_seconds = watch.elapsed
        result.rebuild_cpu_seconds = cpu_seconds() - cpu
        result.index_documents = health.doc_count
        generation = services.index.generation_dir()
        result.index_bytes = directory_bytes(generation) if generation is not None else 0
        log.info(
            "  %s rebuilt the index: %d docs in %.1f s (%.0f/s)",
            result.engine,
            health.doc_count,
            watch.elapsed,
            result.rebuild_rate,
        )
    finally:
        services.close()
    result.segments_after_rebuild = segment_count(data_dir, result.engine)


def single_process_rebuild(services: Any) -> Any:
    """The product's rebuild forced onto one process (``workers=1``), when its signature allows it."""
    from kb.search import indexing, outbox

    if "workers" not in inspect.signature(services.index.rebuild).parameters:
        raise RuntimeError("SearchIndex.rebuild has no workers parameter: no single-process fallback")
    with services.db.session(write=False) as session:
        position = outbox.latest_position(session)
    return services.index.rebuild(indexing._all_documents(services.db), position, None, workers=1)


# --- HTTP phases -----------------------------------------------------------------------------------------


def _client(server: srv.Server, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120.0)


def _timed_searches(
    client: httpx.Client, plan: Sequence[str], server_cpu: Callable[[], float], expected: dict[str, int]
) -> LatencyPhase:
    """Send ``plan`` one request at a time; totals are checked against ``expected`` (by unpadded query)."""
    latencies: list[float] = []
    took: list[float] = []
    with_hits: set[str] = set()
    errors = 0
    mismatches = 0
    by_query: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    top: dict[str, tuple[str, ...]] = {}
    overhead: list[float] = []
    cpu_before = server_cpu()
    with stopwatch() as total:
        for query in plan:
            started = time.perf_counter()
            response = client.get("/api/v1/search", params={"q": query})
            latencies.append(ms(time.perf_counter() - started))
            if response.status_code != 200:
                errors += 1
                continue
            body: dict[str, Any] = response.json()
            took.append(float(body["took_ms"]))
            overhead.append(latencies[-1] - took[-1])
            base = unpadded(query)
            by_query.setdefault(base, []).append(latencies[-1])
            totals[base] = int(body["total"])
            top[base] = tuple(str(hit["slug"]) for hit in body["hits"])
            if body["total"] > 0:
                with_hits.add(base)
            if base in expected and expected[base] != body["total"]:
                mismatches += 1
    cpu_ms = ms(server_cpu() - cpu_before) / len(plan)
    phase = LatencyPhase(
        summarize(latencies),
        len(plan),
        total.elapsed,
        errors,
        summarize(took),
        len({unpadded(q) for q in plan}),
        len(with_hits),
        cpu_ms,
    )
    phase.total_mismatches = mismatches
    phase.per_query = {query: (percentile(values, 50), totals[query]) for query, values in by_query.items()}
    phase.top_slugs = top
    phase.overhead_ms = summarize(overhead)
    return phase


def http_search(
    client: httpx.Client, queries: Sequence[str], options: Options, server_cpu: Callable[[], float]
) -> tuple[LatencyPhase, LatencyPhase]:
    """Warm-up, then (1) every request a distinct cache key, (2) the warm-up queries again (result-cache hits).

    Each query is sent ``repetitions`` times in (1), with trailing punctuation that the analyzer ignores, so
    a result cache cannot answer them; (2) repeats the plain queries ``cached_rounds`` times.
    """
    expected: dict[str, int] = {}
    for query in query_plan(queries, options.warmup_rounds, seed=3):
        response = client.get("/api/v1/search", params={"q": query})
        if response.status_code == 200:
            expected[query] = int(response.json()["total"])
    uncached = _timed_searches(client, distinct_plan(queries, options.repetitions), server_cpu, expected)
    repeated = _timed_searches(client, query_plan(queries, options.cached_rounds, seed=5), server_cpu, expected)
    return uncached, repeated


def http_suggestions(
    client: httpx.Client, ticket_list: Sequence[Ticket], server_cpu: Callable[[], float]
) -> LatencyPhase:
    """POST /api/v1/suggestions with ticket-length text; a few warm-up requests first."""
    for ticket in ticket_list[:5]:
        client.post("/api/v1/suggestions", json={"title": ticket.title, "description": ticket.description})
    latencies: list[float] = []
    took: list[float] = []
    errors = 0
    with_hits = 0
    top: dict[str, tuple[str, ...]] = {}
    overhead: list[float] = []
    cpu_before = server_cpu()
    with stopwatch() as total:
        for number, ticket in enumerate(ticket_list):
            started = time.perf_counter()
            response = client.post(
                "/api/v1/suggestions", json={"title": ticket.title, "description": ticket.description}
            )
            latencies.append(ms(time.perf_counter() - started))
            if response.status_code != 200:
                errors += 1
                continue
            body: dict[str, Any] = response.json()
            took.append(float(body["took_ms"]))
            overhead.append(latencies[-1] - took[-1])
            with_hits += bool(body["hits"])
            top[f"ticket {number + 1}"] = tuple(str(hit["slug"]) for hit in body["hits"])
    cpu_ms = ms(server_cpu() - cpu_before) / len(ticket_list)
    phase = LatencyPhase(
        summarize(latencies),
        len(ticket_list),
        total.elapsed,
        errors,
        summarize(took),
        len(ticket_list),
        with_hits,
        cpu_ms,
    )
    phase.top_slugs = top
    phase.overhead_ms = summarize(overhead)
    return phase


def change_to_searchable(
    reviewer: httpx.Client, viewer: httpx.Client, slugs: Sequence[str], options: Options, seed: int = 5
) -> ChangePhase:
    """PATCH a title with a unique nonsense word, then poll search for it until it is found."""
    rng = random.Random(seed)
    delays: list[float] = []
    patches: list[float] = []
    polls: list[float] = []
    timeouts = 0
    for slug in slugs:
        current = reviewer.get(f"/api/v1/articles/{slug}")
        current.raise_for_status()
        title: str = current.json()["title"]
        word = f"zqx{rng.randrange(10**7, 10**8)}"
        new_title = f"{title[:280]} {word}"
        started = time.perf_counter()
        response = reviewer.patch(f"/api/v1/articles/{slug}", json={"title": new_title})
        patches.append(ms(time.perf_counter() - started))
        response.raise_for_status()
        count = 0
        while True:
            count += 1
            found = viewer.get("/api/v1/search", params={"q": word})
            if found.status_code == 200 and found.json()["total"] >= 1:
                delays.append(time.perf_counter() - started)
                break
            if time.perf_counter() - started > options.change_timeout:
                timeouts += 1
                break
            time.sleep(options.poll_seconds)
        polls.append(float(count))
    return ChangePhase(summarize(delays), summarize(patches), summarize(polls), timeouts)


_LEVELS: tuple[str, ...] = ("high", "medium", "low")


def _ticket_json(ticket: Ticket, number: int) -> dict[str, str]:
    """The POST /api/v1/tickets body of the ``number``-th bench ticket (impact and urgency vary)."""
    return {
        "title": ticket.title,
        "description": ticket.description,
        "reporter_name": f"压测用户 {number % 50}",
        "impact": _LEVELS[number % 3],
        "urgency": _LEVELS[(number // 3) % 3],
    }


class _ErrorLog:
    """Logs the first few non-success responses of a phase (and counts them)."""

    def __init__(self, what: str, shown: int = 3) -> None:
        self.what = what
        self.shown = shown
        self.count = 0

    def __call__(self, response: httpx.Response) -> None:
        """Count ``response`` as an error, logging it if it is one of the first few."""
        self.count += 1
        if self.count <= self.shown:
            log.warning("  %s: HTTP %d %s", self.what, response.status_code, response.text[:300])


def _suggestions_url(number: str) -> str:
    return f"/api/v1/tickets/{number}/suggestions"


def create_tickets(
    client: httpx.Client, ticket_list: Sequence[Ticket], server_cpu: Callable[[], float], first: int = 0
) -> tuple[LatencyPhase, list[str]]:
    """POST /api/v1/tickets for each ticket, one at a time; the latencies and the new ticket numbers."""
    latencies: list[float] = []
    numbers: list[str] = []
    errors = _ErrorLog("POST /api/v1/tickets")
    cpu_before = server_cpu()
    with stopwatch() as total:
        for index, ticket in enumerate(ticket_list):
            started = time.perf_counter()
            response = client.post("/api/v1/tickets", json=_ticket_json(ticket, first + index))
            latencies.append(ms(time.perf_counter() - started))
            if response.status_code != 201:
                errors(response)
                continue
            numbers.append(str(response.json()["number"]))
    cpu_ms = ms(server_cpu() - cpu_before) / max(1, len(ticket_list))
    phase = LatencyPhase(summarize(latencies), len(ticket_list), total.elapsed, errors.count, None, 0, 0, cpu_ms)
    return phase, numbers


def ticket_suggestions(
    client: httpx.Client, numbers: Sequence[str], options: Options, server_cpu: Callable[[], float]
) -> LatencyPhase:
    """GET /api/v1/tickets/{number}/suggestions once per ticket (the engines do not cache suggestions)."""
    latencies: list[float] = []
    took: list[float] = []
    overhead: list[float] = []
    with_hits = 0
    top: dict[str, tuple[str, ...]] = {}
    errors = _ErrorLog("GET /api/v1/tickets/{number}/suggestions")
    params = {"limit": options.ticket_suggestion_limit}
    cpu_before = server_cpu()
    with stopwatch() as total:
        for index, number in enumerate(numbers):
            started = time.perf_counter()
            response = client.get(_suggestions_url(number), params=params)
            latencies.append(ms(time.perf_counter() - started))
            if response.status_code != 200:
                errors(response)
                continue
            body: dict[str, Any] = response.json()
            took.append(float(body["took_ms"]))
            overhead.append(latencies[-1] - took[-1])
            with_hits += bool(body["hits"])
            top[f"ticket {index + 1}"] = tuple(str(hit["slug"]) for hit in body["hits"])
    cpu_ms = ms(server_cpu() - cpu_before) / max(1, len(numbers))
    phase = LatencyPhase(
        summarize(latencies),
        len(numbers),
        total.elapsed,
        errors.count,
        summarize(took),
        len(numbers),
        with_hits,
        cpu_ms,
    )
    phase.top_slugs = top
    phase.overhead_ms = summarize(overhead)
    return phase


def create_then_suggest(
    client: httpx.Client,
    ticket_list: Sequence[Ticket],
    options: Options,
    server_cpu: Callable[[], float],
    first: int = 0,
) -> tuple[LatencyPhase, Summary]:
    """POST a ticket, then GET its suggestions: wall time from sending the POST to having the suggestions."""
    latencies: list[float] = []
    posts: list[float] = []
    took: list[float] = []
    with_hits = 0
    errors = _ErrorLog("POST ticket → GET suggestions")
    params = {"limit": options.ticket_suggestion_limit}
    cpu_before = server_cpu()
    with stopwatch() as total:
        for index, ticket in enumerate(ticket_list):
            started = time.perf_counter()
            created = client.post("/api/v1/tickets", json=_ticket_json(ticket, first + index))
            posted = time.perf_counter()
            if created.status_code != 201:
                errors(created)
                continue
            response = client.get(_suggestions_url(str(created.json()["number"])), params=params)
            finished = time.perf_counter()
            if response.status_code != 200:
                errors(response)
                continue
            body: dict[str, Any] = response.json()
            latencies.append(ms(finished - started))
            posts.append(ms(posted - started))
            took.append(float(body["took_ms"]))
            with_hits += bool(body["hits"])
    cpu_ms = ms(server_cpu() - cpu_before) / max(1, len(ticket_list))
    phase = LatencyPhase(
        summarize(latencies),
        len(ticket_list),
        total.elapsed,
        errors.count,
        summarize(took),
        len(ticket_list),
        with_hits,
        cpu_ms,
    )
    return phase, summarize(posts)


def http_tickets(
    client: httpx.Client, articles: Sequence[SourceArticle], options: Options, server_cpu: Callable[[], float]
) -> TicketPhase:
    """The ticket workload with an engineer's token: warm-up, creation throughput, suggestions, creation → shown."""
    count = options.tickets
    texts = sized_tickets(articles, options.ticket_warmup + 2 * count, chars=options.ticket_chars)
    warmup, created, flows = texts[: options.ticket_warmup], texts[options.ticket_warmup :][:count], texts[-count:]
    _phase, warm_numbers = create_tickets(client, warmup, server_cpu)
    for number in warm_numbers:
        client.get(_suggestions_url(number), params={"limit": options.ticket_suggestion_limit})
    create, numbers = create_tickets(client, created, server_cpu, first=len(warmup))
    suggestions = ticket_suggestions(client, numbers, options, server_cpu)
    shown, shown_posts = create_then_suggest(client, flows, options, server_cpu, first=len(warmup) + count)
    lengths = summarize([float(len(ticket.description)) for ticket in created + flows])
    return TicketPhase(lengths, create, suggestions, shown, shown_posts)


def run_http(
    result: SizeResult,
    articles: Sequence[SourceArticle],
    env: dict[str, str],
    data_dir: Path,
    options: Options,
) -> None:
    """Start the real server and run the search, suggestion, freshness and ticket workloads against it."""
    log_path = data_dir.parent / f"server-{result.engine}.log"
    server = srv.start_server(env, REPO_ROOT, log_path)
    try:
        result.server_startup_seconds = server.startup_seconds
        log.info("  %s server ready on port %d after %.1f s", result.engine, server.port, server.startup_seconds)
        viewer_token = srv.create_token(env, REPO_ROOT, role="viewer", name="bench")
        reviewer_token = srv.create_token(env, REPO_ROOT, role="reviewer", name="bench-reviewer")
        result.rss_ready_bytes = srv.rss_bytes(server.pid)
        server_cpu = functools.partial(srv.cpu_seconds, server.pid)
        with _client(server, viewer_token) as viewer, _client(server, reviewer_token) as reviewer:
            result.search, result.search_repeated = http_search(viewer, QUERIES, options, server_cpu)
            result.rss_after_queries_bytes = srv.rss_bytes(server.pid)
            log.info(
                "  search: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, %.1f req/s",
                result.search.latency_ms.p50,
                result.search.latency_ms.p95,
                result.search.latency_ms.p99,
                result.search.per_second,
            )
            result.suggestions = http_suggestions(viewer, tickets(articles, options.suggestions), server_cpu)
            log.info(
                "  suggestions: p50 %.1f ms, p95 %.1f ms",
                result.suggestions.latency_ms.p50,
                result.suggestions.latency_ms.p95,
            )
            rng = random.Random(result.size)
            originals = min(result.size, len(articles))
            slugs = [replica_slug(articles[i].id, 0) for i in rng.sample(range(originals), options.change_samples)]
            result.change = change_to_searchable(reviewer, viewer, slugs, options)
            log.info(
                "  change→searchable: p50 %.3f s, p95 %.3f s (%d timeouts)",
                result.change.visible_s.p50,
                result.change.visible_s.p95,
                result.change.timeouts,
            )
        if options.tickets > 0:
            engineer_token = srv.create_token(env, REPO_ROOT, role="engineer", name="bench-engineer")
            with _client(server, engineer_token) as engineer:
                result.tickets = phase = http_tickets(engineer, articles, options, server_cpu)
            log.info(
                "  tickets: POST p50 %.1f ms, p95 %.1f ms, %.1f tickets/s (%d errors); suggestions p50 %.1f ms,"
                " p95 %.1f ms, p99 %.1f ms (%d errors); created → shown p50 %.1f ms, p95 %.1f ms (%d errors)",
                phase.create.latency_ms.p50,
                phase.create.latency_ms.p95,
                phase.create.per_second,
                phase.create.errors,
                phase.suggestions.latency_ms.p50,
                phase.suggestions.latency_ms.p95,
                phase.suggestions.latency_ms.p99,
                phase.suggestions.errors,
                phase.shown.latency_ms.p50,
                phase.shown.latency_ms.p95,
                phase.shown.errors,
            )
        result.rss_end_bytes = srv.rss_bytes(server.pid)
    finally:
        srv.stop_server(server)


# --- baseline --------------------------------------------------------------------------------------------

LIKE_SQL = (
    "SELECT slug FROM article WHERE status = 'published' "
    "AND (title LIKE :p OR symptoms LIKE :p OR body LIKE :p) LIMIT 10"
)


def like_baseline(database: Path, queries: Sequence[str], options: Options) -> LatencyPhase:
    """The same queries as a plain substring scan with sqlite3 (no index can help a leading '%')."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        for query in query_plan(queries, options.warmup_rounds, seed=3):
            connection.execute(LIKE_SQL, {"p": f"%{query}%"}).fetchall()
        plan = query_plan(queries, options.baseline_repetitions)
        latencies: list[float] = []
        with_hits: set[str] = set()
        with stopwatch() as total:
            for query in plan:
                started = time.perf_counter()
                rows = connection.execute(LIKE_SQL, {"p": f"%{query}%"}).fetchall()
                latencies.append(ms(time.perf_counter() - started))
                if rows:
                    with_hits.add(query)
    finally:
        connection.close()
    return LatencyPhase(summarize(latencies), len(plan), total.elapsed, 0, None, len(set(queries)), len(with_hits))


# --- one size --------------------------------------------------------------------------------------------


def run_engine(prepared: PreparedSize, engine: str, articles: Sequence[SourceArticle], options: Options) -> SizeResult:
    """Rebuild the index of ``prepared``'s data dir with ``engine``, then the HTTP phases with that engine."""
    log.info("size %d, engine %s", prepared.size, engine)
    result = new_result(prepared, engine)
    result.load_average.append(os.getloadavg()[0])
    rebuild_index(result, prepared.data_dir)
    run_http(result, articles, bench_env(prepared.data_dir, engine), prepared.data_dir, options)
    result.load_average.append(os.getloadavg()[0])
    result.segments_at_end = segment_count(prepared.data_dir, engine)
    return result


def run_size(
    size: int,
    articles: Sequence[SourceArticle],
    workdir: Path,
    options: Options,
    engines: Sequence[str],
    after_engine: Callable[[SizeResult, Path], None] | None = None,
) -> list[SizeResult]:
    """Import once into a fresh data dir, measure every engine in turn, then the LIKE baseline (shared by all).

    ``after_engine(result, data_dir)`` runs after each engine, while its index is still the current one.
    """
    data_dir = workdir / f"size-{size}" / "data"
    data_dir.mkdir(parents=True)
    log.info("size %d: data dir %s", size, data_dir)
    prepared = import_corpus(size, articles, data_dir)
    results: list[SizeResult] = []
    for engine in engines:
        results.append(run_engine(prepared, engine, articles, options))
        if after_engine is not None:
            after_engine(results[-1], data_dir)
    baseline = like_baseline(data_dir / "kb.sqlite3", QUERIES, options)
    log.info("  LIKE baseline: p50 %.1f ms, p95 %.1f ms", baseline.latency_ms.p50, baseline.latency_ms.p95)
    load = os.getloadavg()[0]
    for result in results:
        result.baseline = baseline
        result.load_average.append(load)
    return results
