"""Result classes of the cohort analyses: :class:`TrendResult`, :class:`ItemChangeResult`,
:class:`ReliabilityByTimeResult` and :class:`HistogramResult`.

They hold numbers only (tables as DataFrames); ``summary()``, ``to_dict()``/``to_frame()`` and
``_repr_html_`` present them. No statistics are computed here.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._results import Result, jsonable
from ..instruments import Instrument
from ..suppression import suppressed_label, suppression_kind, with_kinds


def _share(x: float | None) -> str:
    return "suppressed" if x is None or x != x else f"{100 * x:.0f}%"


@dataclass
class TrendResult(Result):
    """Everything :func:`trend` computed; tables are long DataFrames with a ``scale`` column.

    Attributes
    ----------
    by_time
        Per scale and time: n, mean, sd, se, 95 % CI, median, quartiles, IQR, box-plot whiskers
        (protected: the mean of the ``min_cell`` lowest / highest scores, see
        :func:`~empathy_metrics.suppression.protected_whiskers`),
        change vs the reference (``diff_vs_ref`` with Welch CI and p, ``d_vs_ref``, ``g_vs_ref``
        with CIs) and ``suppressed``.
    tests
        Per scale: ``welch_anova``, ``kruskal``, ``linear_trend`` (OLS of score on time) and
        ``adjacent`` (Welch t with Holm-adjusted p).
    mixed_model, linear_slope
        Per scale: the random-intercept model with time as a factor (or ``None`` without
        repeated ids), and the linear time slope (mixed model when ids repeat, else OLS).
    paired, reliable_change
        Adjacent paired change and Jacobson–Truax counts (longitudinal data only).
    cohort_trajectories, group_stats, group_differences, cohort_differences
        Entering cohort × time and group × time means (n, SD, 95 % CI); within each time, each
        group (cohort) against the reference group (cohort) as a Welch difference and d / g
        with CIs — so a director can see whether this year's class differs from earlier ones.
    item_change
        Item × time mean change of keyed item scores from the reference (raw items needed);
        :attr:`items` holds the same as an :class:`ItemChangeResult` (with n per time).
    norms
        Per scale and shown time, the scores against the instrument's published norm (group
        ``"all"``): mean z, z of the mean, percentile rank of the mean and median percentile
        rank (only scales whose norm the instrument's YAML carries).
    distribution
        Per scale and time: n, mean, sd, ``min``, q1, median, q3, ``max`` and ``mode`` (see
        :func:`score_histogram` for how the minimum, maximum and mode are protected; flags
        ``min_coded`` / ``max_coded`` mark a bottom-/top-coded bound) and ``suppressed``.
    histogram
        Per scale and time, the protected histogram of scores (the ``table`` of
        :func:`score_histogram` with the default bin width).
    scores
        The individual scores of the shown times (columns ``scale``, ``time``, ``value``), kept
        for the points of the distribution plot; never written to JSON.
    random_slope
        Whether the mixed models have a random slope of time.
    meaningful_change
        Per scale and time, whether the change matters (Colliver et al. 2010): SD, alpha and
        the standard error of measurement ``SEM = SD·√(1 − α)``, the change from the reference
        in scale points, in points per item and as d, the reliable-change threshold and the
        shares of students (same students, from the reference) with a reliable decline or
        improvement; see :func:`empathy_metrics.cohorts.change.change_table`.
    attrition
        Per scale and entering cohort (and ``"all"``): reference-time scores of the students
        seen again later vs those never seen again, with the difference (not seen − seen), d
        and g with CIs (:func:`empathy_metrics.cohorts.attrition.attrition_table`).
    sensitivity
        Per scale and time, the change from the reference estimated from all available
        respondents, by the mixed model and from the completers only, side by side, each with
        its ``design`` (:func:`empathy_metrics.cohorts.attrition.sensitivity_table`).
    cohort_sequential
        Per scale, the cohort-sequential model (year effects "same students", cohort effects
        "different students") and the cohort × year likelihood-ratio test, or ``None``
        (:func:`empathy_metrics.cohorts.cohort_sequential.cohort_sequential`).
    response_rates
        With enrolment counts: response rate per cohort and time beside the change in the mean
        (:func:`empathy_metrics.cohorts.attrition.response_rate_table`); else empty.
    """

    instrument: Instrument
    time: str
    times: list[Any]
    reference: Any
    scales: list[str]
    min_cell: int
    by_time: pd.DataFrame
    tests: dict[str, dict[str, Any]]
    mixed_model: dict[str, dict[str, Any] | None]
    linear_slope: dict[str, dict[str, Any] | None]
    paired: pd.DataFrame
    reliable_change: pd.DataFrame
    cohort_trajectories: pd.DataFrame
    group_stats: pd.DataFrame
    group_differences: pd.DataFrame
    item_change: pd.DataFrame | None
    norms: pd.DataFrame = field(default_factory=pd.DataFrame)
    cohort_differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    items: ItemChangeResult | None = None
    scores: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    distribution: pd.DataFrame = field(default_factory=pd.DataFrame)
    histogram: pd.DataFrame = field(default_factory=pd.DataFrame)
    random_slope: bool = False
    # not in the repr: often empty (no ids, no enrolment), and summary() shows them
    meaningful_change: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    attrition: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    response_rates: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    cohort_sequential: dict[str, dict[str, Any] | None] = field(default_factory=dict,
                                                                 repr=False)
    id: str | None = None
    cohort: str | None = None
    group: str | None = None
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Change across time", repr=False)

    def scale_range(self, scale: str) -> tuple[float, float]:
        """Possible range of ``scale`` (for plot axes)."""
        return self.instrument.scale_range(scale)

    def to_frame(self) -> pd.DataFrame:
        cols = ["scale", "time", "n", "mean", "sd", "ci_low", "ci_high", "diff_vs_ref",
                "d_vs_ref", "g_vs_ref", "suppressed"]
        return self.by_time[cols]

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (see ``empathy trend --format json``)."""
        out: dict[str, Any] = {"instrument": self.instrument.id, "time": self.time,
                               "id": self.id, "cohort": self.cohort, "group": self.group,
                               "reference": self.reference, "min_cell": self.min_cell,
                               "scales": {}, "notes": list(self.notes)}
        for scale in self.scales:
            rows = []
            for r in self.by_time[self.by_time["scale"] == scale].itertuples(index=False):
                rows.append({
                    "time": r.time, "n": r.n, "mean": r.mean, "sd": r.sd, "se": r.se,
                    "ci": [r.ci_low, r.ci_high], "median": r.median, "q1": r.q1, "q3": r.q3,
                    "iqr": r.iqr,
                    "diff_vs_ref": r.diff_vs_ref, "diff_ci": [r.diff_ci_low, r.diff_ci_high],
                    "d_vs_ref": r.d_vs_ref, "d_ci": [r.d_ci_low, r.d_ci_high],
                    "g_vs_ref": r.g_vs_ref, "g_ci": [r.g_ci_low, r.g_ci_high],
                    "diff_p": r.diff_p,
                    "suppressed": suppression_kind([r.suppressed],
                                                   [getattr(r, "primary_suppressed", True)])[0],
                    "design": "different students",
                })

            def rows_of(frame: pd.DataFrame, scale: str = scale) -> list[dict[str, Any]]:
                if frame.empty:
                    return []
                sub = frame[frame["scale"] == scale].drop(columns="scale")
                # "suppressed": "small" | "complementary" | false (issue 8)
                return jsonable(with_kinds(sub))

            out["scales"][scale] = {
                "by_time": rows,
                "tests": self.tests[scale],
                "mixed_model": self.mixed_model[scale],
                "linear_slope": self.linear_slope[scale],
                "paired": rows_of(self.paired),
                "reliable_change": rows_of(self.reliable_change),
                "cohorts": rows_of(self.cohort_trajectories),
                "groups": rows_of(self.group_stats),
                "group_differences": rows_of(self.group_differences),
                "cohort_differences": rows_of(self.cohort_differences),
                "norms": rows_of(self.norms),
                "distribution": rows_of(self.distribution),
                "histogram": rows_of(self.histogram),
                "meaningful_change": rows_of(self.meaningful_change),
                "attrition": rows_of(self.attrition),
                "sensitivity": rows_of(self.sensitivity),
                "response_rates": rows_of(self.response_rates),
                "cohort_sequential": self.cohort_sequential.get(scale),
            }
        out["random_slope"] = self.random_slope
        if self.items is not None:
            out["item_change"] = self.items.to_dict()
        return jsonable(out)

    def summary(self) -> str:
        inst = self.instrument
        lines = [f"{self.title}: {inst.name} ({inst.id}) by '{self.time}', "
                 f"reference {self.reference}; cells with n < {self.min_cell} suppressed"]
        for scale in self.scales:
            lo, hi = self.scale_range(scale)
            lines.append(f"\n{inst.scale_name(scale)} (range {lo:g}-{hi:g})")
            t = self.by_time[self.by_time["scale"] == scale]
            for r in t.itertuples(index=False):
                if r.suppressed:
                    kind = suppression_kind([True], [getattr(r, "primary_suppressed", True)])[0]
                    lines.append(f"  {r.time!s:>8}  {suppressed_label(self.min_cell, kind)}")
                    continue
                change = ""
                if r.time != self.reference and r.d_vs_ref == r.d_vs_ref:
                    change = (f"  change {r.diff_vs_ref:+.2f} [{r.diff_ci_low:.2f}, "
                              f"{r.diff_ci_high:.2f}], d {r.d_vs_ref:+.2f} "
                              f"[{r.d_ci_low:.2f}, {r.d_ci_high:.2f}]")
                lines.append(f"  {r.time!s:>8}  n {int(r.n):4d}  mean {r.mean:7.2f}  "
                             f"SD {r.sd:6.2f}  95% CI [{r.ci_low:.2f}, {r.ci_high:.2f}]{change}")
            tests = self.tests[scale]
            wa = tests.get("welch_anova")
            if wa:
                lines.append(f"  Welch ANOVA F({wa['df1']:.0f}, {wa['df2']:.1f}) = "
                             f"{wa['statistic']:.2f}, p = {wa['p']:.3g}")
            mm = self.mixed_model.get(scale)
            if mm:
                change = ", ".join(f"{k} {v['estimate']:+.2f} (SE {v['se']:.2f})"
                                   for k, v in mm["terms"].items()
                                   if k != "Intercept" and v.get("estimate") is not None)
                lines.append(f"  mixed model ({mm['formula']}): {change}; residual SD "
                             f"{mm['sigma']:.2f}, random-intercept SD {mm['sd_intercept']:.2f}")
            rc = self.reliable_change
            if not rc.empty and (rc["scale"] == scale).any():
                for to, g in rc[rc["scale"] == scale].groupby("to", sort=False):
                    counts = ", ".join(
                        f"{c.category.replace('_', ' ')} "
                        f"{'suppressed' if c.suppressed else int(c.count)}"
                        for c in g.itertuples())
                    n = g["n"].iloc[0]
                    n_text = f"n < {self.min_cell}" if n is None or n != n else f"n {int(n)}"
                    lines.append(f"  reliable change {self.reference}->{to} "
                                 f"({n_text}): {counts}")
            nm = self.norms[self.norms["scale"] == scale] if not self.norms.empty else None
            if nm is not None and len(nm):
                first = nm.iloc[0]
                zs = ", ".join(f"{r.time}: z {r.mean_z:+.2f} (pct {r.percentile_of_mean:.0f})"
                               for r in nm.itertuples())
                lines.append(f"  vs norm (mean {first.norm_mean:g}, SD {first.norm_sd:g}; "
                             f"{first.norm_group}): {zs}")
            lines.extend(self._change_lines(scale))
            lines.extend(self._attrition_lines(scale))
            lines.extend(self._sequential_lines(scale))
            slope = self.linear_slope.get(scale)
            if slope:
                lines.append(f"  linear slope {slope['estimate']:+.3f} per time unit "
                             f"(SE {slope['se']:.3f}, p = {slope['p']:.3g}; {slope['method']})")
        if self.notes:
            lines.append("\nNotes: " + "; ".join(self.notes))
        return "\n".join(lines)

    def _change_lines(self, scale: str) -> list[str]:
        """Summary lines: change per item beside points and d, SEM, reliable change shares."""
        mc = self.meaningful_change
        if mc.empty:
            return []
        lines = []
        for r in mc[(mc["scale"] == scale) & ~mc["suppressed"]].itertuples(index=False):
            if r.time == self.reference or r.diff_vs_ref != r.diff_vs_ref:
                continue
            text = (f"  change that matters {self.reference}->{r.time}: "
                    f"{r.diff_vs_ref:+.2f} points = {r.diff_per_item:+.2f} per item, "
                    f"d {r.d_vs_ref:+.2f}; SEM {r.sem:.2f}")
            if r.n_pairs is not None:
                text += (f"; reliable decline {_share(r.reliable_decline_share)}, "
                         f"improvement {_share(r.reliable_improvement_share)} "
                         f"of {int(r.n_pairs)} students followed")
            lines.append(text)
        return lines

    def _sequential_lines(self, scale: str) -> list[str]:
        """Summary lines of the cohort-sequential model."""
        cs = self.cohort_sequential.get(scale)
        if not cs:
            return []
        lines = [f"  cohort-sequential model ({cs['formula']}), reference year "
                 f"{cs['time_reference']}, cohort {cs['cohort_reference']}:"]
        for name, term in cs["terms"].items():
            if term.get("design") is None:
                continue
            lines.append(f"    {name} {term['estimate']:+.2f} [{term['ci'][0]:.2f}, "
                         f"{term['ci'][1]:.2f}], p = {term['p']:.3g} ({term['design']})")
        lrt = cs.get("interaction")
        if lrt:
            lines.append(f"    cohort × year interaction: chi2({lrt['df']}) = {lrt['chisq']:.2f}, "
                         f"p = {lrt['p']:.3g} (likelihood-ratio test, ML fits)")
        return lines

    def _attrition_lines(self, scale: str) -> list[str]:
        """Summary lines: who left, completers vs all available, response rates."""
        lines = []
        at = self.attrition
        for r in (at[at["scale"] == scale].itertuples(index=False) if not at.empty else ()):
            if r.suppressed:
                kind = suppression_kind([True], [getattr(r, "primary_suppressed", True)])[0]
                lines.append(f"  not seen again after {self.reference}, cohort {r.cohort}: "
                             f"{suppressed_label(self.min_cell, kind)}")
            elif r.diff == r.diff:
                lines.append(f"  not seen again after {self.reference}, cohort {r.cohort}: "
                             f"{int(r.n_not_seen)} of {int(r.n_baseline)}, baseline "
                             f"{r.diff:+.2f} points vs seen later (d {r.d:+.2f} "
                             f"[{r.d_ci_low:.2f}, {r.d_ci_high:.2f}])")
        se = self.sensitivity
        for t, g in (se[se["scale"] == scale].groupby("time", sort=False)
                     if not se.empty else ()):
            parts = [f"{e.estimate} {'suppressed' if e.suppressed else f'{e.diff:+.2f}'} "
                     f"({e.design})" for e in g.itertuples(index=False)]
            lines.append(f"  change {self.reference}->{t}: " + "; ".join(parts))
        rr = self.response_rates
        for r in (rr[rr["scale"] == scale].itertuples(index=False) if not rr.empty else ()):
            if r.time == self.reference or r.rate_change != r.rate_change \
                    or r.rate_change is None:
                continue
            lines.append(f"  response rate cohort {r.cohort} year {r.time}: "
                         f"{100 * r.response_rate:.0f}% ({100 * r.rate_change:+.0f} points) "
                         f"beside a mean change of {r.mean_change:+.2f}")
        return lines

    def _repr_html_(self) -> str:
        """Scores by time with the change from the reference (points and d, with CIs and p),
        the tests across times, the mixed-model slope and the notes."""
        from .._results import html_notes, html_table

        cols = ["scale", "time", "n", "mean", "sd", "ci_low", "ci_high", "diff_vs_ref",
                "diff_ci_low", "diff_ci_high", "diff_p", "d_vs_ref", "d_ci_low", "d_ci_high",
                "suppressed"]
        table = html_table(self.by_time[[c for c in cols if c in self.by_time]], self.min_cell)
        tests = "".join(f"<li>{html.escape(line)}</li>" for line in self._test_lines())
        return (f"<div class='empathy-metrics-result'><h4>{html.escape(self.title)} — "
                f"{html.escape(self.instrument.name)}</h4><p>Reference {html.escape(self.time)}"
                f" {html.escape(str(self.reference))}; cells with n &lt; {self.min_cell} "
                f"suppressed.</p>{table}<p>Tests across {html.escape(self.time)}:</p>"
                f"<ul>{tests}</ul>{html_notes(self.notes)}</div>")

    def _test_lines(self) -> list[str]:
        """Per scale: Welch ANOVA, Kruskal–Wallis, Holm-adjusted adjacent comparisons and the
        linear slope, in words."""
        lines = []
        for scale in self.scales:
            t = self.tests.get(scale, {})
            parts = []
            if t.get("welch_anova"):
                w = t["welch_anova"]
                parts.append(f"Welch ANOVA F({w['df1']:.0f}, {w['df2']:.1f}) = "
                             f"{w['statistic']:.2f}, p = {w['p']:.3g}")
            if t.get("kruskal"):
                k = t["kruskal"]
                parts.append(f"Kruskal–Wallis H({k['df']}) = {k['statistic']:.2f}, "
                             f"p = {k['p']:.3g}")
            adj = [f"{a['from']}→{a['to']} {a['diff']:+.2f} [{a['ci'][0]:.2f}, "
                   f"{a['ci'][1]:.2f}], Holm p = {a['p_holm']:.3g}"
                   for a in t.get("adjacent", []) if not a.get("suppressed")]
            if adj:
                parts.append("adjacent: " + "; ".join(adj))
            slope = self.linear_slope.get(scale)
            if slope:
                parts.append(f"slope {slope['estimate']:+.3f} per {self.time} "
                             f"[{slope['ci'][0]:.3f}, {slope['ci'][1]:.3f}] ({slope['method']})")
            lines.append(f"{self.instrument.scale_name(scale)}: "
                         + ("; ".join(parts) if parts else "no test (fewer than two times)"))
        return lines



@dataclass
class ItemChangeResult(Result):
    """Item-level mean change (keyed item points) from a reference time; see :func:`item_change`.

    Attributes
    ----------
    means, change
        Item × time tables of keyed item means and of their change from the reference (the
        reference column is 0). Suppressed times are missing; with a suppressed reference every
        change is missing.
    n
        Respondents per time (``None`` when suppressed).
    suppressed, primary_suppressed
        Per time: hidden (small cell or its complement) / hidden for being small.
    """

    instrument: Instrument
    time: str
    times: list[Any]
    reference: Any
    min_cell: int
    means: pd.DataFrame
    change: pd.DataFrame
    n: pd.Series
    suppressed: pd.Series
    primary_suppressed: pd.Series
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Item mean change", repr=False)

    def scale_range(self) -> tuple[float, float]:
        """Possible range of one keyed item."""
        return float(self.instrument.response_min), float(self.instrument.response_max)

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for item in self.change.index:
            for t in self.times:
                rows.append({"item": item, "time": t, "n": self.n[t],
                             "mean": self.means.loc[item, t], "change": self.change.loc[item, t],
                             "suppressed": bool(self.suppressed[t]),
                             "primary_suppressed": bool(self.primary_suppressed[t])})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"instrument": self.instrument.id, "time": self.time,
                         "reference": self.reference, "min_cell": self.min_cell,
                         "items": with_kinds(self.to_frame()), "notes": list(self.notes)})

    def summary(self) -> str:
        wide = self.change.copy()
        wide.columns = [f"{t} (n={'suppressed' if self.suppressed[t] else int(self.n[t])})"
                        for t in self.times]
        with pd.option_context("display.max_rows", 200, "display.width", 120):
            body = wide.to_string(float_format=lambda x: f"{x:+.2f}", na_rep="—")
        return (f"{self.title} from {self.time} {self.reference} ({self.instrument.id}, keyed "
                f"item points; cells with n < {self.min_cell} suppressed)\n{body}")



@dataclass
class ReliabilityByTimeResult(Result):
    """Cronbach's alpha with its CI per time and scale; see :func:`reliability_by_time`.

    ``table`` has columns scale, time, n, alpha, ci_low, ci_high, ci_method, suppressed,
    primary_suppressed (hidden times have missing n and alpha).
    """

    instrument: Instrument
    time: str
    times: list[Any]
    scales: list[str]
    min_cell: int
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Reliability by time", repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"instrument": self.instrument.id, "time": self.time,
                         "min_cell": self.min_cell,
                         "scales": {s: with_kinds(self.table[self.table["scale"] == s]).drop(
                             columns=["scale"]) for s in self.scales},
                         "notes": list(self.notes)})



@dataclass
class HistogramResult(Result):
    """Protected histograms of scores per scale and time; see :func:`score_histogram`.

    ``table`` has one row per scale, time and bin: ``bin`` (index of the first bin it covers),
    ``low``/``high`` edges, ``open`` (``"low"`` for the bottom-coded ``< b`` bin, ``"high"``
    for the top-coded ``≥ a`` bin, ``"both"`` for a single bin holding the whole time, else
    missing), ``label``, ``count`` (missing when suppressed), ``suppressed`` and
    ``primary_suppressed``. ``n`` has the respondents per scale and time (missing for a
    suppressed time).
    """

    instrument: Instrument
    time: str
    times: list[Any]
    scales: list[str]
    min_cell: int
    bin_width: dict[str, float]
    table: pd.DataFrame
    n: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Histogram of scores", repr=False)

    def scale_range(self, scale: str) -> tuple[float, float]:
        return self.instrument.scale_range(scale)

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "instrument": self.instrument.id, "time": self.time, "min_cell": self.min_cell,
            "bin_width": self.bin_width,
            "scales": {s: {"n": with_kinds(self.n[self.n["scale"] == s]).drop(columns="scale"),
                           "bins": with_kinds(self.table[self.table["scale"] == s]).drop(
                               columns=["scale"])}
                       for s in self.scales},
            "notes": list(self.notes)})

