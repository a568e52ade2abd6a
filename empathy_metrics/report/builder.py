"""Build the yearly report: call the library, arrange its results into sections.

:func:`build_report` computes no statistic itself. It calls :func:`empathy_metrics.scoring.score`
(data-quality flags), :func:`empathy_metrics.cohorts.trend` (scores by time, cohort and group,
change, effect sizes, mixed model, item change — all already small-cell suppressed),
:func:`empathy_metrics.reliability.reliability` per time, :func:`empathy_metrics.efa.efa`,
:func:`empathy_metrics.cfa.cfa` and :func:`empathy_metrics.cfa.invariance` across times and
:func:`empathy_metrics.norms.norm_scores`, then words and tables the results. A section whose
analysis cannot run (missing module, degenerate data) says so and why; the rest of the report is
still built. Warnings raised by an analysis are shown as notes under its section.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
import time as _time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EmpathyMetricsError, InputError
from ..instruments import Instrument, load_instrument
from ..suppression import DEFAULT_MIN_CELL, suppressed_label
from ._tables import Column, Figure, Section, Table, fmt_ci, fmt_num, fmt_p

__all__ = ["Report", "build_report", "DEFAULT_OPTIONS"]

#: Analysis settings of the report (``options=`` of :func:`build_report` overrides them).
DEFAULT_OPTIONS: dict[str, Any] = {
    "reference": None,          # time compared against (default: the first)
    "mixed_scales": ["total"],  # scales given a mixed model ("all" for every scale)
    "alpha_ci": "feldt",        # CI of alpha: feldt (closed form) or bootstrap/bca
    "efa_factors": None,        # factors extracted (default: the instrument's subscales)
    "parallel_iter": 20,        # parallel-analysis simulations (psych::fa.parallel default)
    "seed": 2026,               # seed of the parallel analysis (and bootstrap)
    "structure_time": None,     # time whose responses the EFA/CFA use (default: reference)
    "invariance": True,         # test invariance across times
    "columns": None,            # item id -> column name map
}

#: Progress-bar steps: scoring, trend, mixed model, 4 score figures, reliability and its
#: figure, EFA with 2 figures, CFA, invariance, item figure, norms, methods.
_STEPS = 18

# ---------------------------------------------------------------------------- words
def _effect_word(d: float) -> str:
    """Cohen's (1988) conventional labels for |d|."""
    a = abs(d)
    if a < 0.2:
        return "negligible"
    if a < 0.5:
        return "small"
    if a < 0.8:
        return "medium"
    return "large"


def _pts(x: float, digits: int = 1) -> str:
    return fmt_num(abs(x), digits)


def _change_phrase(diff: float, lo: float, hi: float, digits: int = 1) -> tuple[str, str]:
    """('5.2 points lower', '95% CI 3.1 to 7.3') with the CI in the direction of the change."""
    if diff < 0:
        main = f"{_pts(diff, digits)} points lower"
    else:
        main = f"{_pts(diff, digits)} points higher"
    if hi < 0:
        ci = f"95% CI {_pts(hi, digits)} to {_pts(lo, digits)} lower"
    elif lo > 0:
        ci = f"95% CI {_pts(lo, digits)} to {_pts(hi, digits)} higher"
    else:
        ci = f"95% CI from {_pts(lo, digits)} lower to {_pts(hi, digits)} higher"
    return main, ci


def _p_phrase(p: Any) -> str:
    """``p < .001`` or ``p = .012``."""
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _when(time_col: str, t: Any) -> str:
    return f"{time_col} {t}"


# ---------------------------------------------------------------------------- report object
@dataclass
class Report:
    """A built report: sections holding text, tables and figures; :meth:`write` saves it.

    Attributes
    ----------
    title, subtitle
        Shown at the top (escaped when rendered).
    sections
        In order: summary, data quality, scores, change, reliability, structure, items, norms,
        methods.
    provenance
        Key -> value pairs of the methods section (versions, input SHA-256, options, date).
    min_cell
        The suppression threshold used.
    """

    title: str
    subtitle: str
    sections: list[Section]
    provenance: dict[str, str]
    min_cell: int
    highlights: list[tuple[str, str, str]] = field(default_factory=list)
    generated: str = ""
    timings: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    def to_html(self) -> str:
        """The whole report as one self-contained HTML document."""
        from .render import render_html

        return render_html(self)

    def write(self, path: str | Path) -> Path:
        """Write ``path`` (HTML), ``<stem>_tables/`` (one CSV per table) and
        ``<stem>_tables.xlsx`` (one sheet per table), all or nothing.

        Everything is written to temporary names beside the targets first and renamed into
        place only when all three are complete; on failure nothing is left behind.
        """
        from .render import write_outputs

        return write_outputs(self, path)

    def _repr_html_(self) -> str:
        """In a notebook: the report in a sandboxed frame (its CSS stays inside)."""
        import html

        return (f'<iframe sandbox="" style="width:100%;height:640px;border:1px solid #ccc" '
                f'title="{html.escape(self.title)}" srcdoc="{html.escape(self.to_html())}">'
                "</iframe>")


# ---------------------------------------------------------------------------- helpers
class _Runner:
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
        n = max(0, min(n, _STEPS - self.done))
        if n:
            self.done += n
            self.bar.update(n)


def _sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    import matplotlib
    import scipy

    from .. import __version__

    out = {"empathy-metrics": __version__, "Python": platform.python_version(),
           "numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__,
           "matplotlib": matplotlib.__version__}
    try:
        import statsmodels

        out["statsmodels"] = statsmodels.__version__
    except ImportError:  # pragma: no cover - a dependency
        pass
    return out


def _exclusion_rows(exclusions: Any) -> list[dict[str, Any]]:
    """Exclusions recorded by a reader (``frame.attrs["exclusions"]``) as rows reason/count."""
    if exclusions is None:
        return []
    rows = []
    if isinstance(exclusions, pd.DataFrame):
        exclusions = exclusions.to_dict(orient="records")
    if isinstance(exclusions, Mapping):
        for reason, value in exclusions.items():
            if isinstance(value, (list, tuple, set, np.ndarray, pd.Index)):
                value = len(value)
            rows.append({"reason": str(reason), "count": value})
    elif isinstance(exclusions, (list, tuple)):
        for item in exclusions:
            if isinstance(item, Mapping):
                reason = item.get("reason") or item.get("why") or item.get("rule") or "excluded"
                count = item.get("count", item.get("n", item.get("rows")))
                if isinstance(count, (list, tuple, set)):
                    count = len(count)
                rows.append({"reason": str(reason), "count": count})
            else:
                rows.append({"reason": str(item), "count": None})
    return rows


def _count_table(rows: list[dict[str, Any]], min_cell: int, count: str = "count"
                 ) -> pd.DataFrame:
    """Counts 1..min_cell-1 blanked (library suppression, no margins); zeros kept."""
    from ..suppression import suppress

    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    counts = pd.to_numeric(frame[count], errors="coerce")
    small = counts.notna() & (counts > 0)
    out = frame.copy()
    out[count] = out[count].astype(object)
    out["suppressed"] = False
    if small.any():
        part = suppress(frame[small].reset_index(drop=True), count, min_cell, margins=[],
                        keys=[c for c in frame.columns if c != count])
        out.loc[small, count] = part[count].to_numpy()
        out.loc[small, "suppressed"] = part["suppressed"].to_numpy()
    return out


# ---------------------------------------------------------------------------- the builder
def build_report(
    data: pd.DataFrame,
    instrument: Instrument | str,
    *,
    time: str,
    id: str | None = None,  # noqa: A002 - the option is called --id
    cohort: str | None = None,
    group: str | None = None,
    title: str | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
    source_path: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    progress: bool | None = None,
) -> Report:
    """Run the yearly-report analyses on ``data`` and arrange them into a :class:`Report`.

    Parameters
    ----------
    data
        Long-format raw responses: one row per respondent and time, the instrument's item
        columns (named by item id, or linked with ``options["columns"]``) and the ``time``
        column (plus optional ``id``, ``cohort``, ``group`` columns).
    instrument
        Instrument or bundled id (e.g. ``"jse-s"``).
    time, id, cohort, group
        Column names, as for :func:`empathy_metrics.cohorts.trend`.
    title
        Report title (default: "<instrument name>: yearly empathy report").
    min_cell
        Small-cell threshold: every cell (time × cohort × group) with fewer respondents is
        suppressed, with complementary suppression, in every table and figure.
    source_path
        The data file, for its SHA-256 in the provenance section (default:
        ``data.attrs["source"]`` when it is an existing file).
    options
        Overrides of :data:`DEFAULT_OPTIONS` (reference time, mixed-model scales, alpha CI,
        EFA factors, parallel-analysis iterations, seed, ...).
    progress
        Show a progress bar (default: only on an interactive terminal).

    Returns
    -------
    Report

    Raises
    ------
    InputError
        Unknown columns or options, an unreadable source file; errors of scoring and
        :func:`~empathy_metrics.cohorts.trend` (the core of the report) propagate.

    Notes
    -----
    The factor analyses use the responses of one time (``options["structure_time"]``,
    default the reference time), so every respondent appears once. Invariance across times
    treats the times as independent groups although the same students answer at several
    times (a longitudinal invariance model would account for that); the report says so.
    """
    from .._progress import progress as progress_bar
    from ..cohorts import trend
    from ..scoring import score

    started = _time.perf_counter()
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame (use empathy_metrics.read_responses)")
    unknown = sorted(set(options or {}) - set(DEFAULT_OPTIONS))
    if unknown:
        raise InputError(f"unknown report option(s): {', '.join(unknown)}",
                         hint=f"options are {', '.join(DEFAULT_OPTIONS)}")
    opts = {**DEFAULT_OPTIONS, **dict(options or {})}
    if isinstance(min_cell, bool) or int(min_cell) != min_cell or int(min_cell) < 1:
        raise InputError(f"min_cell must be a positive whole number, got {min_cell!r}")
    min_cell = int(min_cell)
    inst = load_instrument(instrument)
    source = source_path if source_path is not None else data.attrs.get("source")
    digest = None
    if source is not None:
        sp = Path(source)
        if sp.is_file():
            digest = _sha256(sp)
        elif source_path is not None:
            raise InputError("the source file does not exist", file=str(source_path))
    frame = data
    if opts["columns"]:
        frame = frame.rename(columns={col: item for item, col in dict(opts["columns"]).items()})
    for role, col in (("time", time), ("id", id), ("cohort", cohort), ("group", group)):
        if col is not None and col not in frame.columns:
            raise InputError(f"{role} column '{col}' not found", file=source, column=col,
                             hint=f"columns are {', '.join(map(str, frame.columns[:12]))}"
                             + (" ..." if frame.shape[1] > 12 else ""))
    exclusions = data.attrs.get("exclusions")
    mixed_scales = opts["mixed_scales"]
    scales = list(inst.scales)
    if mixed_scales == "all":
        mixed_scales = scales
    mixed_scales = [s for s in (mixed_scales or []) if s in scales]
    if not mixed_scales and opts["mixed_scales"] == DEFAULT_OPTIONS["mixed_scales"] \
            and "total" not in scales:
        mixed_scales = scales[:1]  # no total: the headline scale

    with progress_bar(_STEPS, "Building report", enabled=progress) as bar:
        run = _Runner(bar)
        # ---------------------------------------------------------------- core (errors raise)
        scored = score(frame, inst)
        run.step()
        tr = trend(frame, inst, time=time, id=id, cohort=cohort, group=group,
                   reference=opts["reference"], min_cell=min_cell, mixed=False)
        run.step()
        sec = {s: Section(s, t) for s, t in (
            ("summary", "Summary"), ("quality", "Data quality"),
            ("scores", f"Scores by {time}" + (f" and {cohort}" if cohort else "")),
            ("change", "Change and effect sizes"), ("reliability", f"Reliability by {time}"),
            ("structure", f"Factor structure and comparability across {time}s"),
            ("items", "Item-level change"), ("norms", "Comparison with published norms"),
            ("methods", "Methods and provenance"))}
        shown = {(r.scale, r.time): not r.suppressed for r in tr.by_time.itertuples()}
        times = sorted(tr.times)
        time_shown = {t: all(shown[(s, t)] for s in tr.scales) for t in times}
        kept = [t for t in times if time_shown[t]]
        mixed_tr = None
        if (tr.id is not None and mixed_scales and tr.reference in kept and len(kept) >= 2
                and "ids do not repeat" not in " ".join(tr.notes)):
            # only the times shown in the report's tables: the model's terms and counts can
            # then reveal nothing about a suppressed time
            mixed_tr = run(sec["change"], "The mixed model",
                           lambda: trend(frame[frame[time].isin(kept)], inst, time=time, id=id,
                                         min_cell=min_cell, reference=tr.reference,
                                         scales=mixed_scales, mixed=True))
        else:
            run.step()
        ctx = _Context(inst=inst, tr=tr, mixed_tr=mixed_tr, time=time, id=id, cohort=cohort,
                       group=group, min_cell=min_cell, times=times, time_shown=time_shown,
                       shown=shown, frame=frame, scored=scored, opts=opts, run=run)

        _quality(ctx, sec["quality"], exclusions)
        _scores(ctx, sec["scores"])
        _change(ctx, sec["change"])
        _cohort_differences(ctx, sec["change"])
        rel = _reliability(ctx, sec["reliability"])
        inv = _structure(ctx, sec["structure"])
        _items(ctx, sec["items"])
        _norms(ctx, sec["norms"])
        highlights = _summary(ctx, sec["summary"], rel, inv, exclusions)
        now = _dt.datetime.now(_dt.timezone.utc)
        prov = _methods(ctx, sec["methods"], source=source, digest=digest, now=now,
                        elapsed=_time.perf_counter() - started)
        run.step(_STEPS)  # whatever is left

    number = 0
    for s in sec.values():
        for t in s.tables:
            number += 1
            t.number = number
    for i, f in enumerate((f for s in sec.values() for f in s.figures), start=1):
        f.number = i
    n_resp = len(frame)
    subtitle = (f"{inst.name} · {n_resp:,} responses · {time} "
                f"{', '.join(map(str, times))} · cells with fewer than {min_cell} "
                "respondents suppressed")
    report = Report(
        title=title if title is not None else "Empathy across training years",
        subtitle=subtitle, sections=list(sec.values()), provenance=prov, min_cell=min_cell,
        highlights=highlights, generated=now.strftime("%Y-%m-%d %H:%M UTC"),
    )
    report.timings = dict(run.timings)
    return report


@dataclass
class _Context:
    inst: Instrument
    tr: Any
    mixed_tr: Any
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
    run: _Runner

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


# ---------------------------------------------------------------------------- sections
def _quality(ctx: _Context, section: Section, exclusions: Any) -> None:
    frame, time = ctx.frame, ctx.time
    counts = ctx.scored.flag_counts()
    n = len(frame)
    rows = [{"check": "Responses (rows) read", "count": n}]
    if ctx.id is not None:
        rows.append({"check": f"Respondents (distinct '{ctx.id}')",
                     "count": int(frame[ctx.id].nunique())})
    rows.append({"check": f"Rows without a '{time}' value (left out)",
                 "count": int(frame[time].isna().sum())})
    rows += [
        {"check": "Not scorable: too many unanswered items (left out of that scale)",
         "count": counts.get("unscorable", 0)},
        {"check": "Answers outside the response scale (treated as unanswered)",
         "count": counts.get("out_of_range", 0)},
        {"check": "Same answer to every item (straightlining; kept, flagged)",
         "count": counts.get("straightlining", 0)},
    ]
    table = _count_table(rows, ctx.min_cell)
    table = table.rename(columns={"check": "measure"})
    section.para(
        f"Every response was scored with the {ctx.inst.id} key: reverse-keyed items "
        f"reversed; a scale score needs at most {ctx.inst.max_missing_for(ctx.main)} "
        f"unanswered of the {len(ctx.inst.scales[ctx.main])} items for the "
        f"{ctx.name(ctx.main).lower()} (person-mean "
        "replacement of the rest); answers outside the scale count as unanswered. Flags never "
        f"remove a response. Counts from 1 to {ctx.min_cell - 1} are shown as suppressed.")
    section.add(Table("data_quality", "Responses and data-quality checks", table,
                      [Column.text("measure", "Check"), Column.int("count", "Responses")],
                      min_cell=ctx.min_cell))
    dropped = ctx.frame.attrs.get("dropped_columns")
    if dropped:
        section.para("Identifying columns removed when the file was read (never carried into "
                     "this report): " + ", ".join(map(str, dropped)) + ".")
    coded = ctx.frame.attrs.get("missing_codes") or ctx.frame.attrs.get("user_missing")
    if isinstance(coded, Mapping) and coded:
        total = sum(int(v) for v in coded.values() if isinstance(v, (int, np.integer)))
        section.para(f"{total:,} answer(s) held a missing-data code and were treated as "
                     "unanswered.")
    ex = _exclusion_rows(exclusions)
    if ex:
        section.add(Table(
            "exclusions", "Responses excluded when the file was read",
            _count_table(ex, ctx.min_cell).rename(columns={"reason": "measure"}),
            [Column.text("measure", "Reason"), Column.int("count", "Responses")],
            note="Recorded by the reader (e.g. survey previews in a Qualtrics export).",
            min_cell=ctx.min_cell))
    else:
        section.para("No responses were excluded when the file was read.")
    bt = ctx.tr.by_time
    per = bt[bt["scale"] == ctx.main][["time", "n", "suppressed"]].copy()
    section.add(Table(
        "responses_by_time", f"Scored responses by {time} ({ctx.name(ctx.main)})", per,
        [Column.text("time", time.capitalize()), Column.int("n", "Scored responses")],
        min_cell=ctx.min_cell))


def _coded(value: Any, coded: Any, sign: str) -> str:
    """A minimum/maximum, or its bottom-/top-coded bound (``< 95``, ``≥ 135``)."""
    text = _score_text(value)
    return f"{sign} {text}" if text != "—" and not pd.isna(coded) and bool(coded) else text


def _score_text(value: Any) -> str:
    """A score: whole points without decimals, others with two."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return fmt_num(value)
    return fmt_num(v, 0 if np.isfinite(v) and v == round(v) else 2)


_BY_TIME_COLS = ["scale", "time", "n", "mean", "sd", "se", "ci_low", "ci_high", "median", "q1",
                 "q3", "iqr", "suppressed"]


def _scores(ctx: _Context, section: Section) -> None:
    from .. import plots

    tr, time = ctx.tr, ctx.time
    main = ctx.main
    lo, hi = ctx.inst.scale_range(main)
    section.para(
        f"Mean scores with 95% confidence intervals by {time}, for the "
        f"{ctx.name(main).lower()} ({lo:g}–{hi:g}) and each other scale. Higher scores mean "
        "more empathy.")
    by_time = ctx.with_names(tr.by_time[_BY_TIME_COLS])
    section.add(Table(
        "scores_by_time", f"Scores by {time}", by_time,
        [Column.text("scale_name", "Scale"), Column.text("time", time.capitalize()),
         Column.int("n", "n"), Column.num("mean", "Mean"), Column.num("sd", "SD"),
         Column.ci("ci_low", "ci_high"), Column.num("median", "Median", 1),
         Column.num("iqr", "IQR", 1)], min_cell=ctx.min_cell))
    ctx.fig(section, "Trend plot", lambda: plots.trend_plot(tr, [main]), "trend_total",
            f"Mean {ctx.name(main).lower()} score by {time} with its 95% confidence band; "
            "n under each point.",
            f"Line chart of the mean {ctx.name(main).lower()} score by {time}")
    subs = [s for s in tr.scales if s != main]
    if subs:
        ctx.fig(section, "Subscale trend plot", lambda: plots.trend_plot(tr, subs),
                "trend_subscales", f"Subscale means by {time} (95% confidence bands).",
                f"Line charts of the subscale means by {time}")
    ctx.fig(section, "Distribution plot",
            lambda: plots.distribution_plot(tr, main, points=False),
            "distribution_total",
            f"Distribution of the {ctx.name(main).lower()} score by {time}: box = quartiles, "
            "whiskers = 1.5 IQR, triangle = mean.",
            f"Box plots of the {ctx.name(main).lower()} score by {time}")
    dist = getattr(tr, "distribution", None)
    if dist is not None and not dist.empty:
        section.add(Table(
            "score_distribution", f"Distribution of scores by {time}", ctx.with_names(dist),
            [Column.text("scale_name", "Scale"), Column.text("time", time.capitalize()),
             Column.int("n", "n"), Column.num("mean", "Mean"), Column.num("sd", "SD"),
             Column("Min", lambda r: _coded(r.get("min"), r.get("min_coded"), "<")),
             Column.num("q1", "Q1", 1), Column.num("median", "Median", 1),
             Column.num("q3", "Q3", 1),
             Column("Max", lambda r: _coded(r.get("max"), r.get("max_coded"), "\u2265")),
             Column("Mode", lambda r: _score_text(r.get("mode")))],
            min_cell=ctx.min_cell,
            note=(f"Min and max are shown exactly only when at least {ctx.min_cell} "
                  "respondents share the score; otherwise as the bound of the open-ended "
                  "lowest (< b) or highest (\u2265 a) histogram bin (in the CSV: min_coded / "
                  "max_coded). Mode: the most frequent whole score (smallest on ties), shown "
                  f"only when at least {ctx.min_cell} respondents share it.")))
    hist = getattr(tr, "histogram", None)
    if hist is not None and not hist.empty:
        ctx.fig(section, "Histogram", lambda: plots.histogram_plot(tr, main),
                "histogram_total",
                f"Histogram of the {ctx.name(main).lower()} score by {time}. The lowest and "
                f"highest scores are merged into open-ended bins of at least {ctx.min_cell} "
                f"respondents (hatched); bins with fewer than {ctx.min_cell} respondents, and "
                "the bins hidden so that they cannot be worked out from n, are marked x.",
                f"Histograms of the {ctx.name(main).lower()} score, one panel per {time}")
    if ctx.cohort is not None and not tr.cohort_trajectories.empty:
        section.heading(f"By entering {ctx.cohort}")
        ct = tr.cohort_trajectories
        ct = ctx.with_names(ct[ct["scale"] == main])
        section.add(Table(
            "cohort_trajectories", f"{ctx.name(main)} score by {ctx.cohort} and {time}",
            ctx.with_names(tr.cohort_trajectories),
            [Column.text(ctx.cohort, ctx.cohort.capitalize()),
             Column.text("time", time.capitalize()), Column.int("n", "n"),
             Column.num("mean", "Mean"), Column.num("sd", "SD"),
             Column.ci("ci_low", "ci_high")],
            keys=(ctx.cohort,), min_cell=ctx.min_cell, display=ct,
            note=ctx.main_only_note))
        ctx.fig(section, "Cohort plot", lambda: plots.cohort_plot(tr, main), "cohorts",
                f"Each entering {ctx.cohort}'s mean {ctx.name(main).lower()} score by {time} "
                "(95% CI).",
                f"Line chart of the mean {ctx.name(main).lower()} score of each {ctx.cohort}")
    if ctx.group is not None and not tr.group_stats.empty:
        section.heading(f"By {ctx.group}")
        gs = tr.group_stats
        table = Table(
            "group_stats", f"{ctx.name(main)} score by {ctx.group} and {time}",
            ctx.with_names(gs),
            [Column.text(ctx.group, ctx.group.capitalize()),
             Column.text("time", time.capitalize()), Column.int("n", "n"),
             Column.num("mean", "Mean"), Column.num("sd", "SD"),
             Column.ci("ci_low", "ci_high")],
            keys=(ctx.group,), min_cell=ctx.min_cell,
            display=ctx.with_names(gs[gs["scale"] == main]),
            note=ctx.main_only_note)
        section.add(table)


def _change(ctx: _Context, section: Section) -> None:
    tr, time = ctx.tr, ctx.time
    ref = tr.reference
    section.para(
        f"Cross-sectional change compares everyone who answered at each {time} with everyone "
        f"at {_when(time, ref)} (Welch mean difference, Cohen's d and Hedges' g with 95% "
        "confidence intervals). Change is given in scale points as well as in SD units, "
        "because standardised effects alone can exaggerate small changes (Colliver et al. "
        "2010).")
    cols = ["scale", "time", "n", "diff_vs_ref", "diff_ci_low", "diff_ci_high", "diff_p",
            "d_vs_ref", "d_ci_low", "d_ci_high", "g_vs_ref", "g_ci_low", "g_ci_high",
            "suppressed"]
    bt = tr.by_time[tr.by_time["time"] != ref][cols]
    section.add(Table(
        "change_vs_reference", f"Change from {_when(time, ref)}", ctx.with_names(bt),
        [Column.text("scale_name", "Scale"), Column.text("time", time.capitalize()),
         Column.int("n", "n"), Column.num("diff_vs_ref", "Difference (points)", 2, True),
         Column.ci("diff_ci_low", "diff_ci_high"), Column.p("diff_p"),
         Column.num("d_vs_ref", "Cohen's d", 2, True),
         Column.ci("d_ci_low", "d_ci_high", "95% CI of d"),
         Column.num("g_vs_ref", "Hedges' g", 2, True)], min_cell=ctx.min_cell))
    rows = []
    for scale in tr.scales:
        t = tr.tests.get(scale, {})
        wa, kw, lt = t.get("welch_anova"), t.get("kruskal"), t.get("linear_trend")
        if wa:
            rows.append({"scale": scale, "test": "Welch ANOVA",
                         "statistic": f"F({wa['df1']:.0f}, {wa['df2']:.1f})",
                         "value": wa["statistic"], "p": wa["p"]})
        if kw:
            rows.append({"scale": scale, "test": "Kruskal–Wallis",
                         "statistic": f"H ({kw['df']} df)", "value": kw["statistic"],
                         "p": kw["p"]})
        if lt:
            rows.append({"scale": scale, "test": f"Linear trend per {time} (OLS slope)",
                         "statistic": f"slope (95% CI {fmt_ci(*lt['ci'])})",
                         "value": lt["estimate"], "p": lt["p"]})
    if rows:
        section.add(Table(
            "tests_across_time", f"Tests across {time}s (shown {time}s only)",
            ctx.with_names(pd.DataFrame(rows)),
            [Column.text("scale_name", "Scale"), Column.text("test", "Test"),
             Column.text("statistic", "Statistic"), Column.num("value", "Value"),
             Column.p("p")], min_cell=ctx.min_cell))
    adj = []
    for scale in tr.scales:
        for a in tr.tests.get(scale, {}).get("adjacent", []):
            ci = a.get("ci") or [None, None]
            adj.append({"scale": scale, "from": a["from"], "to": a["to"], "diff": a["diff"],
                        "ci_low": ci[0], "ci_high": ci[1], "p": a["p"],
                        "p_holm": a["p_holm"], "suppressed": bool(a.get("suppressed"))})
    if adj:
        section.add(Table(
            "adjacent_change", f"Change between adjacent {time}s (Holm-adjusted p)",
            ctx.with_names(pd.DataFrame(adj)),
            [Column.text("scale_name", "Scale"), Column.text("from", "From"),
             Column.text("to", "To"), Column.num("diff", "Difference", 2, True),
             Column.ci("ci_low", "ci_high"), Column.p("p"), Column.p("p_holm", "p (Holm)")],
            min_cell=ctx.min_cell))

    section.heading("Longitudinal: the same students followed over time")
    if ctx.id is None:
        section.para(f"No respondent id column was given, so the same students cannot be "
                     f"followed across {time}s; only the cross-sectional comparison above is "
                     "available.")
        return
    if any("ids do not repeat" in n for n in tr.notes):
        section.para(f"Respondent ids in '{ctx.id}' do not repeat across {time}s, so the "
                     "longitudinal analyses were not run.")
        return
    mt = ctx.mixed_tr
    if mt is not None:
        section.para(
            f"A linear mixed model with a random intercept per student (score ~ {time} + "
            f"(1 | {ctx.id}), REML) uses every answer of every student, including those who "
            f"missed a {time}. Estimates are differences from {_when(time, ref)} in points.")
        mrows = []
        for scale in mt.scales:
            md = mt.mixed_model.get(scale)
            if not md:
                continue
            for term, v in md["terms"].items():
                ci = v.get("ci") or [None, None]
                mrows.append({"scale": scale, "term": term, "estimate": v.get("estimate"),
                              "se": v.get("se"), "ci_low": ci[0], "ci_high": ci[1],
                              "p": v.get("p"), "suppressed": bool(v.get("suppressed", False))})
            sl = mt.linear_slope.get(scale)
            if sl:
                mrows.append({"scale": scale, "term": f"linear slope per {time}",
                              "estimate": sl["estimate"], "se": sl["se"],
                              "ci_low": sl["ci"][0], "ci_high": sl["ci"][1], "p": sl["p"],
                              "suppressed": False})
            mrows.append({"scale": scale, "term": "residual SD", "estimate": md["sigma"],
                          "suppressed": False})
            mrows.append({"scale": scale, "term": "random-intercept SD (between students)",
                          "estimate": md["sd_intercept"], "suppressed": False})
            section.para(f"{ctx.name(scale)}: {md['n_obs']:,} answers from "
                         f"{md['n_groups']:,} students.")
        if mrows:
            section.add(Table(
                "mixed_model", "Mixed model estimates", ctx.with_names(pd.DataFrame(mrows)),
                [Column.text("scale_name", "Scale"), Column.text("term", "Term"),
                 Column.num("estimate", "Estimate", 2), Column.num("se", "SE"),
                 Column.ci("ci_low", "ci_high"), Column.p("p")], min_cell=ctx.min_cell))
        for note in mt.notes:
            if note not in tr.notes:
                section.notes.append(note)
    if not tr.paired.empty:
        section.add(Table(
            "paired_change", f"Paired change of the same students between adjacent {time}s",
            ctx.with_names(tr.paired),
            [Column.text("scale_name", "Scale"), Column.text("from", "From"),
             Column.text("to", "To"), Column.int("n", "Students"),
             Column.num("mean_change", "Mean change", 2, True),
             Column.ci("ci_low", "ci_high"), Column.num("dz", "d_z", 2, True),
             Column.p("p")], min_cell=ctx.min_cell))
    if not tr.reliable_change.empty:
        rc = tr.reliable_change
        section.para(
            "Reliable change (Jacobson & Truax 1991): a student's change is counted as a "
            "reliable decline or improvement when it exceeds what measurement error alone "
            "would produce 95% of the time (|RCI| > 1.96).")
        rc = ctx.with_names(rc.drop(columns=[c for c in ("s_diff",) if c in rc.columns]))
        rc["category"] = rc["category"].astype(str).str.replace("_", " ")
        section.add(Table(
            "reliable_change", f"Reliable change from {_when(time, ref)}", rc,
            [Column.text("scale_name", "Scale"), Column.text("to", f"To {time}"),
             Column.text("category", "Category"), Column.int("count", "Students"),
             Column.num("alpha", "Alpha used", 3)], min_cell=ctx.min_cell,
            display=rc[rc["scale"] == ctx.main] if ctx.main in set(rc["scale"]) else None,
            note=ctx.main_only_note))
    if ctx.group is not None and not tr.group_differences.empty:
        section.heading(f"Differences between {ctx.group} groups")
        gd = tr.group_differences
        keep = [c for c in ("scale", "time", "group", "reference_group", "diff", "diff_ci_low",
                            "diff_ci_high", "diff_p", "d", "d_ci_low", "d_ci_high", "g",
                            "suppressed") if c in gd.columns]
        gdn = ctx.with_names(gd[keep])
        section.add(Table(
            "group_differences", f"{ctx.group.capitalize()} differences within each {time}",
            gdn,
            [Column.text("scale_name", "Scale"), Column.text("time", time.capitalize()),
             Column.text("group", ctx.group.capitalize()),
             Column.text("reference_group", "Compared with"),
             Column.num("diff", "Difference", 2, True), Column.ci("diff_ci_low", "diff_ci_high"),
             Column.p("diff_p"), Column.num("d", "d", 2, True)], min_cell=ctx.min_cell,
            display=gdn[gdn["scale"] == ctx.main], note=ctx.main_only_note))


def _cohort_differences(ctx: _Context, section: Section) -> None:
    cd = getattr(ctx.tr, "cohort_differences", None)
    if ctx.cohort is None or cd is None or cd.empty or "diff" not in cd.columns:
        return
    time, cohort = ctx.time, ctx.cohort
    section.heading(f"Differences between entering {cohort}s")
    section.para(f"Each {cohort} compared with the reference {cohort} at the same {time} "
                 "(Welch mean difference and Cohen's d), so a director can see whether a "
                 "class differs from earlier ones.")
    keep = [c for c in ("scale", "time", "cohort", "reference_cohort", "diff", "diff_ci_low",
                        "diff_ci_high", "diff_p", "d", "d_ci_low", "d_ci_high", "g",
                        "suppressed") if c in cd.columns]
    data = ctx.with_names(cd[keep])
    section.add(Table(
        "cohort_differences", f"{cohort.capitalize()} differences within each {time}", data,
        [Column.text("scale_name", "Scale"), Column.text("time", time.capitalize()),
         Column.text("cohort", cohort.capitalize()),
         Column.text("reference_cohort", "Compared with"),
         Column.num("diff", "Difference", 2, True), Column.ci("diff_ci_low", "diff_ci_high"),
         Column.p("diff_p"), Column.num("d", "d", 2, True)],
        keys=("cohort", "reference_cohort"), min_cell=ctx.min_cell,
        display=data[data["scale"] == ctx.main], note=ctx.main_only_note))


def _reliability(ctx: _Context, section: Section) -> Any:
    """Alpha per time from :func:`empathy_metrics.cohorts.reliability_by_time`."""
    import dataclasses

    from .. import plots
    from ..cohorts import reliability_by_time

    time, opts = ctx.time, ctx.opts
    section.para(
        f"Internal consistency of each scale, computed separately for each {time}: "
        f"Cronbach's alpha with its 95% confidence interval ({opts['alpha_ci']} method) on "
        "the students who answered every item of the scale. Alpha of .70 or more is usually "
        "considered adequate for comparing groups.")
    res = ctx.run(section, f"Reliability by {time}",
                  lambda: reliability_by_time(ctx.frame, ctx.inst, time=time,
                                              min_cell=ctx.min_cell, ci=opts["alpha_ci"],
                                              scales=ctx.tr.scales))
    if res is None:
        return None
    table = res.table.copy()
    # a time hidden in the score tables stays hidden here too (one pattern for the report)
    hidden = ~table["time"].map(ctx.time_shown).fillna(False).astype(bool)
    table["suppressed"] = table["suppressed"].astype(bool) | hidden.to_numpy()
    for col in ("n", "alpha", "ci_low", "ci_high"):
        table[col] = table[col].astype(object)
        table.loc[table["suppressed"], col] = None
    res = dataclasses.replace(res, table=table)
    for note in res.notes:
        section.notes.append(note)
    section.add(Table(
        "reliability_by_time", f"Reliability by {time}",
        ctx.with_names(table.drop(columns=[c for c in ("note",) if c in table.columns])),
        [Column.text("scale_name", "Scale"), Column.text("time", time.capitalize()),
         Column.int("n", "n (complete)"), Column.num("alpha", "Alpha", 3),
         Column.ci("ci_low", "ci_high", digits=3)], min_cell=ctx.min_cell))
    if not table["suppressed"].all():
        ctx.fig(section, "Alpha plot",
                lambda: plots.alpha_plot(res, scale=ctx.main, min_cell=ctx.min_cell),
                "alpha", f"Cronbach's alpha of the {ctx.name(ctx.main).lower()} score by {time} "
                "(95% CI).",
                f"Chart of Cronbach's alpha by {time}")
    return res


def _fit_rows(fit: Mapping[str, Any], model: str) -> dict[str, Any]:
    ci = fit.get("rmsea_ci") or [None, None]
    return {"model": model, "chisq": fit.get("chisq"), "df": fit.get("df"),
            "p": fit.get("pvalue"), "cfi": fit.get("cfi"), "tli": fit.get("tli"),
            "rmsea": fit.get("rmsea"), "rmsea_ci_low": ci[0], "rmsea_ci_high": ci[1],
            "srmr": fit.get("srmr")}


def _fit_word(fit: Mapping[str, Any]) -> str | None:
    """'well' / 'acceptably' / 'poorly' by the conventional cut-offs (Hu & Bentler 1999)."""
    try:
        cfi, rmsea, srmr = (float(fit[k]) for k in ("cfi", "rmsea", "srmr"))
    except (KeyError, TypeError, ValueError):
        return None
    if not all(np.isfinite([cfi, rmsea, srmr])):
        return None
    if cfi >= 0.95 and rmsea <= 0.06 and srmr <= 0.08:
        return "well"
    if cfi >= 0.90 and rmsea <= 0.08:
        return "acceptably"
    return "poorly: the items may not group into the published subscales in this sample"


_FIT_COLUMNS = [Column.text("model", "Model"), Column.num("chisq", "χ²", 1),
                Column.int("df", "df"), Column.p("p"), Column.num("cfi", "CFI", 3),
                Column.num("tli", "TLI", 3), Column.num("rmsea", "RMSEA", 3),
                Column.ci("rmsea_ci_low", "rmsea_ci_high", "RMSEA 90% CI", 3),
                Column.num("srmr", "SRMR", 3)]


def _structure(ctx: _Context, section: Section) -> Any:
    from .. import plots
    from ..efa import efa

    time, opts, inst = ctx.time, ctx.opts, ctx.inst
    st = opts["structure_time"]
    if st is None:
        st = ctx.tr.reference
    else:
        match = [t for t in ctx.times if str(t) == str(st)]
        if not match:
            raise InputError(f"structure_time {st!r} is not a value of '{time}'",
                             hint=f"values are {', '.join(map(str, ctx.times))}")
        st = match[0]
    subs = [s for s in inst.scales if s != "total"]  # the factors (total is their sum)
    k = opts["efa_factors"] or max(len(subs), 1)
    inv = None
    if not ctx.time_shown.get(st, False):
        section.unavailable = (f"The factor analyses were not run: {_when(time, st)} has "
                               f"fewer than {ctx.min_cell} respondents.")
        for _ in range(3):
            ctx.run.step()
    else:
        sub = ctx.frame[ctx.frame[time] == st]
        section.para(
            f"Exploratory and confirmatory factor analyses of the {_when(time, st)} responses "
            "(each student once). The published structure of the "
            f"{inst.id} has {len(subs)} subscale(s): "
            + ", ".join(inst.scale_name(s) for s in subs) + ".")
        section.heading("Exploratory factor analysis")
        e = ctx.run(section, "The exploratory factor analysis",
                    lambda: efa(sub, inst, k, n_iter=opts["parallel_iter"], seed=opts["seed"]))
        if e is not None:
            pa = e.parallel
            section.para(
                f"n = {e.n:,} complete responses; KMO = {e.kmo:.2f}; Bartlett's test "
                f"χ²({e.bartlett.df:.0f}) = {e.bartlett.chi2:.1f}, {_p_phrase(e.bartlett.p)}. "
                f"Parallel analysis ({pa.n_iter} simulations) suggests {pa.n_factors} "
                f"factor(s); {e.n_factors} were extracted ({e.method}, {e.rotation} rotation) "
                "to match the published structure.")
            section.add(Table(
                "efa_loadings", f"EFA loadings ({_when(time, st)})",
                e.to_frame().rename_axis("item"),
                [Column.text("item", "Item")]
                + [Column.num(c, c, 2) for c in e.loadings.columns]
                + [Column.num("h2", "h²", 2)], index=True, min_cell=ctx.min_cell,
                note="Pattern loadings after rotation; h² = communality."))
            ctx.fig(section, "Scree plot", lambda: plots.scree_plot(e), "scree",
                    "Scree plot: observed eigenvalues and the parallel-analysis line.",
                    "Scree plot with parallel analysis")
            ctx.fig(section, "Loadings heatmap", lambda: plots.loadings_heatmap(e),
                    "loadings", "Factor loadings (EFA).", "Heatmap of the factor loadings")
        section.heading("Confirmatory factor analysis")

        def run_cfa() -> Any:
            from ..cfa import cfa

            return cfa(sub, inst)

        c = ctx.run(section, "The confirmatory factor analysis", run_cfa)
        if c is not None:
            section.para(
                f"The published {len(subs)}-factor model fitted to n = {c.n:,} responses "
                "(maximum likelihood). Good fit: CFI ≥ .95, RMSEA ≤ .06, SRMR ≤ .08 "
                "(Hu & Bentler 1999); CFI ≥ .90 and RMSEA ≤ .08 are often taken as "
                "acceptable.")
            section.add(Table("cfa_fit", "CFA fit", pd.DataFrame([_fit_rows(c.fit, "CFA")]),
                              _FIT_COLUMNS, min_cell=ctx.min_cell))
            word = _fit_word(c.fit)
            if word:
                section.para(f"By these cut-offs the published structure fits these data "
                             f"{word}.")
            ld = c.loadings
            if isinstance(ld, pd.DataFrame) and not ld.empty:
                section.add(Table(
                    "cfa_loadings", "CFA loadings", ld,
                    [Column.text("factor", "Factor"), Column.text("item", "Item"),
                     Column.num("estimate", "Estimate", 3), Column.num("se", "SE", 3),
                     Column.num("std", "Standardised", 3)], min_cell=ctx.min_cell))
    section.heading(f"Measurement invariance across {time}s")
    kept = [t for t in ctx.times if ctx.time_shown[t]]
    if not ctx.opts["invariance"]:
        section.para("Invariance was not tested (turned off in the options).")
        ctx.run.step()
        return None
    if len(kept) < 2:
        section.para(f"Invariance needs at least two {time}s with {ctx.min_cell} or more "
                     "respondents.")
        ctx.run.step()
        return None

    def run_inv() -> Any:
        from ..cfa import invariance

        sub = ctx.frame[ctx.frame[time].isin(kept)]
        return invariance(sub, inst, time)

    inv = ctx.run(section, f"Invariance across {time}s", run_inv)
    if inv is None:
        section.para(f"Whether scores can be compared across {time}s could not be checked "
                     "(see the note below); read the changes above with that in mind.")
        return None
    section.para(
        f"Configural, metric (equal loadings) and scalar (equal loadings and intercepts) "
        f"models across {time}s, fitted as independent groups. Students who answered at "
        f"several {time}s appear in several groups, so the tests are approximate.")
    fit_rows = [_fit_rows(getattr(inv, m), m) for m in ("configural", "metric", "scalar")
                if getattr(inv, m, None)]
    section.add(Table("invariance_fit", f"Invariance models across {time}s",
                      pd.DataFrame(fit_rows), _FIT_COLUMNS, min_cell=ctx.min_cell))
    comp = getattr(inv, "comparisons", None)
    if isinstance(comp, pd.DataFrame) and not comp.empty:
        labels = {"comparison": "Comparison", "chisq_diff": "Δχ²", "df_diff": "Δdf",
                  "pvalue": "p", "p": "p", "delta_cfi": "ΔCFI", "delta_rmsea": "ΔRMSEA",
                  "delta_srmr": "ΔSRMR", "holds": "Invariance holds"}
        cols = []
        for col in comp.columns:
            label = labels.get(col, str(col))
            if pd.api.types.is_bool_dtype(comp[col]):
                cols.append(Column(label, lambda r, c=col: "yes" if r.get(c) else "no",
                                   numeric=False))
            elif pd.api.types.is_numeric_dtype(comp[col]):
                if col in ("pvalue", "p"):
                    cols.append(Column.p(col, label))
                elif col == "df_diff":
                    cols.append(Column.int(col, label))
                else:
                    cols.append(Column.num(col, label, 3, col.startswith("delta")))
            else:
                cols.append(Column.text(col, label))
        section.add(Table("invariance_comparisons", "Comparisons of nested models", comp, cols,
                          min_cell=ctx.min_cell, index=False))
    section.para(str(inv.verdict))
    if inv.sound:
        section.para(f"Conclusion: scalar invariance holds, so mean scores can be compared "
                     f"across {time}s — the changes in this report are changes in empathy as "
                     "the scale measures it, not changes in how students read the items.")
    else:
        section.para(f"Conclusion: scalar invariance does not hold by the usual cut-offs, so "
                     f"differences in mean scores across {time}s may partly reflect changes in "
                     "how students respond to the items; interpret the changes with care.")
    return inv


def _items(ctx: _Context, section: Section) -> None:
    from .. import plots

    tr, time = ctx.tr, ctx.time
    if tr.item_change is None:
        section.unavailable = "Item-level change needs the item columns in the data."
        return
    lo, hi = ctx.inst.response_min, ctx.inst.response_max
    section.para(
        f"Mean change of each item from {_when(time, tr.reference)}, in item points "
        f"(items {lo}–{hi}, after reverse keying, so a negative value always means less "
        f"empathy). {time.capitalize()}s with fewer than {ctx.min_cell} answers are blank.")
    ctx.fig(section, "Item heatmap", lambda: plots.item_change_heatmap(tr), "item_change",
            f"Item mean change from {_when(time, tr.reference)} "
            "(orange = decline, purple = increase).",
            "Heatmap of item mean change")
    change = tr.item_change.copy()
    change.columns = [str(c) for c in change.columns]
    big = ctx.largest_change()
    if big is not None and str(big) in change.columns:
        col = change[str(big)].dropna().sort_values()
        if len(col):
            down = ", ".join(f"{item} ({fmt_num(v, 2)})" for item, v in col.head(3).items())
            section.para(f"Items that declined most by {_when(time, big)}: {down} item "
                         "points. Item wording is not shipped with the package (copyright); "
                         "see the instrument's manual for the text of each item.")
    section.add(Table(
        "item_change", f"Item mean change from {_when(time, tr.reference)}", change,
        [Column.text("item", "Item")]
        + [Column.num(c, f"{time} {c}", 2, True) for c in change.columns],
        index=True, min_cell=ctx.min_cell))


#: Group labels treated as the norm groups' names (norms say "women"/"men").
_NORM_SYNONYMS = {"women": ("women", "woman", "female", "f"), "men": ("men", "man", "male", "m")}


def _norm_label(norm_group: str, labels: Mapping[str, Any]) -> Any:
    """The data's group label matching a norm group (case-insensitive, with synonyms)."""
    for name in _NORM_SYNONYMS.get(norm_group.casefold(), (norm_group.casefold(),)):
        if name in labels:
            return labels[name]
    return None


def _norms(ctx: _Context, section: Section) -> None:
    from ..norms import norm_scores

    inst, time = ctx.inst, ctx.time
    norms = [n for n in inst.norms if n.scale in ctx.tr.scales]
    if not norms:
        section.unavailable = f"The {inst.id} definition carries no published norms."
        ctx.run.step()
        return
    scores = ctx.scored.scores
    glabels = ({str(v).casefold(): v for v in ctx.frame[ctx.group].dropna().unique()}
               if ctx.group else {})
    gs = ctx.tr.group_stats
    rows = []

    def add_rows() -> None:
        tn = ctx.tr.norms
        for norm in norms:
            base = {"scale": norm.scale, "norm_group": norm.group, "norm_mean": norm.mean,
                    "norm_sd": norm.sd}
            if norm.group == "all":  # computed by trend for the shown times
                for t in ctx.times:
                    hit = (tn[(tn["scale"] == norm.scale) & (tn["time"] == t)]
                           if not tn.empty else tn)
                    if len(hit) and ctx.shown.get((norm.scale, t), False):
                        r = hit.iloc[0]
                        rows.append({**base, "time": t, "n": int(r["n"]),
                                     "mean_z": r["mean_z"],
                                     "median_percentile": r["median_percentile"],
                                     "method": r["method"], "suppressed": False})
                    else:
                        rows.append({**base, "time": t, "suppressed": True})
                continue
            g = _norm_label(norm.group, glabels)
            if g is None or gs.empty:
                continue
            for t in ctx.times:
                hit = gs[(gs["scale"] == norm.scale) & (gs["time"] == t) & (gs[ctx.group] == g)]
                ok = bool(len(hit)) and not bool(hit["suppressed"].iloc[0])
                row = {**base, "time": t, "suppressed": not ok}
                if ok:
                    mask = ((ctx.frame[time] == t) & (ctx.frame[ctx.group] == g)).to_numpy()
                    res = norm_scores(scores.loc[mask, norm.scale].dropna(), inst, norm.scale,
                                      norm.group)
                    d = res.to_dict()
                    row.update(n=int(res.scores["score"].notna().sum()),
                               mean_z=d["sample"]["mean_z"],
                               median_percentile=d["sample"]["median_percentile"],
                               method=res.method)
                rows.append(row)

    ctx.run(section, "The comparison with norms", add_rows)
    if not rows:
        section.unavailable = "No norm matches the scales or groups in these data."
        return
    section.para(
        "Scores are compared with the published norms carried by the instrument definition: "
        "the mean z-score ((score − norm mean) / norm SD) and the median percentile rank of "
        f"the students in each {time}. A mean z of 0 is the norm group's average. Norm "
        "samples differ from any one school; treat this as context, not a benchmark.")
    section.add(Table(
        "norms", "Scores against published norms", ctx.with_names(pd.DataFrame(rows)),
        [Column.text("scale_name", "Scale"), Column.text("norm_group", "Norm group"),
         Column.text("time", time.capitalize()), Column.int("n", "n"),
         Column.num("norm_mean", "Norm mean", 1), Column.num("norm_sd", "Norm SD", 1),
         Column.num("mean_z", "Mean z", 2, True),
         Column.num("median_percentile", "Median percentile", 0)],
        keys=("norm_group", "norm_mean", "norm_sd"), min_cell=ctx.min_cell))
    for norm in norms:
        pop = f" ({norm.population})" if norm.population else ""
        section.bullets.append(f"{norm.scale}/{norm.group}{pop}: {norm.citation}")


def _summary(ctx: _Context, section: Section, rel: Any, inv: Any,
             exclusions: Any) -> list[tuple[str, str, str]]:
    tr, time, inst = ctx.tr, ctx.time, ctx.inst
    ref = tr.reference
    bt = tr.by_time
    main = ctx.main
    what = ctx.name(main).lower()  # "total", or the headline scale's name
    lo_s, hi_s = inst.scale_range(main)
    total = bt[bt["scale"] == main].set_index("time")
    highlights: list[tuple[str, str, str]] = []
    n_resp = len(ctx.frame)
    who = (f" from {ctx.frame[ctx.id].nunique():,} students" if ctx.id else "")
    section.para(
        f"This report describes {n_resp:,} responses{who} to the {inst.name}, by {time} "
        f"({', '.join(map(str, ctx.times))}). Higher scores mean more empathy; the {what} "
        f"ranges from {lo_s:g} to {hi_s:g}.")
    if ctx.shown.get((main, ref), False):
        r = total.loc[ref]
        highlights.append((f"Mean {what}, {_when(time, ref)}", fmt_num(r["mean"], 1),
                           f"95% CI {fmt_ci(r['ci_low'], r['ci_high'], 1)}; n = {int(r['n'])}"))
    best = None
    for t in ctx.times:
        if t == ref or not ctx.shown.get((main, t), False):
            continue
        r = total.loc[t]
        if not np.isfinite(r["diff_vs_ref"]):
            continue
        phrase, ci = _change_phrase(r["diff_vs_ref"], r["diff_ci_low"], r["diff_ci_high"])
        sentence = (f"{ctx.main_words} in {_when(time, t)} was {phrase} than in {_when(time, ref)} "
                    f"({ci}; d = {fmt_num(r['d_vs_ref'], 2)}, "
                    f"95% CI {fmt_ci(r['d_ci_low'], r['d_ci_high'])}).")
        if r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0:
            sentence += (f" The interval excludes no change ({_p_phrase(r['diff_p'])}); the "
                         f"effect is {_effect_word(r['d_vs_ref'])} by Cohen's conventions.")
        else:
            sentence += " The interval includes no change: the data cannot tell this apart " \
                        "from no difference."
        section.bullets.append(sentence)
        if best is None or abs(r["d_vs_ref"]) > abs(best[1]["d_vs_ref"]):
            best = (t, r)
    if best is not None:
        t, r = best
        highlights.append((f"Largest change: {_when(time, t)} vs {ref}",
                           f"{fmt_num(r['diff_vs_ref'], 1, True)} points",
                           f"95% CI {fmt_ci(r['diff_ci_low'], r['diff_ci_high'], 1)}; "
                           f"d = {fmt_num(r['d_vs_ref'], 2)}"))
    mt = ctx.mixed_tr
    md = mt.mixed_model.get(main) if mt is not None else None
    if md:
        sl = mt.linear_slope.get(main)
        terms = {k: v for k, v in md["terms"].items() if k != "Intercept"
                 and v.get("estimate") is not None}
        if best is not None and f"time[{best[0]}]" in terms:
            v = terms[f"time[{best[0]}]"]
            phrase, ci = _change_phrase(v["estimate"], v["ci"][0], v["ci"][1])
            section.bullets.append(
                f"Following the same students ({md['n_groups']:,} students, mixed model), "
                f"{ctx.main_words.lower()} in {_when(time, best[0])} was {phrase} than in "
                f"{_when(time, ref)} ({ci}).")
        if sl:
            section.bullets.append(
                f"On average the {what} changed by {fmt_num(sl['estimate'], 2, True)} points "
                f"per {time} (95% CI {fmt_ci(*sl['ci'])}; mixed model).")
    gd = tr.group_differences
    if ctx.group is not None and not gd.empty and "diff" in gd.columns:
        first = gd[(gd["scale"] == main) & (gd["time"] == ref) & ~gd["suppressed"]]
        for r in first.itertuples():
            if r.diff != r.diff:
                continue
            phrase, ci = _change_phrase(r.diff, r.diff_ci_low, r.diff_ci_high)
            section.bullets.append(
                f"In {_when(time, ref)}, the total of the '{r.group}' group was {phrase} than "
                f"that of the '{r.reference_group}' group ({ci}; d = {fmt_num(r.d, 2)}).")
    cd = getattr(tr, "cohort_differences", None)
    if ctx.cohort is not None and cd is not None and not cd.empty and "diff" in cd.columns:
        mine = cd[(cd["scale"] == main) & ~cd["suppressed"].astype(bool)]
        if not mine.empty:
            newest = max(mine["cohort"])
            r = mine[mine["cohort"] == newest].sort_values("time").iloc[0]
            if r["diff"] == r["diff"]:
                phrase, ci = _change_phrase(r["diff"], r["diff_ci_low"], r["diff_ci_high"])
                section.bullets.append(
                    f"The newest entering {ctx.cohort} ({newest}) scored {phrase} in "
                    f"{_when(time, r['time'])} than the {r['reference_cohort']} {ctx.cohort} "
                    f"did ({ci}; d = {fmt_num(r['d'], 2)})"
                    + (": no clear difference." if r["diff_ci_low"] <= 0 <= r["diff_ci_high"]
                       else "."))
    if not tr.reliable_change.empty:
        rc = tr.reliable_change
        last = rc[(rc["scale"] == main)]
        if not last.empty:
            to = max(last["to"])
            part = last[last["to"] == to]
            shown = {r.category: r.count for r in part.itertuples() if not r.suppressed}
            if "decline" in shown:
                section.bullets.append(
                    f"Between {_when(time, ref)} and {to}, {int(shown['decline'])} students "
                    f"showed a reliable decline in the {what} (beyond measurement error)"
                    + (f" and {int(shown['improvement'])} a reliable improvement"
                       if "improvement" in shown else "") + ".")
    alphas = []
    if rel is not None:
        tab = rel.table
        alphas = [float(a) for a in tab.loc[(tab["scale"] == main) & ~tab["suppressed"],
                                            "alpha"] if a is not None and a == a]
    if alphas:
        lo, hi = min(alphas), max(alphas)
        verdict = ("adequate for comparing groups" if lo >= 0.7 else
                   "below the .70 usually wanted for group comparisons in some "
                   f"{time}s")
        section.bullets.append(
            f"Reliability of the {what} score (Cronbach's alpha) ranged from {lo:.2f} to "
            f"{hi:.2f} across {time}s: {verdict}.")
        highlights.append((f"Reliability (alpha, {what})", f"{lo:.2f}–{hi:.2f}",
                           f"across {len(alphas)} {time}s"))
    if inv is not None:
        section.bullets.append(
            (f"Comparisons across {time}s are sound: " if inv.sound else
             f"Comparisons across {time}s need care: ") + str(inv.verdict))
        highlights.append((f"Comparable across {time}s?", "Yes" if inv.sound else "With care",
                           "scalar invariance " + ("holds" if inv.sound else "not shown")))
    else:
        section.bullets.append(f"Whether scores are comparable across {time}s (measurement "
                               "invariance) could not be checked; see the factor structure "
                               "section.")
    section.notes_title = "How to read this report"
    section.notes += [
        "A 95% confidence interval (CI) is the range of values compatible with the data; "
        "when it excludes zero, the change is unlikely to be chance alone.",
        "Cohen's d gives a difference in standard deviations: about 0.2 is small, 0.5 medium "
        "and 0.8 large (Cohen 1988). Differences are also given in scale points.",
        f"Cross-sectional results compare everyone who answered at each {time}; longitudinal "
        "results (mixed model, paired change) follow the same students over time.",
    ]
    hidden = int(bt["suppressed"].sum())
    if not tr.cohort_trajectories.empty:
        hidden += int(tr.cohort_trajectories["suppressed"].sum())
    if not tr.group_stats.empty:
        hidden += int(tr.group_stats["suppressed"].sum())
    if hidden:
        section.bullets.append(
            f"{hidden} table cell(s) describe fewer than {ctx.min_cell} students (or would "
            "reveal such a cell) and are suppressed throughout.")
    return highlights


def _methods(ctx: _Context, section: Section, *, source: Any, digest: str | None,
             now: _dt.datetime, elapsed: float) -> dict[str, str]:
    inst = ctx.inst
    prov: dict[str, str] = {}
    vers = _versions()
    prov["empathy-metrics version"] = vers.pop("empathy-metrics")
    prov["Instrument"] = f"{inst.name} ({inst.id})"
    prov["Instrument citation"] = inst.citation
    prov["Instrument licence"] = inst.license
    prov["Input file"] = str(Path(source).name) if source is not None else "(data frame)"
    prov["Input SHA-256"] = digest or "(no file)"
    prov["Rows read"] = f"{len(ctx.frame):,}"
    prov["Columns used"] = ", ".join(f"{role} = '{col}'" for role, col in (
        ("time", ctx.time), ("id", ctx.id), ("cohort", ctx.cohort), ("group", ctx.group))
        if col is not None)
    prov["Reference time"] = str(ctx.tr.reference)
    prov["Small-cell threshold"] = (f"{ctx.min_cell} (with complementary suppression, "
                                    "NCES 2011-603)")
    opts = {k: v for k, v in ctx.opts.items() if k != "columns"}
    prov["Options"] = "; ".join(f"{k} = {v}" for k, v in opts.items())
    if ctx.opts.get("columns"):
        prov["Column map"] = ", ".join(f"{k} = {v}" for k, v in ctx.opts["columns"].items())
    prov["Date"] = now.strftime("%Y-%m-%d %H:%M:%S UTC")
    prov["Software"] = ", ".join(f"{k} {v}" for k, v in vers.items())
    prov["Platform"] = platform.platform(terse=True)
    prov["Analysis time"] = f"{elapsed:.1f} s"
    section.para(
        "Scoring follows the instrument's published key (reverse-keyed items reversed, "
        "person-mean replacement of a few unanswered items). Cross-sectional change: Welch "
        "t intervals, Cohen's d and Hedges' g with noncentral-t intervals; Welch ANOVA, "
        "Kruskal–Wallis, Holm-adjusted adjacent comparisons. Longitudinal change: linear "
        "mixed model with a random intercept per student (REML), paired change and the "
        "Jacobson–Truax reliable change index. Reliability: Cronbach's alpha (Feldt interval). "
        "Factor structure: minres EFA with oblimin rotation and Horn's "
        "parallel analysis; ML CFA and multi-group invariance. Results agree with R (psych, "
        "lavaan, lme4) as tested in the package's reference tests.")
    section.para(
        f"Privacy: every cell (time × cohort × group) with fewer than {ctx.min_cell} "
        "respondents is suppressed, together with enough neighbouring cells that it cannot be "
        "recovered from totals; the report shows groups, never individual students.")
    section.add(Table("provenance", "Provenance",
                      pd.DataFrame({"measure": list(prov), "value": list(prov.values())}),
                      [Column.text("measure", "Item"), Column.text("value", "Value")],
                      min_cell=ctx.min_cell))
    section.bullets += [
        "Hojat M et al. (2009). The devil is in the third year. Acad Med 84:1182–1191.",
        "Colliver JA et al. (2010). Reports of the decline of empathy during medical "
        "education are greatly exaggerated. Acad Med 85:588–593.",
        "Jacobson NS, Truax P (1991). Clinical significance. J Consult Clin Psychol 59:12–19.",
        "Hu L, Bentler PM (1999). Cutoff criteria for fit indexes. Struct Equ Modeling 6:1–55.",
        "NCES (2010). Statistical methods for protecting personally identifiable information "
        "in aggregate reporting (NCES 2011-603).",
    ]
    return prov
