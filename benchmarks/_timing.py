"""Timing helpers and the result row shared by the benchmark tasks (benchmarks/run.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Timing", "Row", "best_of", "guarded", "_ratio_at_least", "peak_memory",
           "fmt_seconds"]


@dataclass
class Timing:
    seconds: float | None
    note: str = ""


def best_of(fn: Callable[[], Any], repeat: int) -> Timing:
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return Timing(min(times))


def guarded(fn: Callable[[], Timing]) -> Timing:
    """Run a peer; any failure becomes ``unavailable (reason)`` instead of stopping the run."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a peer failing must not stop the benchmark
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return Timing(None, f"unavailable ({reason[:110]})")


@dataclass
class Row:
    task: str
    ours: Timing
    peer_name: str
    peer: Timing
    target: str = "-"
    check: Callable[[float, float | None], bool] | None = None

    def ratio(self) -> float | None:
        if self.ours.seconds and self.peer.seconds:
            return self.peer.seconds / self.ours.seconds
        return None

    def met(self) -> str:
        if self.check is None:
            return "-"
        if self.ours.seconds is None:
            return "n/a"
        ok = self.check(self.ours.seconds, self.ratio())
        return "n/a" if ok is None else ("yes" if ok else "NO")


def _ratio_at_least(x: float) -> Callable[[float, float | None], bool | None]:
    return lambda ours, ratio: None if ratio is None else ratio >= x


def peak_memory(fn: Callable[[], Any]) -> float:
    """Peak traced allocation (MB) while ``fn`` runs (numpy reports to tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def fmt_seconds(t: Timing) -> str:
    return "-" if t.seconds is None else f"{t.seconds:.3f}"
