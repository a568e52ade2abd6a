"""The entry point :func:`trend`: composes the analyses of the cohort package into one
:class:`~empathy_metrics.cohorts.results.TrendResult`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .._checks import check_frame
from ..errors import DegenerateDataWarning
from ..instruments import Instrument, resolve_instrument
from ..io import resolve_columns
from ..suppression import DEFAULT_MIN_CELL
from . import attrition, change, cohort_sequential, compare, describe, groups, longitudinal
from ._base import TrendInput, _check_min_cell, prepare_trend_input
from .distribution import _histogram_tables
from .items import trend_items
from .results import TrendResult


def trend(
    data: pd.DataFrame,
    instrument: Instrument | str,
    *,
    time: str,
    id: str | None = None,  # noqa: A002 - public keyword named in the issue
    cohort: str | None = None,
    group: str | None = None,
    reference: Any = None,
    min_cell: int = DEFAULT_MIN_CELL,
    scales: Sequence[str] | None = None,
    alpha: Mapping[str, float] | None = None,
    alpha_by_time: Mapping[Any, Mapping[str, float]] | None = None,
    group_reference: Any = None,
    cohort_reference: Any = None,
    mixed: bool = True,
    random_slope: bool = False,
    enrolled: pd.DataFrame | None = None,
    fold_small_groups: bool = False,
) -> TrendResult:
    """Describe and test change of every scale across ``time``.

    Parameters
    ----------
    data
        Long format: one row per respondent and time, holding the raw item columns (scored
        with :func:`empathy_metrics.scoring.score`) or, without them, the scale score columns
        (named by scale id, e.g. ``total``), and the ``time`` (and optional id, cohort, group)
        columns. When the items are there a column named like a scale is ignored with a
        :class:`~empathy_metrics.errors.ScaleColumnWarning`: scoring wins.
    instrument
        Instrument, bundled id, YAML path, dict, or a list of item columns (one scale).
    time
        Column with the training year or wave (ordered by sorting its values). This and the
        other column names are matched as the command line matches them
        (:func:`empathy_metrics.io.resolve_columns`): exactly, else after trimming spaces,
        else ignoring case when only one column fits (`` student_id `` and ``STUDENT_ID``
        find ``student_id``), with a :class:`~empathy_metrics.errors.ColumnNameWarning`
        naming the column used; a name matching several columns ignoring case is an error.
    id
        Respondent id column; when ids repeat the longitudinal analyses run.
    cohort, group
        Entering-cohort and grouping (e.g. gender) columns.
    reference
        The time compared against (default: the first).
    min_cell
        Cells with fewer respondents are suppressed (with complementary suppression).
    scales
        Subset of scales (default: all of the instrument's).
    alpha
        Reliability per scale for the reliable change index; default: Cronbach's alpha of the
        reference-time keyed items (needs item columns).
    alpha_by_time
        Optional time -> {scale: alpha} (kept for the report; the RCI uses the reference time's
        entry when ``alpha`` is not given).
    group_reference
        Group level the others are compared with (default: the largest group, so that the
        comparisons survive when a small group is suppressed; ties go to the first in sorted
        order).
    cohort_reference
        Entering cohort the others are compared with within each time (default: the first,
        i.e. the earliest, in sorted order).
    mixed
        Fit the mixed models when ids repeat (set ``False`` for speed).
    random_slope
        Add a random slope of (numeric) time per respondent to both mixed models,
        ``(1 + time | id)``; its SD and correlation with the intercept are reported.
    enrolled
        Optional enrolment counts, columns ``cohort``, ``year`` (or the time column's name) and
        ``enrolled``; adds the response rates
        (:func:`empathy_metrics.cohorts.attrition.response_rate_table`). The ``cohort`` column
        is required whenever ``cohort`` is given (rates per cohort and time); it may be left
        out only when the analysis has no ``cohort`` column, and the rates are then per time.
    fold_small_groups
        Fold the ``group`` levels with fewer than ``min_cell`` respondents at some time, and
        missing values, into one group "other / not stated" before analysis
        (:func:`empathy_metrics.suppression.fold_small_groups`; the command line's
        ``--fold-small-groups``). A small group is suppressed, and so that it cannot be worked
        out from a time's total a large group is hidden with it; folding keeps the large
        groups visible. A note names the folded levels.

    Returns
    -------
    TrendResult

    Notes
    -----
    *Cross-sectional*: mean CI is ``x̄ ± t_{.975,n−1}·s/√n``; change vs the reference is Welch's
    difference (R ``t.test``) and Cohen's d with pooled SD and noncentral-t CI, Hedges' g with
    the exact ``J(df)`` correction (R ``effectsize::cohens_d``/``hedges_g``); Welch ANOVA (R
    ``oneway.test``), Kruskal–Wallis with tie correction (R ``kruskal.test``), a linear trend
    test as the OLS slope of score on time (R ``lm``), adjacent-time Welch tests with Holm
    adjustment (R ``p.adjust``).
    *Longitudinal*: ``score ~ factor(time) + (1|id)`` and ``score ~ time + (1|id)`` by REML (R
    ``lme4::lmer``; with ``random_slope`` ``(1 + time|id)``), see
    :func:`empathy_metrics.mixed.fit_mixed`; the linear slope is reported from the latter
    (numeric time values, or their order 1..k when not numeric); paired adjacent change (R
    ``t.test(paired = TRUE)``); reliable change ``RCI = (x₂ − x₁)/S_diff``,
    ``S_diff = √2 · SD_ref · √(1 − α)`` with ``|RCI| > 1.96`` counted as reliable decline or
    improvement (Jacobson & Truax 1991). Rows with a missing score on a scale are dropped for
    that scale (available-case analysis).
    *Norms*: for scales whose norm (group ``"all"``) the instrument's YAML carries, each shown
    time's mean z ``(x̄ − μ)/σ``, the percentile rank of the mean and the median percentile rank
    (:func:`empathy_metrics.norms.percentile_rank`).
    *Change that matters*: SEM, change per item and reliable-change shares
    (:func:`empathy_metrics.cohorts.change.change_table`).
    *Attrition*: baseline scores of the students seen later vs never seen again, the
    completers-only vs all-available change side by side, and response rates with
    ``enrolled`` (:mod:`empathy_metrics.cohorts.attrition`).
    *Cohort-sequential*: with ids and cohorts, ``score ~ factor(time) + factor(cohort) +
    (1 | id)`` (REML; year effects compare the same students, cohort effects different
    students) and the likelihood-ratio test of the cohort × year interaction (ML fits; R
    ``anova()`` of two ``lmer(REML = FALSE)`` fits), see
    :mod:`empathy_metrics.cohorts.cohort_sequential`.
    *Design*: every comparison carries ``design`` — ``"same students"`` (within-person: paired
    change, reliable change, mixed-model time effects, completers) or ``"different students"``
    (cross-sectional: change of the respondents' means, adjacent-time tests, cohort and group
    differences, attrition).

    *Privacy*: times with fewer than ``min_cell`` respondents (and their complements, see
    :func:`empathy_metrics.suppression.suppress`) are shown as suppressed and are left out of
    every test, model, paired comparison, norm and item table, so no shown number depends on
    them; with a suppressed reference time no change from it is shown. Cohort and group cells
    are suppressed the same way against the totals that are published: each shown time's n,
    and the hidden times' n together (a cohort's or group's total over all times is shown
    nowhere, so it is no margin). Complements are chosen to hide the fewest respondents
    (:func:`empathy_metrics.suppression.suppress`). Each pattern is computed once from the
    smallest n of any scale in the cell and applied to every scale.
    """
    check_frame(data, "data", "trend")
    names = resolve_columns(data, time=time, id=id, cohort=cohort, group=group)
    time, id, cohort, group = (names[k] for k in ("time", "id", "cohort", "group"))
    data, folded = _fold(data, group, time, min_cell, fold_small_groups)
    inst = resolve_instrument(instrument, data)
    inp = prepare_trend_input(data, inst, time=time, id=id, cohort=cohort, group=group,
                              reference=reference, min_cell=min_cell, scales=scales)
    if folded:
        inp.notes.append(folded)
    by_time = describe.by_time_table(inp)
    cohort_traj, group_stats, gdiff, cdiff = groups.level_tables(
        inp, group_reference=group_reference, cohort_reference=cohort_reference)
    # bad enrolment counts stop before the models run
    rates = _response_rates(inp, enrolled, cohort_traj, by_time)
    norms = describe.norm_table(inp)
    tests = compare.time_tests(inp)
    mixed_out, slope_out, paired, rc = longitudinal.longitudinal_tables(
        inp, {s: tests[s]["linear_trend"] for s in inp.scales}, alpha=alpha,
        alpha_by_time=alpha_by_time, mixed=mixed, random_slope=random_slope)
    meaningful = change.change_table(inp, by_time, rc, alpha=alpha, alpha_by_time=alpha_by_time)
    who_left = attrition.attrition_table(inp)
    sensitivity = attrition.sensitivity_table(inp, by_time, mixed_out)
    sequential = (cohort_sequential.cohort_sequential_models(inp) if mixed
                  else dict.fromkeys(inp.scales))
    histogram, distribution, _ = _histogram_tables(inst, inp.scales, _flat(inp.values),
                                                   inp.times, inp.shown, inp.min_cell, None,
                                                   small=inp.small_time)
    groups.small_group_note(inp)
    items = trend_items(inp)
    _closing_notes(inp, by_time)
    return TrendResult(
        instrument=inst, time=time, times=inp.times, reference=inp.reference,
        scales=inp.scales, min_cell=inp.min_cell, by_time=by_time, tests=tests,
        mixed_model=mixed_out, linear_slope=slope_out, paired=paired, reliable_change=rc,
        cohort_trajectories=cohort_traj, group_stats=group_stats, group_differences=gdiff,
        cohort_differences=cdiff, item_change=items.change if items is not None else None,
        norms=norms, items=items, scores=describe.score_table(inp),
        meaningful_change=meaningful, attrition=who_left, sensitivity=sensitivity,
        response_rates=rates, cohort_sequential=sequential,
        distribution=distribution, histogram=histogram, random_slope=bool(random_slope),
        id=id, cohort=cohort, group=group, notes=inp.notes,
    )


def shown_times(
    data: pd.DataFrame,
    instrument: Instrument | str,
    *,
    time: str,
    id: str | None = None,  # noqa: A002 - as in trend()
    cohort: str | None = None,
    group: str | None = None,
    reference: Any = None,
    min_cell: int = DEFAULT_MIN_CELL,
) -> dict[Any, bool]:
    """Each time of ``data``, in order, and whether :func:`trend` shows it.

    Only the first step of :func:`trend` (checking the columns, the time-suppression pattern
    of :func:`empathy_metrics.suppression.suppress`: a time with fewer than ``min_cell``
    respondents, and its complement, are hidden), with the same arguments and errors; for a
    caller that must know which times are shown before the trend's analyses are done (the
    report starts its invariance models from it while the trend runs). Equal to
    ``{t: not hidden}`` of ``trend(...).by_time``.
    """
    check_frame(data, "data", "shown_times")
    names = resolve_columns(data, time=time, id=id, cohort=cohort, group=group)
    inst = resolve_instrument(instrument, data)
    # the time pattern does not depend on the cohort and group columns (checked above by
    # resolve_columns), so their level x time patterns are not computed
    inp = prepare_trend_input(data, inst, time=names["time"], id=names["id"], cohort=None,
                              group=None, reference=reference, min_cell=min_cell,
                              scales=None)
    return {t: bool(inp.shown[t]) for t in sorted(inp.times)}


def _fold(data: pd.DataFrame, group: str | None, time: str, min_cell: Any, fold: bool
          ) -> tuple[pd.DataFrame, str | None]:
    """``fold_small_groups``: the data with small groups folded, and a note naming them."""
    if not fold or group is None:
        return data, None
    from ..suppression import FOLDED_LABEL
    from ..suppression import fold_small_groups as fold_groups

    data, levels = fold_groups(data, group, _check_min_cell(min_cell), by=time)
    if not levels:
        return data, None
    return data, (f"'{group}' groups with fewer than {int(min_cell)} respondents in a '{time}' "
                  f"({', '.join(map(str, levels))}) and missing values are folded into "
                  f"'{FOLDED_LABEL}'")


def _response_rates(inp: TrendInput, enrolled: pd.DataFrame | None, cohort_cells: pd.DataFrame,
                    by_time: pd.DataFrame) -> pd.DataFrame:
    if enrolled is None:
        return pd.DataFrame()
    source = enrolled.attrs.get("source", "enrolled")
    checked = attrition.check_enrolled(enrolled, time=inp.time, cohort=inp.cohort,
                                       source=source,
                                       line_numbers=bool(enrolled.attrs.get("line_numbers")))
    return attrition.response_rate_table(inp, checked, cohort_cells, by_time, source=source)


def _flat(values: Mapping[str, Mapping[Any, Any]]) -> dict[tuple[str, Any], Any]:
    return {(s, t): y for s, by_t in values.items() for t, y in by_t.items()}


def _closing_notes(inp: TrendInput, by_time: pd.DataFrame) -> None:
    no_norm = [s for s in inp.scales if not inp.inst.norms_for(s, "all")]
    if no_norm:
        inp.notes.append(f"no published norm in the {inp.inst.id} definition for: "
                         f"{', '.join(no_norm)}")
    if any(by_time["suppressed"]):
        inp.notes.append(f"cells with fewer than {inp.min_cell} respondents are suppressed, "
                         "with complementary suppression so that they cannot be recovered "
                         "from totals")
    if not inp.kept:
        warnings.warn("every time point is suppressed", DegenerateDataWarning, stacklevel=3)
