"""Timing helpers and latency summaries (percentiles by linear interpolation, like numpy's default)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolating linearly between closest ranks."""
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Distribution of a set of samples, in the samples' unit."""

    count: int
    p50: float
    p95: float
    p99: float
    mean: float
    minimum: float
    maximum: float

    @property
    def empty(self) -> bool:
        """Whether there were no samples."""
        return self.count == 0


def summarize(values: Sequence[float]) -> Summary:
    """Percentiles, mean and range of ``values``."""
    if not values:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    return Summary(
        count=len(values),
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        p99=percentile(values, 99),
        mean=sum(values) / len(values),
        minimum=min(values),
        maximum=max(values),
    )


class Stopwatch:
    """Elapsed wall-clock seconds of a ``with`` block (``elapsed`` is set when the block exits)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.elapsed = 0.0

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.elapsed = time.perf_counter() - self.started

    def elapsed_so_far(self) -> float:
        """Seconds since the block started (inside the block)."""
        return time.perf_counter() - self.started


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """``with stopwatch() as sw: ...`` then read ``sw.elapsed`` (seconds)."""
    with Stopwatch() as watch:
        yield watch


def rate(count: int, seconds: float) -> float:
    """Items per second (NaN for a zero duration)."""
    return count / seconds if seconds > 0 else math.nan


def ms(seconds: float) -> float:
    """Seconds to milliseconds."""
    return seconds * 1000.0


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished (reaped) child processes."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system
