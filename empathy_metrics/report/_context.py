"""What every section builder receives: the core results, the options and a runner.

:class:`Context` carries the scored data, the :func:`~empathy_metrics.cohorts.trend` result,
which cells are shown, the options and the results of sections already built
(``ctx.results[section_id]``). :class:`Runner` runs one analysis or figure, turning failures and
warnings into notes of the section instead of stopping the report, and advances the progress bar.
"""

from __future__ import annotations

import datetime as _dt
import time as _time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EmpathyMetricsError
from ..instruments import Instrument
from ..suppression import suppressed_label
from ._tables import Figure, Section

__all__ = ["Context", "Runner", "STEPS"]

#: Progress-bar steps: scoring, trend, mixed model, 4 score figures, reliability and its
#: figure, EFA with 2 figures, CFA, invariance, item figure, norms, methods.
STEPS = 18


class Runner:
    """Runs one analysis, turning failures and warnings into notes of a section."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.done = 0
        self.timings: dict[str, float] = {}

    def __call__(self, section: Section, what: str, func: Callable[[], Any]) -> Any:
        start = _time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = func()
            except ImportError as exc:
                section.notes.append(
                    f"{what} could not be run: the module it needs is not installed ({exc}).")
                result = None
            except EmpathyMetricsError as exc:
                section.notes.append(f"{what} could not be run: {exc}.")
                result = None
            except (ValueError, np.linalg.LinAlgError, ArithmeticError) as exc:
                section.notes.append(
                    f"{what} could not be run ({type(exc).__name__}: {exc}).")
                result = None
        seen = set()
        for w in caught:
            if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
                continue
            msg = f"{what}: {w.message}"
            if msg not in seen:
                seen.add(msg)
                section.notes.append(msg)
        self.timings[what] = _time.perf_counter() - start
        self.step()
        return result

    def step(self, n: int = 1) -> None:
        """Advance the progress bar (never past its total)."""
        n = max(0, min(n, STEPS - self.done))
        if n:
            self.done += n
            self.bar.update(n)


@dataclass
class Context:
    """The inputs of every section builder (see the module docstring)."""

    inst: Instrument
    tr: Any
    time: str
    id: str | None
    cohort: str | None
    group: str | None
    min_cell: int
    times: list[Any]
    time_shown: dict[Any, bool]
    shown: dict[tuple[str, Any], bool]
    frame: pd.DataFrame
    scored: Any
    opts: dict[str, Any]
    run: Runner
    mixed_scales: list[str] = field(default_factory=list)
    mixed_tr: Any = None
    exclusions: Any = None
    source: str | Path | None = None
    digest: str | None = None
    started: float = 0.0
    now: _dt.datetime = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc))
    results: dict[str, Any] = field(default_factory=dict)
    highlights: list[tuple[str, str, str]] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return suppressed_label(self.min_cell)

    def name(self, scale: str) -> str:
        return self.inst.scale_name(scale)

    def with_names(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add the scale's display name (kept beside the id for the CSV)."""
        if frame is None or frame.empty or "scale" not in frame.columns:
            return frame
        order = {s: i for i, s in enumerate([self.main] + [s for s in self.tr.scales
                                                            if s != self.main])}
        out = frame.copy()
        out.insert(out.columns.get_loc("scale") + 1, "scale_name",
                   [self.name(s) for s in out["scale"]])
        rank = out["scale"].map(order).fillna(len(order)).to_numpy()
        return out.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)

    @property
    def main(self) -> str:
        """The headline scale: the total, or the first scale of an instrument without one."""
        return "total" if "total" in self.tr.scales else self.tr.scales[0]

    @property
    def main_words(self) -> str:
        return "Total empathy" if self.main == "total" else f"{self.name(self.main)} score"

    @property
    def main_only_note(self) -> str:
        return (f"The CSV/XLSX table holds every scale; the {self.name(self.main).lower()} "
                "is shown here.")

    @cached_property
    def n_followed(self) -> int:
        """Students who answered at two or more times (0 without an id column)."""
        if self.id is None or self.id not in self.frame.columns:
            return 0
        per = self.frame[[self.id, self.time]].dropna().drop_duplicates()
        return int((per.groupby(self.id)[self.time].nunique() >= 2).sum())

    @property
    def longitudinal(self) -> bool:
        """Whether the same students can be followed (ids repeat across times)."""
        return self.n_followed > 0 and not any("ids do not repeat" in n for n in self.tr.notes)

    def design_sentence(self) -> str:
        """Whether the comparisons between times are of the same or of different students."""
        time = self.time
        if not self.longitudinal:
            return (f"Each {time}'s respondents are counted separately and no student id links "
                    f"answers across {time}s, so a difference between {time}s compares "
                    "different students, not the same students changing.")
        return (f"Comparisons between {time}s compare everyone who answered in each {time} "
                f"(partly different students); {self.n_followed:,} students answered in two or "
                f"more {time}s, and only results marked 'same students' follow individuals.")

    def largest_change(self) -> Any:
        """The shown time whose total differs most (in d) from the reference, or None."""
        bt = self.tr.by_time
        tot = bt[(bt["scale"] == self.main) & ~bt["suppressed"].astype(bool)
                 & (bt["time"] != self.tr.reference)]
        d = pd.to_numeric(tot["d_vs_ref"], errors="coerce").abs()
        if tot.empty or d.isna().all():
            return None
        return tot["time"].iloc[int(np.nanargmax(d.to_numpy()))]

    def fig(self, section: Section, what: str, draw: Callable[[], Any], name: str,
            caption: str, alt: str) -> None:
        def make() -> Figure:
            fig = draw()
            return Figure.from_matplotlib(fig, name, caption, alt)

        figure = self.run(section, what, make)
        if figure is not None:
            section.add(figure)


