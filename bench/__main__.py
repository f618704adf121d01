"""Benchmark driver.

python -m bench --corpus ../shared/corpus/articles.jsonl --sizes 10000 50000 --out docs/benchmarks.md
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
from bench.scenarios import Options, run_size

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
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"), help="Markdown report")
    parser.add_argument("--repetitions", type=int, default=10, help="measured rounds of the query set")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up rounds of the query set")
    parser.add_argument("--suggestions", type=int, default=100, help="suggestion requests")
    parser.add_argument("--change-samples", type=int, default=20, help="change→searchable samples")
    parser.add_argument("--baseline-repetitions", type=int, default=10, help="rounds of the LIKE baseline")
    parser.add_argument("--profile-articles", type=int, default=2000, help="articles in the profiled rebuild")
    parser.add_argument("--profile-searches", type=int, default=50, help="searches under cProfile")
    parser.add_argument("--breakdown-searches", type=int, default=210, help="searches in the timer breakdown")
    parser.add_argument("--no-experiments", action="store_true", help="skip the measured what-ifs")
    parser.add_argument("--no-profile", action="store_true", help="skip the 'where the time goes' section")
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
    if any(size < 100 for size in args.sizes):
        parser.error("--sizes must be at least 100")
    return args


def where_the_time_goes(
    args: argparse.Namespace, corpus: list[SourceArticle], workdir: Path, largest: tuple[int, Path] | None
) -> profiling.ProfileResult:
    """cProfile and timer breakdowns of a small rebuild and of searches (also at the largest size)."""
    result = profiling.ProfileResult()
    log.info("profiling a rebuild of %d articles", args.profile_articles)
    section, data_dir = profiling.profile_rebuild(corpus, args.profile_articles, workdir)
    result.sections.append(section)
    small = f"{args.profile_articles:,} articles"
    log.info("profiling %d searches", args.profile_searches)
    result.sections.append(profiling.profile_searches(data_dir, args.profile_searches, small))
    log.info("timing a rebuild and %d searches without a profiler", args.breakdown_searches)
    result.breakdowns.append(breakdown.rebuild_breakdown(data_dir, workdir))
    result.breakdowns.append(breakdown.search_breakdown(data_dir, args.breakdown_searches, small))
    if largest is not None and largest[0] > args.profile_articles:
        big = f"{largest[0]:,} articles"
        log.info("profiling and timing searches at %s", big)
        result.sections.append(profiling.profile_searches(largest[1], args.profile_searches, big))
        result.breakdowns.append(breakdown.search_breakdown(largest[1], args.breakdown_searches, big))
    return result


def measure(args: argparse.Namespace, argv: list[str]) -> report.Run:
    """Run every size, then the profiles and the what-ifs."""
    started = time.perf_counter()
    options = Options(
        repetitions=args.repetitions,
        warmup_rounds=args.warmup,
        suggestions=args.suggestions,
        change_samples=args.change_samples,
        baseline_repetitions=args.baseline_repetitions,
    )
    corpus = load_corpus(args.corpus)
    log.info("corpus: %d articles from %s", len(corpus), args.corpus)
    run = report.Run(argv, args.corpus, len(corpus), options, report.machine_info(), datetime.now())
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for size in args.sizes:
            run.results.append(run_size(size, corpus, workdir, options))
            log.info("result %d: %s", size, json.dumps(dataclasses.asdict(run.results[-1]), default=str))
        smallest = min(run.results, key=lambda r: r.size)
        largest = max(run.results, key=lambda r: r.size)
        big_dir, big = workdir / f"size-{largest.size}" / "data", f"{largest.size:,} articles"
        if not args.no_profile:
            run.profile = where_the_time_goes(args, corpus, workdir, (largest.size, big_dir))
        if not args.no_experiments:
            log.info("what-if: index without positions at %d articles", smallest.size)
            run.what_ifs.append(experiments.positions_experiment(workdir / f"size-{smallest.size}" / "data", workdir))
            log.info("what-if: searches without facets at %s", big)
            run.what_ifs.append(experiments.facets_experiment(big_dir, args.breakdown_searches, big))
            log.info("what-if: one index segment at %s", big)
            run.what_ifs.append(experiments.segments_experiment(big_dir, workdir, args.breakdown_searches, big))
            for what_if in run.what_ifs:
                log.info("what-if result: %s", what_if)
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
