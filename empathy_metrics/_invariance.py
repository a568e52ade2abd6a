"""Measurement invariance across groups (or occasions), agreeing with lavaan and semTools.

:func:`invariance` fits configural, metric and scalar models, compares them (chi-square
difference, ΔCFI, ΔRMSEA) and states in plain words whether scores can be compared. See
:mod:`empathy_metrics.cfa` for the single-group CFA and the estimation engine.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import _cfa_input as _input
from . import _longitudinal as _long
from . import _sem
from ._blas import blas_single_threaded
from ._distributions import chi2_sf
from ._partial import PartialSearch, stepwise_release
from ._results import Result, jsonable
from ._sem import ModelSpec
from .errors import DegenerateDataWarning, InputError

if TYPE_CHECKING:  # cfa imports this module at its end (re-export); no cycle at run time
    from .cfa import CFAResult

__all__ = ["InvarianceResult", "invariance", "DELTA_CFI", "DELTA_RMSEA"]

#: Cut-off on the drop in CFI between nested invariance models (Cheung & Rensvold 2002).
DELTA_CFI = 0.01
#: Cut-off on the rise in RMSEA suggested by Chen (2007); used only when asked for.
DELTA_RMSEA = 0.015



@dataclass
class InvarianceResult(Result):
    """Configural, metric and scalar invariance of a measurement model across groups.

    Attributes
    ----------
    group
        The grouping column.
    groups
        Group labels (sorted; the first is the reference group whose latent means are fixed at
        0 in the scalar model).
    group_sizes
        Complete respondents per group.
    models
        ``{"configural", "metric", "scalar"}`` -> multi-group :class:`CFAResult`; under WLSMV
        also ``"thresholds"`` (between configural and metric, Wu & Estabrook 2016).
    comparisons
        One row per nested comparison (``metric vs configural``, ``scalar vs metric``; under
        WLSMV ``thresholds vs configural``, ``metric vs thresholds``, ``scalar vs metric``):
        ``chisq_diff``, ``df_diff``, ``pvalue`` (lavaan's ``lavTestLRT``), ``delta_cfi``
        (restricted minus free), ``delta_rmsea``, ``holds``.
    verdict
        The result in plain words.
    sound
        True when both metric and scalar invariance hold by the cut-offs, i.e. differences in
        mean scores between the groups can be read as differences in the construct.
    partial
        ``{"metric"|"scalar": PartialSearch}`` when full invariance failed and the stepwise
        release was run (see :mod:`empathy_metrics._partial`): parameters freed, steps with
        their score tests, the final partial model and whether it holds.
    estimator, missing, design
        As fitted; ``design`` is ``"multigroup"`` (independent groups) or ``"longitudinal"``
        (the same respondents at every occasion, one model).
    """

    group: str
    groups: list[Any]
    group_sizes: dict[Any, int]
    models: dict[str, CFAResult]
    comparisons: pd.DataFrame
    verdict: str
    sound: bool
    n_dropped: int = 0
    cfi_cutoff: float = DELTA_CFI
    rmsea_cutoff: float | None = None
    partial: dict[str, PartialSearch] = field(default_factory=dict)
    estimator: str = "ml"
    missing: str = "listwise"
    design: str = "multigroup"
    n_ids: int | None = None
    title: str = field(default="Measurement invariance", repr=False)

    @property
    def non_invariant_items(self) -> list[str]:
        """Items whose loading or intercept the partial-invariance search freed (their scores
        are not comparable across the groups)."""
        out: list[str] = []
        for search in self.partial.values():
            out += [i for i in search.items if i not in out]
        return out

    @property
    def configural(self) -> dict[str, Any]:
        """Fit of the configural model (same structure, all parameters free per group)."""
        return self.models["configural"].fit

    @property
    def metric(self) -> dict[str, Any]:
        """Fit of the metric model (loadings equal across groups)."""
        return self.models["metric"].fit

    @property
    def scalar(self) -> dict[str, Any]:
        """Fit of the scalar model (loadings and intercepts equal across groups)."""
        return self.models["scalar"].fit

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for name, res in self.models.items():
            fit = res.fit
            row = {"model": name, "chisq": fit["chisq"], "df": fit["df"],
                   "pvalue": fit["pvalue"], "cfi": fit["cfi"], "tli": fit["tli"],
                   "rmsea": fit["rmsea"], "rmsea_lo": fit["rmsea_ci"][0],
                   "rmsea_hi": fit["rmsea_ci"][1], "srmr": fit["srmr"]}
            if "chisq_scaled" in fit:  # MLR / WLSMV: the scaled indices the criteria use
                row.update({"chisq_scaled": fit["chisq_scaled"],
                            "cfi_scaled": fit["cfi_scaled"], "tli_scaled": fit["tli_scaled"],
                            "rmsea_scaled": fit["rmsea_scaled"]})
            if math.isfinite(fit["aic"]):  # no likelihood (WLSMV): no AIC/BIC
                row.update({"aic": fit["aic"], "bic": fit["bic"]})
            rows.append(row)
        return pd.DataFrame(rows).set_index("model")

    def to_dict(self) -> dict[str, Any]:
        """``{"groups", "configural", ["thresholds",] "metric", "scalar", "comparisons",
        "partial", "design", "estimator", "missing", "verdict"}`` (``"thresholds"``: the
        ordinal step under WLSMV)."""
        steps = {name: jsonable(res.fit) for name, res in self.models.items()}
        return {
            "groups": jsonable(list(self.groups)),
            **steps,
            "comparisons": jsonable(self.comparisons),
            "partial": {k: v.to_dict() for k, v in self.partial.items()},
            "design": self.design,
            "estimator": self.estimator,
            "missing": self.missing,
            "verdict": self.verdict,
        }

    def summary(self) -> str:
        lines = [self.title, "=" * len(self.title)]
        sizes = ", ".join(f"{g} (n = {self.group_sizes[g]})" for g in self.groups)
        dropped = f"; {self.n_dropped} with missing answers dropped" if self.n_dropped else ""
        if self.design == "longitudinal":
            dropped = (f"; {self.n_dropped} rows without id or occasion dropped"
                       if self.n_dropped else "")
            lines.append(f"Longitudinal: {self.n_ids} respondents followed across "
                         f"'{self.group}' ({sizes} answered){dropped}")
        else:
            lines.append(f"Groups by '{self.group}': {sizes}{dropped}")
        lines.append("")
        with pd.option_context("display.width", 140):
            lines.append(self.to_frame().to_string(float_format=lambda x: f"{x:.3f}"))
            lines.append("")
            lines.append(self.comparisons.to_string(index=False,
                                                    float_format=lambda x: f"{x:.3f}"))
        for level, search in self.partial.items():
            lines.append("")
            lines.append(f"Partial {level} invariance search (stopped: {search.stop}); freed: "
                         f"{', '.join(search.freed) or 'nothing'}")
            if len(search.steps):
                with pd.option_context("display.width", 140):
                    lines.append(search.steps.to_string(index=False,
                                                        float_format=lambda x: f"{x:.3f}"))
        lines.append("")
        lines.append(self.verdict)
        for res in self.models.values():
            for w in res.warnings:
                lines.append(f"Warning ({res.title}): {w}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from ._results import html_notes

        fits = self.to_frame().to_html(float_format=lambda x: f"{x:.3f}", border=0)
        comp = self.comparisons.to_html(float_format=lambda x: f"{x:.3f}", border=0,
                                        index=False)
        sizes = ", ".join(f"{g}: {n}" for g, n in self.group_sizes.items())
        settings = (f"design = {self.design}, estimator = {self.estimator}, "
                    f"missing = {self.missing}; {self.group} groups ({sizes})")
        notes = [f"freed in the partial {level} model: {', '.join(map(str, search.items))}"
                 for level, search in self.partial.items() if search.items]
        notes += [f"{res.title}: {w}" for res in self.models.values() for w in res.warnings]
        return (f"<div class='empathy-metrics-result'><h4>{html.escape(self.title)}</h4>"
                f"<p>{html.escape(settings)}</p>{fits}{comp}"
                f"<p>{html.escape(self.verdict)}</p>{html_notes(notes)}</div>")


def _nested_comparisons(models: dict[str, CFAResult], cfi_cutoff: float,
                        rmsea_cutoff: float | None) -> pd.DataFrame:
    """The two nested comparisons of an invariance sequence: metric vs configural, scalar vs
    metric (one row each, see :func:`_compare`)."""
    return pd.DataFrame([
        _compare(models["configural"], models["metric"], "metric vs configural", cfi_cutoff,
                 rmsea_cutoff),
        _compare(models["metric"], models["scalar"], "scalar vs metric", cfi_cutoff,
                 rmsea_cutoff),
    ])


def _compare(free: CFAResult, restricted: CFAResult, name: str, cfi_cutoff: float,
             rmsea_cutoff: float | None) -> dict[str, Any]:
    """lavaan ``lavTestLRT``: the difference of chi-squares on the difference of dfs; under
    MLR the Satorra-Bentler (2001) scaled difference
    :math:`(T_0-T_1)/c_d` with :math:`c_d = (df_0c_0 - df_1c_1)/(df_0-df_1)` (lavaan's default
    ``method`` for robust tests). ΔCFI and ΔRMSEA use the scaled indices under MLR."""
    dx2 = restricted.fit["chisq"] - free.fit["chisq"]
    ddf = restricted.fit["df"] - free.fit["df"]
    scaled = "chisq_scaled" in free.fit
    if scaled and ddf > 0:
        c1 = free.fit["scaling_factor"] if free.fit["df"] > 0 else 1.0
        c0 = restricted.fit["scaling_factor"]
        cd = (restricted.fit["df"] * c0 - free.fit["df"] * c1) / ddf
        dx2 = dx2 / cd if cd > 0 else math.nan
    p = float(chi2_sf(max(dx2, 0.0), ddf)) if ddf > 0 and math.isfinite(dx2) else math.nan
    suffix = "_scaled" if scaled else ""
    dcfi = restricted.fit["cfi" + suffix] - free.fit["cfi" + suffix]
    drmsea = restricted.fit["rmsea" + suffix] - free.fit["rmsea" + suffix]
    holds = dcfi >= -cfi_cutoff - 1e-12
    if rmsea_cutoff is not None:
        holds = holds and drmsea <= rmsea_cutoff + 1e-12
    return {"comparison": name, "chisq_diff": dx2, "df_diff": int(ddf), "pvalue": p,
            "delta_cfi": dcfi, "delta_rmsea": drmsea, "holds": bool(holds)}


def _across(group: str, label: str | None) -> str:
    """How the sentences name the groups: ``across 'year'`` (the column), or with a display
    label (``"training year"``) ``across training years``."""
    return f"across '{group}'" if label is None else f"across {label}s"


def _verdict(comp: pd.DataFrame, configural: dict[str, Any], across: str,
             cfi_cutoff: float, rmsea_cutoff: float | None, *,
             searched: bool = False, unit: str = "group") -> tuple[str, bool]:
    metric, scalar = comp.iloc[0], comp.iloc[1]
    rule = f"ΔCFI no worse than -{cfi_cutoff:g}"
    if rmsea_cutoff is not None:
        rule += f" and ΔRMSEA no larger than {rmsea_cutoff:g}"
    m_txt = f"ΔCFI = {metric.delta_cfi:.3f}, ΔRMSEA = {metric.delta_rmsea:.3f}"
    s_txt = f"ΔCFI = {scalar.delta_cfi:.3f}, ΔRMSEA = {scalar.delta_rmsea:.3f}"
    if metric.holds and scalar.holds:
        text = (f"Scalar invariance holds {across} (metric: {m_txt}; scalar: {s_txt}; "
                f"criterion {rule}): the items measure the factors in the same way and with "
                f"the same intercepts in every {unit}, so differences in mean scores between the "
                f"{unit}s can be read as differences in the construct.")
        sound = True
    elif metric.holds:
        text = (f"Metric invariance holds {across} ({m_txt}) but scalar invariance "
                f"does not ({s_txt}; criterion {rule}): the items relate to the factors in the "
                f"same way, but some item intercepts differ between {unit}s, so differences in "
                f"mean scores may reflect how the {unit}s answer particular items rather than a "
                "difference in the construct. Compare relations (correlations, regressions) "
                "rather than means" + ("." if searched else
                                       ", or find the non-invariant items (partial "
                                       "invariance)."))
        sound = False
    else:
        text = (f"Metric invariance does not hold {across} ({m_txt}; criterion "
                f"{rule}): the items relate to the factors differently in different {unit}s, so "
                "neither mean scores nor their relations can be compared directly between the "
                f"{unit}s.")
        sound = False
    if configural["cfi"] < 0.90 or configural["rmsea"] > 0.10:
        text += (f" Note: the configural model itself fits poorly (CFI = "
                 f"{configural['cfi']:.3f}, RMSEA = {configural['rmsea']:.3f}), so the factor "
                 f"structure is questionable in these {unit}s.")
    return text, sound


@blas_single_threaded
def invariance(
    responses: pd.DataFrame,
    instrument: Any,
    group: str,
    *,
    columns: Mapping[str, str] | None = None,
    model: str | ModelSpec | None = None,
    cfi_cutoff: float = DELTA_CFI,
    rmsea_cutoff: float | None = None,
    estimator: str = "ml",
    missing: str = "listwise",
    partial: bool = True,
    id: str | None = None,  # noqa: A002 - the CLI's --id
    label: str | None = None,
) -> InvarianceResult:
    """Configural, metric and scalar measurement invariance across the levels of ``group``.

    Parameters
    ----------
    responses
        One row per respondent, with the items (or the model's variables) and ``group``.
    instrument
        As in :func:`cfa` (``None`` with a ``model`` over numeric columns).
    group
        Column whose values define the groups (e.g. training year, gender, site).
    columns, model
        As in :func:`cfa`.
    cfi_cutoff
        Largest acceptable drop in CFI from the less to the more constrained model (.01,
        Cheung & Rensvold 2002).
    rmsea_cutoff
        Also require the RMSEA to rise by at most this much (Chen 2007 suggests .015); not
        used by default.
    estimator, missing
        As in :func:`~empathy_metrics.cfa.cfa`: ``"mlr"`` gives robust SEs, scaled fit
        indices (the ΔCFI/ΔRMSEA criteria then use ``cfi_scaled``/``rmsea_scaled``) and the
        Satorra-Bentler scaled difference test; ``missing = "fiml"`` uses every answer.
        ``"wlsmv"`` treats the answers as ordered categories and tests ordinal invariance in
        four steps -- configural, thresholds, + loadings (metric), + intercepts (scalar) --
        with the Wu & Estabrook (2016) identification, the scaled-shifted difference test and
        the scaled ΔCFI/ΔRMSEA (see :mod:`empathy_metrics._invariance_ordinal`; complete
        cases, independent groups, no partial search).
    id
        Respondent id column. When ids repeat across the levels of ``group`` (the same
        students answering in several years), ``group`` is taken as the occasion and the
        invariance models are longitudinal: one model with every occasion, each item's
        residuals correlated across occasions, constraints across time (see
        :mod:`empathy_metrics._longitudinal`); ``design`` is then ``"longitudinal"``.
        ``missing = "fiml"`` is recommended there, as respondents missing at an occasion
        are otherwise dropped. The wide model is limited to 40 variables (items x
        occasions): test one subscale at a time when there are more.
    label
        How the verdict's sentences name the groups: a word such as ``"training year"``
        gives "across training years" (the yearly report passes its display label);
        default the column name in quotes ("across 'year'").
    partial
        When metric or scalar invariance fails, search for partial invariance: free the
        non-invariant loadings or intercepts one at a time by the largest score test until the
        criterion is met (see :mod:`empathy_metrics._partial` for the procedure and its
        stopping rule); the result lists the freed parameters and the verdict names the items
        that are not comparable. Needs complete data (``missing = "listwise"``).

    Returns
    -------
    InvarianceResult
        Fits of the three models, the comparisons, ``verdict`` and ``sound``.

    Notes
    -----
    Three multi-group models with a mean structure, as ``lavaan::cfa(model, data,
    group = group, group.equal = ...)`` (Meredith 1993):

    * *configural*: the same factors and indicators in every group, all parameters free per
      group (latent means fixed at 0, intercepts free);
    * *metric* (weak): loadings equal across groups (``group.equal = "loadings"``);
    * *scalar* (strong): loadings and intercepts equal (``c("loadings", "intercepts")``),
      latent means fixed at 0 in the first group and free in the others.

    The likelihood is the sum over groups of the normal likelihood with each group's
    covariance divided by :math:`N_g`; :math:`\\chi^2 = \\sum_g N_g F_g`; RMSEA is multiplied
    by :math:`\\sqrt{G}` and CFI/TLI use the independence model with free means and variances
    per group, as lavaan. Nested models are compared by the chi-square difference (lavaan's
    ``lavTestLRT``, standard test) and by ΔCFI (restricted minus free; invariance is retained
    when ΔCFI ≥ -.01, Cheung & Rensvold 2002; optionally ΔRMSEA ≤ .015, Chen 2007). With
    large samples the chi-square difference rejects trivial differences, which is why the
    verdict rests on ΔCFI.

    Assumptions as :func:`cfa`, within each group; respondents with a missing group value
    are dropped, and with a missing item too unless ``missing = "fiml"``.

    Raises
    ------
    InputError
        ``group`` is not a column.
    DataError
        Fewer than two groups, or a group with no more respondents than items (name the
        group); constant items within a group.
    """
    est_name, miss = _input.check_options(estimator, missing)
    frame, spec, source = _input.prepare(responses, instrument, model, columns)
    note = ""
    if id is not None:
        if _long.repeated_ids(responses, id, group, source):
            if est_name == "wlsmv":
                raise InputError(
                    f"ids in '{id}' repeat across '{group}': longitudinal invariance is fitted "
                    "by maximum likelihood, not WLSMV",
                    hint="use --estimator ml or mlr (with --missing fiml) for the same "
                         "students over time; WLSMV invariance is for independent groups")
            return _longitudinal(responses, frame, spec, group, id, source, est_name, miss,
                                 cfi_cutoff, rmsea_cutoff, label)
        one = f"'{group}'" if label is None else label
        note = (f" (No id in '{id}' occurs at more than one {one}, so the groups are "
                "independent and a multi-group model is used.)")
    if est_name == "wlsmv":
        from ._invariance_ordinal import ordinal_invariance

        return ordinal_invariance(responses, frame, spec, group, source, missing=miss,
                                  cfi_cutoff=cfi_cutoff, rmsea_cutoff=rmsea_cutoff,
                                  partial=partial, note=note, label=label)
    stats_g, uniq, n_dropped = _input.group_data(responses, frame, spec, group, miss, source)

    from .cfa import result_from

    def fit(equal: tuple[str, ...], partial: frozenset, title: str) -> CFAResult:
        est = _sem.fit_model(spec, stats_g, meanstructure=True, equal=equal, partial=partial,
                             estimator=est_name)
        return result_from(est, spec, n_dropped, uniq, title, miss)

    models = {name: fit(equal, frozenset(), f"{name.capitalize()} model")
              for name, equal in (("configural", ()), ("metric", ("loadings",)),
                                  ("scalar", ("loadings", "intercepts")))}
    _warn_improper(models)
    comp = _nested_comparisons(models, cfi_cutoff, rmsea_cutoff)
    searches: dict[str, PartialSearch] = {}
    if partial and miss == "listwise":
        searches = _partial_searches(spec, stats_g, models, comp, fit,
                                     lambda a, b: _compare(a, b, "partial", cfi_cutoff,
                                                           rmsea_cutoff))
    across = _across(group, label)
    verdict, sound = _verdict(comp, models["configural"].fit, across, cfi_cutoff,
                              rmsea_cutoff, searched=bool(searches))
    verdict += _partial_verdict(searches, across) + note
    if partial and miss != "listwise" and not (comp["holds"].all()):
        verdict += (" (The partial-invariance search needs complete data: rerun with "
                    "missing='listwise' to locate the non-invariant items.)")
    return InvarianceResult(
        group=group, groups=uniq,
        group_sizes={u: st.n for u, st in zip(uniq, stats_g, strict=True)},
        models=models, comparisons=comp, verdict=verdict, sound=sound, n_dropped=n_dropped,
        cfi_cutoff=cfi_cutoff, rmsea_cutoff=rmsea_cutoff, partial=searches,
        estimator=est_name, missing=miss,
    )


def _warn_improper(models: dict[str, CFAResult]) -> None:
    seen: dict[str, list[str]] = {}
    for name, res in models.items():
        for message in res.warnings:
            seen.setdefault(message, []).append(name)
    for message, names in seen.items():
        warnings.warn(f"{', '.join(names)} model{'s' if len(names) > 1 else ''}: {message}",
                      DegenerateDataWarning, stacklevel=3)


def _partial_searches(spec: ModelSpec, stats_g: list, models: dict[str, CFAResult],
                      comp: pd.DataFrame, fit, compare) -> dict[str, PartialSearch]:
    """Stepwise release of loadings when metric invariance fails, then of intercepts when
    (partial) metric invariance holds but scalar does not."""
    out: dict[str, PartialSearch] = {}
    metric_ok = bool(comp.iloc[0]["holds"])
    base, fixed = models["metric"], frozenset()
    if not metric_ok:
        search = stepwise_release(spec, stats_g, level="metric", equal=("loadings",),
                                  base=models["configural"], fixed_partial=frozenset(),
                                  fit=fit, compare=compare)
        out["metric"] = search
        metric_ok = search.holds
        base, fixed = search.model, search.entries
    if metric_ok and ("metric" in out or not bool(comp.iloc[1]["holds"])):
        out["scalar"] = stepwise_release(spec, stats_g, level="scalar",
                                         equal=("loadings", "intercepts"), base=base,
                                         fixed_partial=fixed, fit=fit, compare=compare)
    return out


def _partial_verdict(searches: dict[str, PartialSearch], across: str) -> str:
    """The partial-invariance result in words: which items are not comparable."""
    text = ""
    for level, search in searches.items():
        what = "loadings" if level == "metric" else "intercepts"
        items = ", ".join(search.items)
        c = search.comparison
        crit = f"ΔCFI = {c['delta_cfi']:.3f}, ΔRMSEA = {c['delta_rmsea']:.3f}"
        if search.holds and search.items:
            text += (f" Partial {level} invariance holds with the {what} of {items} free "
                     f"{across} ({crit}, released one at a time by the largest score "
                     f"test): {items} {'is' if len(search.items) == 1 else 'are'} not "
                     f"comparable {across}; the other items are, and latent means from "
                     "the partial model can be compared, but sum scores including "
                     f"{items} cannot.")
        elif search.holds:
            text += f" Partial {level} invariance holds without freeing any {what} ({crit})."
        else:
            why = {"no significant test": "no single parameter has a significant score test",
                   "too few invariant items": "a factor would keep fewer than two invariant "
                                              "items"}.get(search.stop, search.stop)
            freed = f" after freeing the {what} of {items}" if search.items else ""
            text += (f" Partial {level} invariance was not reached{freed} ({why}; {crit}), "
                     f"so {'means' if level == 'scalar' else 'scores'} cannot be compared "
                     f"{across} even item by item.")
    return text


def _longitudinal(responses: pd.DataFrame, frame: pd.DataFrame, spec: ModelSpec, time: str,
                  id_col: str, source: str | None, estimator: str, missing: str,
                  cfi_cutoff: float, rmsea_cutoff: float | None,
                  label: str | None = None) -> InvarianceResult:
    """Longitudinal configural / metric / scalar models (one wide model per level)."""
    from .cfa import result_from

    wide, times, answered, n_dropped = _long.wide_frame(responses, frame, spec, time, id_col,
                                                        source)
    ests, specs, n_ids = _long.fit_levels(wide, spec, times, missing, estimator)
    models = {level: result_from(est, specs[level], n_dropped, None,
                                 f"{level.capitalize()} model (longitudinal)", missing)
              for level, est in ests.items()}
    _warn_improper(models)
    comp = _nested_comparisons(models, cfi_cutoff, rmsea_cutoff)
    across = _across(time, label)
    verdict, sound = _verdict(comp, models["configural"].fit, across, cfi_cutoff,
                              rmsea_cutoff, searched=True, unit="occasion")
    who = ("every respondent with an answer, by full-information ML" if missing == "fiml"
           else "only respondents with every answer at every occasion")
    verdict += (f" These tests use one longitudinal model of the {n_ids} respondents "
                f"followed {across} ({who}), each item's residuals correlated across "
                "occasions, rather than treating the occasions as independent groups.")
    if not comp["holds"].all():
        verdict += (" (The stepwise partial-invariance search is available for independent "
                    "groups only.)")
    return InvarianceResult(
        group=time, groups=list(times), group_sizes=answered, models=models,
        comparisons=comp, verdict=verdict, sound=sound, n_dropped=n_dropped,
        cfi_cutoff=cfi_cutoff, rmsea_cutoff=rmsea_cutoff, estimator=estimator,
        missing=missing, design="longitudinal", n_ids=n_ids,
    )
