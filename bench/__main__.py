"""Benchmark driver: both search engines side by side at each size.

python -m bench --corpus ../shared/corpus/articles.jsonl --sizes 10000 50000 --out docs/benchmarks.md

Per size the replicated corpus is imported once; then, for each engine in turn, a full rebuild with that engine
is timed and the real server is started with KB_SEARCH_ENGINE=<engine> for the HTTP workloads (search,
suggestions, change → searchable, tickets). The SQL LIKE
baseline runs once per size. The profiles ("where the time goes") and the what-ifs are Whoosh-only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import pickle
import shlex
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench import breakdown, experiments, profiling, report
from bench.corpus import SourceArticle, load_corpus
from bench.scenarios import Options, SizeResult, run_size
from indexer.engine import ENGINES

log = logging.getLogger("bench")
DEFAULT_NOTES = Path(__file__).resolve().parent / "findings.md"
DEFAULT_SAVE = Path(tempfile.gettempdir()) / "kb-bench-last-run.pickle"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, help="JSON Lines corpus: id, title, body, tags (required)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000], help="article counts")
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=ENGINES,
        default=list(ENGINES),
        help="search engines to measure, in this order (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"), help="Markdown report")
    parser.add_argument("--repetitions", type=int, default=10, help="measured rounds of the query set")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up rounds of the query set")
    parser.add_argument("--suggestions", type=int, default=100, help="suggestion requests")
    parser.add_argument("--change-samples", type=int, default=20, help="change→searchable samples")
    parser.add_argument(
        "--tickets",
        type=int,
        default=200,
        help="tickets created one at a time (throughput), whose suggestions are then timed, and as many"
        " creation → suggestions samples (0: skip the ticket phase; default: %(default)s)",
    )
    parser.add_argument(
        "--ticket-chars", type=int, default=500, help="description length of those tickets (default: %(default)s)"
    )
    parser.add_argument("--baseline-repetitions", type=int, default=10, help="rounds of the LIKE baseline")
    parser.add_argument("--profile-articles", type=int, default=2000, help="articles in the profiled rebuild")
    parser.add_argument("--profile-searches", type=int, default=50, help="searches under cProfile")
    parser.add_argument("--breakdown-searches", type=int, default=210, help="searches in the timer breakdown")
    parser.add_argument(
        "--experiments",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run the measured what-ifs (Whoosh only, several minutes at 50k; default: off)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the Whoosh 'where the time goes' section")
    parser.add_argument("--workdir", type=Path, default=None, help="where data dirs go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs afterwards")
    parser.add_argument(
        "--notes",
        type=Path,
        default=DEFAULT_NOTES,
        help="hand-written analysis appended to the report if the file exists",
    )
    parser.add_argument("--save", type=Path, default=DEFAULT_SAVE, help="where the raw measurements are pickled")
    parser.add_argument(
        "--rerender",
        type=Path,
        default=None,
        help="do not measure: render the report from measurements saved by --save",
    )
    args = parser.parse_args(argv)
    if args.rerender is None and args.corpus is None:
        parser.error("--corpus is required (unless --rerender)")
    if args.tickets < 0 or args.ticket_chars < 50:
        parser.error("--tickets must be at least 0 and --ticket-chars at least 50")
    if any(size < 100 for size in args.sizes):
        parser.error("--sizes must be at least 100")
    args.sizes = sorted(set(args.sizes))
    args.engines = list(dict.fromkeys(args.engines))
    return args


def profile_small(args: argparse.Namespace, corpus: list[SourceArticle], workdir: Path) -> profiling.ProfileResult:
    """cProfile and timer breakdowns of a small single-process Whoosh rebuild and of searches against it."""
    result = profiling.ProfileResult()
    log.info("profiling a rebuild of %d articles (whoosh)", args.profile_articles)
    section, data_dir = profiling.profile_rebuild(corpus, args.profile_articles, workdir)
    result.sections.append(section)
    small = f"{args.profile_articles:,} articles"
    log.info("profiling %d searches (whoosh)", args.profile_searches)
    result.sections.append(profiling.profile_searches(data_dir, args.profile_searches, small))
    log.info("timing a rebuild and %d searches without a profiler (whoosh)", args.breakdown_searches)
    result.breakdowns.append(breakdown.rebuild_breakdown(data_dir, workdir))
    result.breakdowns.append(breakdown.search_breakdown(data_dir, args.breakdown_searches, small))
    return result


class WhooshAtLargest:
    """The Whoosh-only work on the largest data dir, run while that dir's index is still Whoosh's."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.largest = max(args.sizes)
        self.smallest = min(args.sizes)
        self.profile = profiling.ProfileResult()
        self.what_ifs: list[experiments.Experiment] = []

    def __call__(self, result: SizeResult, data_dir: Path) -> None:
        """Profile and time searches (and run the what-ifs) after the Whoosh phase of the largest size."""
        if result.engine != "whoosh" or result.size != self.largest:
            return
        args = self.args
        big = f"{result.size:,} articles"
        if not args.no_profile and result.size > args.profile_articles:
            log.info("profiling and timing whoosh searches at %s", big)
            self.profile.sections.append(profiling.profile_searches(data_dir, args.profile_searches, big))
            self.profile.breakdowns.append(breakdown.search_breakdown(data_dir, args.breakdown_searches, big))
        if args.experiments:
            small_dir = self.workdir / f"size-{self.smallest}" / "data"
            log.info("what-if: index without positions at %d articles", self.smallest)
            self.what_ifs.append(experiments.positions_experiment(small_dir, self.workdir))
            log.info("what-if: searches without facets at %s", big)
            self.what_ifs.append(experiments.facets_experiment(data_dir, args.breakdown_searches, big))
            log.info("what-if: one index segment at %s", big)
            self.what_ifs.append(experiments.segments_experiment(data_dir, self.workdir, args.breakdown_searches, big))
            for what_if in self.what_ifs:
                log.info("what-if result: %s", what_if)


def measure(args: argparse.Namespace, argv: list[str]) -> report.Run:
    """Run every size with every engine, then the Whoosh profiles (and what-ifs, if asked for)."""
    started = time.perf_counter()
    options = Options(
        repetitions=args.repetitions,
        warmup_rounds=args.warmup,
        suggestions=args.suggestions,
        change_samples=args.change_samples,
        tickets=args.tickets,
        ticket_chars=args.ticket_chars,
        baseline_repetitions=args.baseline_repetitions,
    )
    corpus = load_corpus(args.corpus)
    log.info("corpus: %d articles from %s; engines: %s", len(corpus), args.corpus, ", ".join(args.engines))
    run = report.Run(argv, args.corpus, len(corpus), options, report.machine_info(), datetime.now())
    run.engines = list(args.engines)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    whoosh_work = WhooshAtLargest(args, workdir)
    if args.experiments and "whoosh" not in args.engines:
        log.warning("--experiments needs the whoosh engine in --engines: skipped")
    try:
        for size in args.sizes:
            for result in run_size(size, corpus, workdir, options, args.engines, whoosh_work):
                run.results.append(result)
                log.info("result %d %s: %s", size, result.engine, json.dumps(dataclasses.asdict(result), default=str))
        if not args.no_profile and "whoosh" in args.engines:
            profile = profile_small(args, corpus, workdir)
            profile.sections.extend(whoosh_work.profile.sections)
            profile.breakdowns.extend(whoosh_work.profile.breakdowns)
            run.profile = profile
        run.what_ifs = whoosh_work.what_ifs
    finally:
        if args.keep:
            log.info("data kept in %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    run.total_seconds = time.perf_counter() - started
    return run


def write(run: report.Run, out: Path, notes_path: Path | None) -> None:
    """Render the Markdown report of ``run`` (with the hand-written notes, if any) to ``out``."""
    notes = notes_path.read_text(encoding="utf-8") if notes_path and notes_path.is_file() else None
    text = report.render(
        run.results,
        run.profile,
        command="python -m bench " + shlex.join(run.argv),
        corpus=run.corpus,
        corpus_articles=run.corpus_articles,
        options=run.options,
        machine=run.machine,
        started=run.started_at,
        total_seconds=run.total_seconds,
        notes=notes,
        what_ifs=run.what_ifs,
        engines=getattr(run, "engines", ()),
    )
    report.write_report(text, out)
    log.info("wrote %s", out)


def main(argv: list[str] | None = None) -> int:
    """Measure (or load a saved run with --rerender) and write the report."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.rerender is not None:
        with open(args.rerender, "rb") as handle:
            run: report.Run = pickle.load(handle)
    else:
        run = measure(args, argv)
        with open(args.save, "wb") as handle:
            pickle.dump(run, handle)
        log.info("saved the measurements to %s (re-render with --rerender)", args.save)
    write(run, args.out, args.notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
