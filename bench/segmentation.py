"""jieba vs rjieba on the Han runs of a corpus: identical output (user dictionary in both) and throughput.

python3 -m bench.segmentation --corpus ../shared/corpus/articles.jsonl
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.corpus import SourceArticle, load_corpus
from indexer import analysis
from indexer.analysis import INDEX, Segmenter

MODES = ("default", "search")


@dataclass(frozen=True)
class Row:
    """One line of the report."""

    what: str
    mode: str
    items: int
    identical: int | None
    chars: int
    seconds: float

    @property
    def chars_per_second(self) -> float:
        """Throughput."""
        return self.chars / self.seconds if self.seconds > 0 else float("nan")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python3 -m bench.segmentation", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True, help="JSON Lines corpus: id, title, body, tags")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per segmenter and mode (best is kept)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where jieba keeps its dictionary cache")
    parser.add_argument("--examples", type=int, default=5, help="differing runs to print per mode")
    parser.add_argument("--no-analyzer", action="store_true", help="skip timing the whole analyzer")
    return parser.parse_args(argv)


def han_runs(articles: Sequence[SourceArticle]) -> list[str]:
    """The Han runs of every title and body, normalised, exactly as the analyzer hands them to the segmenter."""
    runs: list[str] = []
    for article in articles:
        for text in (article.title, article.body):
            runs.extend(analysis.segmenter_inputs(analysis.normalize(text)))
    return runs


def best_time(work: Callable[[], object], repeat: int) -> float:
    """The shortest of ``repeat`` wall-clock timings of ``work()``."""
    timings = []
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def segment_all(segmenter: Segmenter, runs: Sequence[str], mode: str) -> list[list[tuple[str, int, int]]]:
    """Every run's (word, start, end) tokens; jieba's generator is drained like rjieba's list."""
    return [[(word, start, end) for word, start, end in segmenter.tokenize(run, mode=mode)] for run in runs]


def drain(segmenter: Segmenter, runs: Sequence[str], mode: str) -> int:
    """Segment every run and only count the tokens: the segmenter's own cost plus the least a caller pays."""
    count = 0
    for run in runs:
        for _token in segmenter.tokenize(run, mode=mode):
            count += 1
    return count


def table(rows: Sequence[Row]) -> str:
    """The Markdown report."""
    baseline = {row.mode: row.chars_per_second for row in rows if row.what.startswith("jieba")}
    lines = [
        "| segmenter | mode | inputs | identical to jieba | characters | seconds | characters/s | vs jieba |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        identical = "—" if row.identical is None else f"{row.identical:,} ({row.identical / row.items:.2%})"
        speedup = row.chars_per_second / baseline[row.mode] if row.mode in baseline else float("nan")
        lines.append(
            f"| {row.what} | {row.mode} | {row.items:,} | {identical} | {row.chars:,} | {row.seconds:.3f} "
            f"| {row.chars_per_second:,.0f} | {speedup:.1f}× |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the Markdown table."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    articles = load_corpus(args.corpus)
    runs = han_runs(articles)
    chars = sum(len(run) for run in runs)
    started = time.perf_counter()
    jieba_segmenter = analysis.load_segmenter("jieba", args.cache_dir)
    jieba_load = time.perf_counter() - started
    started = time.perf_counter()
    rjieba_segmenter = analysis.load_segmenter("rjieba", args.cache_dir)
    rjieba_load = time.perf_counter() - started

    rows: list[Row] = []
    differing: dict[str, list[tuple[str, object, object]]] = {}
    for mode in MODES:
        expected = segment_all(jieba_segmenter, runs, mode)
        actual = segment_all(rjieba_segmenter, runs, mode)
        differing[mode] = [(r, e, a) for r, e, a in zip(runs, expected, actual, strict=True) if e != a]
        seconds = best_time(partial(drain, jieba_segmenter, runs, mode), args.repeat)
        rows.append(Row("jieba", mode, len(runs), len(runs), chars, seconds))
        seconds = best_time(partial(drain, rjieba_segmenter, runs, mode), args.repeat)
        rows.append(Row("rjieba", mode, len(runs), len(runs) - len(differing[mode]), chars, seconds))

    if not args.no_analyzer:
        analysis.initialize(args.cache_dir)
        texts = [text for article in articles for text in (article.title, article.body)]
        text_chars = sum(len(text) for text in texts)
        analysed: dict[str, list[list[str]]] = {}
        for name in ("jieba", "rjieba"):
            analysis.use_segmenter(name)
            analysed[name] = [analysis.analyze(text, INDEX) for text in texts]
            seconds = best_time(lambda: [analysis.analyze(text, INDEX) for text in texts], args.repeat)
            same = sum(a == b for a, b in zip(analysed["jieba"], analysed[name], strict=True))
            rows.append(Row(f"{name}: whole analyzer", "index", len(texts), same, text_chars, seconds))

    print(f"Corpus {args.corpus}: {len(articles):,} articles, {len(runs):,} Han runs, {chars:,} Han characters.")
    print(f"Loading with the user dictionary: jieba {jieba_load:.2f} s, rjieba {rjieba_load:.2f} s (jieba + rjieba).")
    print()
    print(table(rows))
    for mode in MODES:
        for run, reference, fast in differing[mode][: args.examples]:
            print(f"\n{mode}: {run}\n  jieba  {reference}\n  rjieba {fast}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
