"""Build the yearly report: call the library, arrange its results into sections.

:func:`build_report` computes no statistic itself. It calls :func:`empathy_metrics.scoring.score`
(data-quality flags), :func:`empathy_metrics.cohorts.trend` (scores by time, cohort and group,
change, effect sizes, mixed model, item change — all already small-cell suppressed),
:func:`empathy_metrics.reliability.reliability` per time, :func:`empathy_metrics.efa.efa`,
:func:`empathy_metrics.cfa.cfa` and :func:`empathy_metrics.cfa.invariance` across times and
:func:`empathy_metrics.norms.norm_scores`, then words and tables the results. A section whose
analysis cannot run (missing module, degenerate data) says so and why; the rest of the report is
still built. Warnings raised by an analysis are shown as notes under its section.

Each section is one module of :mod:`empathy_metrics.report.sections` (its analysis calls, words,
tables and figures); this module validates the arguments, runs the core analyses every section
shares (scoring and :func:`~empathy_metrics.cohorts.trend`) and composes the sections.
"""

from __future__ import annotations

import hashlib
import time as _time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..instruments import Instrument, load_instrument
from ..io import resolve_columns
from ..suppression import DEFAULT_MIN_CELL
from ..suppression import fold_small_groups as fold_groups
from ._context import STEPS, Context, Progress, Runner
from ._offload import OFFLOADED, Offload
from ._pool import FigurePool
from ._print import check_paper
from ._tables import Section
from .document import Report
from .labels import Labels, load_labels
from .sections import build_order, section_specs
from .sections.methods import record_analysis_time

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


def _sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _shown_times(frame: pd.DataFrame, inst: Instrument, **kw: Any) -> dict[Any, bool]:
    """Which times the trend will show, before it runs (its warnings are the trend's own)."""
    import warnings

    from ..cohorts import shown_times

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return shown_times(frame, inst, **kw)


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
    paper: str | None = None,
    confidential: str | None = None,
    labels: Labels | Mapping[str, Any] | str | Path | None = None,
    enrolled: pd.DataFrame | None = None,
    fold_small_groups: bool = False,
    parallel: bool = True,
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
        Column names, as for :func:`empathy_metrics.cohorts.trend`: matched exactly, else
        after trimming spaces, else ignoring case when only one column fits, with a
        :class:`~empathy_metrics.errors.ColumnNameWarning` naming the column used
        (:func:`empathy_metrics.io.resolve_columns`, as the command line does).
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
    fold_small_groups
        Fold the ``group`` levels with fewer than ``min_cell`` respondents at some time, and
        missing values, into one group "other / not stated" before analysis, so that a small
        group does not force large groups' cells to be hidden (the command line's
        ``--fold-small-groups``; :func:`empathy_metrics.suppression.fold_small_groups`). The
        data-quality section names the folded groups; without it, the scores section names
        the small group that forced other groups' cells out and points to this option.
    progress
        Progress on standard error: ``None`` (default) a bar on an interactive terminal and
        nothing otherwise; ``True`` a bar on a terminal, otherwise one line per step that
        took a second or more (what the CLI uses); ``False`` nothing.
    paper
        ``"letter"`` or ``"a4"``: the page size when printed or written as PDF (default: from
        the locale, Letter in the US and Canada, see :func:`~empathy_metrics.report._print.
        default_paper`).
    labels
        Display labels: a :class:`~empathy_metrics.report.labels.Labels`, a mapping
        ``{"columns": {"year": "Training year"}, "values": {"gender": {1: "Women"}}}`` or a
        YAML file of that shape; used in every table, figure, CSV/XLSX header and value and
        sentence (the analyses run on the codes). Default: the column names, whole numbers
        without decimals, REDCap event names as words.
    confidential
        A marking such as ``"CONFIDENTIAL — faculty only"`` shown at the top of the report and
        in the top margin of every printed page.
    enrolled
        Enrolment counts per cohort and year (columns ``cohort``, ``year``, ``enrolled``), as
        for :func:`empathy_metrics.cohorts.trend`: the "Who answered" section then shows the
        response rates beside the change in score.
    parallel
        Write the figures as SVG in a second process while the analyses run (where the
        ``fork`` start method and two CPUs are available; the same bytes either way, see
        :mod:`empathy_metrics.report._pool`). ``False``: everything in this process.

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
    is longitudinal when ids repeat across times (one model per subscale, full-information
    ML; subscales too small or too wide for it use the multi-group model, approximate), and
    multi-group otherwise; the report says which design each verdict comes from (see
    :mod:`empathy_metrics.report.sections._comparability`).
    """
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
    paper = check_paper(paper)
    display = load_labels(labels)
    if confidential is not None and not str(confidential).strip():
        confidential = None
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
    names = resolve_columns(frame, source=None if source is None else str(source),
                            time=time, id=id, cohort=cohort, group=group)
    time, id, cohort, group = (names[k] for k in ("time", "id", "cohort", "group"))
    if fold_small_groups and group is not None:
        frame, _ = fold_groups(frame, group, min_cell, by=time)  # named in the quality section
    mixed_scales = opts["mixed_scales"]
    scales = list(inst.scales)
    if mixed_scales == "all":
        mixed_scales = scales
    mixed_scales = [s for s in (mixed_scales or []) if s in scales]
    if not mixed_scales and opts["mixed_scales"] == DEFAULT_OPTIONS["mixed_scales"] \
            and "total" not in scales:
        mixed_scales = scales[:1]  # no total: the headline scale

    with Progress(Progress.mode_for(progress), STEPS) as bar, FigurePool(parallel) as pool, \
            Offload(parallel) as offload:
        pool.start()  # the figure worker imports matplotlib while the core analyses run
        run = Runner(bar)
        # ---------------------------------------------------------------- core (errors raise)
        scored = run.timed("Scoring", lambda: score(frame, inst))
        ctx = Context(inst=inst, tr=None, time=time, id=id, cohort=cohort, group=group,
                      min_cell=min_cell, times=[], time_shown={}, shown={},
                      frame=frame, scored=scored, opts=opts, run=run,
                      mixed_scales=mixed_scales, exclusions=data.attrs.get("exclusions"),
                      source=source, digest=digest, started=started, labels=display,
                      figures=pool)
        sections = _build_sections(ctx, offload, lambda: trend(
            frame, inst, time=time, id=id, cohort=cohort, group=group,
            reference=opts["reference"], min_cell=min_cell, mixed=False, enrolled=enrolled))
        waited = _time.perf_counter()
        pool.finish(run.guard)
        run.timings.update(pool.timings)  # figures drawn in the second process: its time
        run.timings["Figures (written in a second process)"] = _time.perf_counter() - waited
        if "methods" in sections:
            record_analysis_time(ctx, sections["methods"])
        run.step(STEPS)  # whatever is left
    report = _assemble(ctx, list(sections.values()), paper=paper,
                       title=title if title is not None else "Empathy across training years",
                       confidential=str(confidential).strip() if confidential else None)
    report.timings = dict(run.timings)
    return report


def _build_sections(ctx: Context, offload: Offload, run_trend: Callable[[], Any]
                    ) -> dict[str, Section]:
    """Every section, built (results in ``ctx.results``), in report order.

    The sections of :data:`~empathy_metrics.report._offload.OFFLOADED` start in a child
    first, from the times the trend will show (:func:`~empathy_metrics.cohorts.shown_times`);
    the trend then runs here, completes the context, and the other sections are built in
    :func:`~empathy_metrics.report.sections.build_order` with the offloaded ones collected
    last (the same order serially, so that both give the same report).
    """
    early = _shown_times(ctx.frame, ctx.inst, time=ctx.time, id=ctx.id, cohort=ctx.cohort,
                         group=ctx.group, reference=ctx.opts["reference"],
                         min_cell=ctx.min_cell)
    ctx.times, ctx.time_shown = list(early), early
    specs = section_specs()
    order = build_order(specs, late=OFFLOADED)
    sections = {s.id: Section(s.id, s.title(ctx), appendix=s.appendix)
                for s in specs if s.id in OFFLOADED}
    for spec in order:
        if spec.id in sections:
            offload.start(ctx, spec, sections[spec.id])
    tr = ctx.run.timed("Scores by time, cohort and group", run_trend)
    ctx.tr = tr
    ctx.shown = {(r.scale, r.time): not r.suppressed for r in tr.by_time.itertuples()}
    ctx.times = sorted(tr.times)
    ctx.time_shown = {t: all(ctx.shown[(s, t)] for s in tr.scales) for t in ctx.times}
    if ctx.time_shown != early:  # pragma: no cover - shown_times is the trend's first step
        offload.close()  # then built here, at its turn, from the whole context
    sections = {s.id: sections.get(s.id) or Section(s.id, s.title(ctx), appendix=s.appendix)
                for s in specs}
    for spec in order:
        ctx.results[spec.id] = offload.collect(ctx, spec, sections[spec.id])
    return sections


def _assemble(ctx: Context, sections: list[Section], **kw: Any) -> Report:
    """The :class:`Report`: tables and figures numbered in report order, the subtitle."""
    number, names = 0, set()
    for s in sections:
        for t in s.tables:
            number += 1
            t.number = number
            if t.name in names:  # pragma: no cover - a programming error in a section
                raise RuntimeError(f"two report tables are named {t.name!r}")
            names.add(t.name)
            t.relabel = ctx.export_labels
    for i, f in enumerate((f for s in sections for f in s.figures), start=1):
        f.number = i
    subtitle = (f"{ctx.inst.name} · {len(ctx.frame):,} responses · {ctx.tw} "
                f"{', '.join(ctx.show(ctx.time, t) for t in ctx.times)} · cells with fewer "
                f"than {ctx.min_cell} respondents suppressed")
    return Report(subtitle=subtitle, sections=sections, provenance=ctx.provenance,
                  min_cell=ctx.min_cell, highlights=ctx.highlights,
                  generated=ctx.now.strftime("%Y-%m-%d %H:%M UTC"), **kw)
