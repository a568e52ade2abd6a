"""Groups compared on their own (one survey, no time needed): :func:`compare_groups`, and
reliability per group or time: :func:`reliability_by`.

:func:`compare_groups` is the group comparison of :func:`~empathy_metrics.cohorts.trend`
without the time axis: the same preparation (scoring, one suppression pattern for all
scales), the same descriptives and two-sample comparisons (:mod:`.describe`), and the same
omnibus tests (:mod:`.compare`), with the group column in the place of the time.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._results import Result, jsonable
from ..effect_sizes import holm
from ..instruments import Instrument, resolve_instrument
from ..suppression import DEFAULT_MIN_CELL, with_kinds
from . import compare, describe
from ._base import prepare_trend_input
from .items import reliability_by_time
from .results import ReliabilityByTimeResult

__all__ = ["compare_groups", "GroupComparisonResult", "reliability_by"]

_COLUMNS = ["scale", "group", "n", "mean", "sd", "se", "ci_low", "ci_high", "median", "q1",
            "q3", "diff_vs_ref", "diff_ci_low", "diff_ci_high", "diff_p", "p_holm", "d_vs_ref",
            "d_ci_low", "d_ci_high", "g_vs_ref", "g_ci_low", "g_ci_high", "suppressed",
            "primary_suppressed"]


@dataclass
class GroupComparisonResult(Result):
    """Scale scores compared between groups; see :func:`compare_groups`.

    Attributes
    ----------
    table
        Per scale and group: n, mean, SD, SE, 95 % CI, median, quartiles; against the
        reference group the Welch difference (``diff_vs_ref`` with CI and p, ``p_holm``
        Holm-adjusted over the comparisons of the scale), Cohen's d and Hedges' g with CIs;
        ``suppressed`` (small groups and their complements, every number blank).
    tests
        Per scale: ``welch_anova`` (F, df1, df2, p) and ``kruskal`` (statistic, df, p) over the
        shown groups.
    """

    instrument: Instrument
    group: str
    groups: list[Any]
    reference: Any
    scales: list[str]
    min_cell: int
    table: pd.DataFrame
    tests: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Group comparison", repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The per-scale, per-group table (a copy)."""
        return self.table.copy()

    def __getitem__(self, scale: str) -> pd.DataFrame:
        """The rows of one scale, indexed by group (a copy)."""
        from .._checks import check_key

        check_key(scale, self.scales, "scale")
        rows = self.table[self.table["scale"] == scale]
        return rows.drop(columns="scale").set_index("group")

    def to_dict(self) -> dict[str, Any]:
        """``{"instrument", "group", "reference", "min_cell", "scales": {scale: {"groups":
        [rows], "tests": {...}}}, "notes"}``."""
        return jsonable({
            "instrument": self.instrument.id, "group": self.group,
            "reference": self.reference, "min_cell": self.min_cell,
            # "suppressed": "small" | "complementary" | false (issue 8)
            "scales": {s: {"groups": with_kinds(self[s].reset_index()),
                           "tests": self.tests.get(s, {})}
                       for s in self.scales},
            "notes": list(self.notes)})

    def _test_lines(self) -> list[str]:
        lines = []
        for s in self.scales:
            t = self.tests.get(s, {})
            parts = []
            if "welch_anova" in t:
                w = t["welch_anova"]
                parts.append(f"Welch ANOVA F({w['df1']:.0f}, {w['df2']:.1f}) = "
                             f"{w['statistic']:.2f}, p = {w['p']:.3g}")
            if "kruskal" in t:
                k = t["kruskal"]
                parts.append(f"Kruskal–Wallis H({k['df']}) = {k['statistic']:.2f}, "
                             f"p = {k['p']:.3g}")
            lines.append(f"{self.instrument.scale_name(s)}: "
                         + ("; ".join(parts) if parts else "no test (fewer than two groups "
                                                           "shown)"))
        return lines

    def summary(self) -> str:
        cols = ["scale", "group", "n", "mean", "sd", "diff_vs_ref", "diff_ci_low",
                "diff_ci_high", "p_holm", "d_vs_ref", "d_ci_low", "d_ci_high"]
        with pd.option_context("display.width", 140):
            body = self.table[cols].to_string(index=False, float_format=lambda x: f"{x:.2f}",
                                              na_rep="—")
        head = (f"{self.title}: {self.instrument.name} by {self.group} "
                f"(reference {self.reference})")
        return "\n".join([head, "=" * len(head), body, "", *self._test_lines(),
                          *(f"Note: {n}" for n in self.notes)])

    def _repr_html_(self) -> str:
        from .._results import html_notes, html_table

        frame = self.table.drop(columns=["se", "median", "q1", "q3"])
        tests = "".join(f"<li>{html.escape(line)}</li>" for line in self._test_lines())
        return (f"<div class='empathy-metrics-result'><h4>{html.escape(self.title)} — "
                f"{html.escape(self.instrument.name)} by {html.escape(str(self.group))} "
                f"(reference {html.escape(str(self.reference))})</h4>"
                f"{html_table(frame, self.min_cell)}<p>Tests across groups:</p><ul>{tests}</ul>"
                f"{html_notes(self.notes)}</div>")


def _largest(data: pd.DataFrame, group: str) -> Any:
    counts = data[group].value_counts()
    levels = sorted(counts.index.tolist(), key=str)
    return max(levels, key=lambda lev: (counts[lev], -levels.index(lev))) if levels else None


def compare_groups(
    data: pd.DataFrame,
    instrument: Instrument | str | Sequence[str],
    *,
    group: str,
    reference: Any = None,
    min_cell: int = DEFAULT_MIN_CELL,
    scales: Sequence[str] | None = None,
) -> GroupComparisonResult:
    """Compare every scale between the groups of one column (e.g. gender, site, cohort).

    Parameters
    ----------
    data
        One row per respondent: raw item columns (scored with
        :func:`empathy_metrics.scoring.score`) or scale score columns, and the ``group``
        column. Rows without a group are left out.
    instrument
        Instrument, bundled id, YAML path, dict, or a list of item columns.
    group
        The grouping column.
    reference
        The group the others are compared with (default: the largest group, so that the
        comparisons survive when a small group is suppressed; ties go to the first in sorted
        order).
    min_cell
        Groups with fewer respondents are suppressed, with complementary suppression (as
        everywhere in the package, :func:`empathy_metrics.suppression.suppress`).
    scales
        Subset of scales (default all).

    Returns
    -------
    GroupComparisonResult

    Notes
    -----
    Each group against the reference: Welch's difference of means with its t-based CI and p
    (R ``t.test(x, y)``), Cohen's d with the pooled SD and its noncentral-t CI and Hedges' g
    with the exact ``J(df)`` correction (R ``effectsize::cohens_d`` / ``hedges_g``); the p
    values of a scale's comparisons are Holm-adjusted (R ``p.adjust(method = "holm")``).
    Across all shown groups: Welch's ANOVA (R ``oneway.test(var.equal = FALSE)``) and the
    tie-corrected Kruskal–Wallis test (R ``kruskal.test``). Scores are compared as available
    (a respondent without a score on a scale is left out of that scale). Suppressed groups
    enter no test; with a suppressed reference no difference is shown. Agreement with R is
    tested in ``tests/cohorts/test_group_comparison.py`` (``tests/reference/compare_groups.R``).

    Examples
    --------
    >>> import empathy_metrics as em
    >>> res = em.compare_groups(em.simulate(n_per_cohort=60), "jse-s", group="gender")
    >>> res.reference, list(res["total"].index)
    ('female', ['female', 'male'])
    """
    from .._checks import check_frame

    check_frame(data, "data", "compare_groups")
    inst = resolve_instrument(instrument, data)
    if group in data.columns and reference is None:
        reference = _largest(data[data[group].notna()], group)
    inp = prepare_trend_input(data, inst, time=group, id=None, cohort=None, group=None,
                              reference=reference, min_cell=min_cell, scales=scales)
    table = describe.by_time_table(inp).rename(columns={"time": "group"})
    table["p_holm"] = np.nan
    for scale in inp.scales:
        rows = table.index[(table["scale"] == scale) & (table["group"] != inp.reference)
                           & table["diff_p"].notna()]
        if len(rows):
            table.loc[rows, "p_holm"] = holm(table.loc[rows, "diff_p"].to_numpy(float))
    tests = {s: {k: v for k, v in t.items() if k in ("welch_anova", "kruskal")}
             for s, t in compare.time_tests(inp).items()}
    notes = list(inp.notes)
    if table["suppressed"].any():
        notes.append(f"groups with fewer than {inp.min_cell} respondents are suppressed, with "
                     "complementary suppression; they enter no test")
    if not inp.shown[inp.reference]:
        notes.append(f"the reference group {inp.reference!r} is suppressed: no differences "
                     "are shown")
    return GroupComparisonResult(
        instrument=inst, group=group, groups=inp.times, reference=inp.reference,
        scales=inp.scales, min_cell=inp.min_cell, table=table.reindex(columns=_COLUMNS),
        tests=tests, notes=notes)


def reliability_by(
    data: pd.DataFrame,
    instrument: Instrument | str | Sequence[str],
    *,
    by: str,
    min_cell: int = DEFAULT_MIN_CELL,
    scales: Sequence[str] | None = None,
    ci: str = "feldt",
    columns: dict[str, str] | None = None,
) -> ReliabilityByTimeResult:
    """Cronbach's alpha with its CI for every scale within each value of ``by`` (a time,
    a group, a site, ...).

    The same computation as :func:`~empathy_metrics.cohorts.reliability_by_time` (which it
    calls with ``time=by``): each subset through :func:`empathy_metrics.reliability.reliability`
    (listwise, ``psych::alpha`` with its Feldt CI), small subsets suppressed with a complement.

    Parameters
    ----------
    data
        Raw responses (item columns and the ``by`` column).
    instrument
        Instrument, bundled id, YAML path, dict, or a list of item columns.
    by
        The column whose values split the data.
    min_cell, scales, ci, columns
        As for :func:`~empathy_metrics.cohorts.reliability_by_time`.

    Returns
    -------
    ReliabilityByTimeResult
        Its ``time`` attribute names the ``by`` column.

    Examples
    --------
    >>> import empathy_metrics as em
    >>> res = em.reliability_by(em.simulate(n_per_cohort=60), "jse-s", by="gender")
    >>> sorted(res.table["time"].unique())
    ['female', 'male']
    """
    from .._checks import check_frame

    check_frame(data, "data", "reliability_by")
    inst = resolve_instrument(instrument, data)
    return reliability_by_time(data, inst, time=by, min_cell=min_cell, scales=scales, ci=ci,
                               columns=columns)
