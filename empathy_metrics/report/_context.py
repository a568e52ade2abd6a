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
from ._figures import FigureLabels, render_figure
from ._tables import Column, Figure, Section
from .labels import Labels

__all__ = ["Context", "Runner", "Progress", "STEPS"]

#: Progress-bar steps: scoring, trend, mixed model, 4 score figures, reliability and its
#: figure, EFA with 2 figures, CFA, invariance, item figure, norms, methods.
STEPS = 18


class Progress:
    """Progress of the report on standard error: a bar in a terminal, otherwise one line per
    step that took a second or more (``mode`` ``"bar"``, ``"lines"`` or ``"off"``)."""

    def __init__(self, mode: str, total: int, label: str = "Building report") -> None:
        self.mode, self.total, self.label = mode, total, label
        self._bar: Any = None
        self._cm: Any = None

    @staticmethod
    def mode_for(enabled: bool | None) -> str:
        """``None``: a bar in a terminal, else silent; ``True``: a bar in a terminal, else
        lines; ``False``: silent."""
        import sys

        tty = bool(getattr(sys.stderr, "isatty", lambda: False)())
        if enabled is False or (enabled is None and not tty):
            return "off"
        return "bar" if tty else "lines"

    def __enter__(self) -> Progress:
        if self.mode == "bar":
            import sys

            import click

            self._cm = click.progressbar(length=self.total, label=self.label, file=sys.stderr,
                                         item_show_func=lambda what: what or "")
            self._bar = self._cm.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._cm is not None:
            self._cm.__exit__(*exc)

    def update(self, n: int, what: str | None = None, seconds: float | None = None) -> None:
        if self.mode == "bar" and self._bar is not None:
            self._bar.update(n, what)
        elif self.mode == "lines" and what and seconds is not None and seconds >= 1.0:
            import sys

            print(f"{self.label}: {what} ({seconds:.1f} s)", file=sys.stderr, flush=True)


class Runner:
    """Runs one analysis, turning failures and warnings into notes of a section."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.done = 0
        self.timings: dict[str, float] = {}

    def timed(self, what: str, func: Callable[[], Any]) -> Any:
        """Run a core step whose errors stop the report (timed, shown in the progress)."""
        start = _time.perf_counter()
        result = func()
        self.timings[what] = _time.perf_counter() - start
        self.step(1, what, self.timings[what])
        return result

    def __call__(self, section: Section, what: str, func: Callable[[], Any]) -> Any:
        """Run ``func`` under :meth:`guard`, timed, and advance the progress."""
        start = _time.perf_counter()
        result = self.guard(section, what, func)
        self.timings[what] = _time.perf_counter() - start
        self.step(1, what, self.timings[what])
        return result

    def guard(self, section: Section, what: str, func: Callable[[], Any]) -> Any:
        """``func()``, or ``None`` with a note in ``section`` when it fails with a missing
        module, an input/data error or a numerical error; its warnings become notes."""
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
        return result

    def step(self, n: int = 1, what: str | None = None, seconds: float | None = None) -> None:
        """Advance the progress (never past its total); ``what`` took ``seconds``."""
        n = max(0, min(n, STEPS - self.done))
        if n or what:
            self.done += n
            try:
                self.bar.update(n, what, seconds)
            except TypeError:  # a plain bar: update(n)
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
    labels: Labels = field(default_factory=Labels)
    figures: Any = None  # a FigurePool: figures written as SVG in a second process

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
        scales = out["scale"].tolist()
        out.insert(out.columns.get_loc("scale") + 1, "scale_name",
                   [self.name(s) for s in scales])
        # rank by a list lookup: Series.map(dict) costs ~0.7 ms on an arrow string column
        rank = np.array([order.get(s, len(order)) for s in scales])
        return out.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)

    @cached_property
    def time_small(self) -> dict[Any, bool]:
        """Time -> whether a hidden time was hidden for being small (``primary_suppressed`` of
        the scores table); a hidden time that is not small is a complement (issue 8)."""
        bt = self.tr.by_time
        bt = bt[bt["scale"] == self.main]
        prim = bt.get("primary_suppressed", bt["suppressed"])
        return {t: bool(p) for t, p in zip(bt["time"], prim, strict=True)}

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

    # ------------------------------------------------------------------ display labels
    @property
    def tw(self) -> str:
        """The time column as a word in a sentence (its label, see :mod:`.labels`)."""
        return self.labels.word(self.time)

    @property
    def cw(self) -> str:
        """The cohort column in a sentence."""
        return self.labels.word(self.cohort) if self.cohort else "cohort"

    @property
    def gw(self) -> str:
        """The group column in a sentence."""
        return self.labels.word(self.group) if self.group else "group"

    def header(self, column: str | None) -> str:
        """A column's label as a table header."""
        return self.labels.header(column) if column else ""

    def show(self, column: str | None, value: Any) -> str:
        """A value of ``column`` as shown (its label, or its default display)."""
        return self.labels.text(column, value)

    def when(self, t: Any) -> str:
        """A time in a sentence: ``year 3`` (column word and code), or the time's own label
        when it has one (``PGY-3``; a REDCap event ``year_3_arm_1`` -> ``Year 3``)."""
        shown = self.show(self.time, t)
        if shown != str(t) and not shown.replace(".", "", 1).isdigit():
            return shown
        return f"{self.tw} {shown}"

    def vcol(self, data_col: str, variable: str | None, header: str | None = None) -> Column:
        """A table column showing the labelled values of ``variable`` held in ``data_col``."""
        return Column(header if header is not None else self.header(variable),
                      lambda r: self.show(variable, r.get(data_col)), numeric=False, key=True)

    def roles(self) -> dict[str, str]:
        """Table columns holding values of the time, cohort or group column -> that column."""
        out = {c: self.time for c in ("time", "from", "to")}
        if self.cohort:
            out.update({c: self.cohort for c in (self.cohort, "cohort", "reference_cohort")})
        if self.group:
            out.update({c: self.group for c in (self.group, "group", "reference_group")})
        return out

    def export_labels(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A table's CSV/XLSX form with labelled values and headers (see :mod:`.labels`)."""
        roles = self.roles()
        out = frame
        for col, var in roles.items():
            if col in out.columns:
                if out is frame:
                    out = frame.copy()
                out[col] = [v if v is None or (isinstance(v, float) and v != v)
                            else self.labels.value(var, v) for v in out[col].tolist()]
        rename = {}
        for col in out.columns:
            var = self.time if col == "time" else col if col in (self.cohort, self.group) \
                else None
            if var is not None and self.labels.has_column(var):
                rename[col] = self.labels.column(var)
        return out.rename(columns=rename) if rename else out

    @cached_property
    def figure_labels(self) -> FigureLabels:
        """The display labels of every figure (time ticks, "year 3" phrases, cohort codes,
        column words; :class:`~empathy_metrics.report._figures.FigureLabels`)."""
        words = {col: self.labels.word(col) for col in (self.time, self.cohort, self.group)
                 if col and self.labels.has_column(col)}
        cohorts = {}
        if self.cohort is not None and self.cohort in self.frame.columns:
            cohorts = {str(v): self.show(self.cohort, v)
                       for v in self.frame[self.cohort].dropna().unique()}
        return FigureLabels(
            time=self.time, ticks={str(t): self.show(self.time, t) for t in self.times},
            when={str(t): self.when(t) for t in self.times}, cohorts=cohorts, words=words,
            headers={col: self.labels.header(col) for col in words})

    def design_sentence(self) -> str:
        """Whether the comparisons between times are of the same or of different students."""
        time = self.tw
        if not self.longitudinal:
            return (f"Each {time}'s respondents are counted separately and no student id links "
                    f"answers across {time}s, so a difference between {time}s compares "
                    "different students, not the same students changing.")
        n = self.n_followed
        count = f"{n:,}" if n >= self.min_cell else f"fewer than {self.min_cell}"
        return (f"Comparisons between {time}s compare everyone who answered in each {time} "
                f"(partly different students); {count} students answered in two or "
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
        """Draw a figure (labels applied) into ``section``.

        With a second process (``self.figures``, a :class:`~empathy_metrics.report._pool.
        FigurePool`) a picklable ``draw`` (``functools.partial(plots.trend_plot, tr, ...)``)
        is drawn and written there; another is drawn here and written there; the SVG is put
        in place by :meth:`~empathy_metrics.report._pool.FigurePool.finish`. Without one, it
        is drawn and written here. A failure is a note of the section either way.
        """
        pool, labels = self.figures, self.figure_labels
        if pool is not None and pool.parallel:
            if pool.submit_draw(section, what, draw, labels, name, caption, alt):
                self.run.step(1, what)
                return

            def drawn() -> Any:
                fig = draw()
                labels.apply(fig)
                return fig

            fig = self.run(section, what, drawn)
            if fig is None or pool.submit(section, what, fig, name, caption, alt):
                return
            figure = self.run.guard(section, what,
                                    lambda: Figure.from_matplotlib(fig, name, caption, alt))
        else:
            figure = self.run(section, what,
                              lambda: render_figure(draw, labels, name, caption, alt))
        if figure is not None:
            section.add(figure)
