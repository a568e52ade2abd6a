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
from typing import Any

import pandas as pd
from scipy import stats

from . import _cfa_input as _input
from . import _sem
from ._results import Result, jsonable
from ._sem import ModelSpec
from .cfa import CFAResult, result_from
from .errors import DegenerateDataWarning

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
        ``{"configural", "metric", "scalar"}`` -> multi-group :class:`CFAResult`.
    comparisons
        One row per nested comparison (``metric vs configural``, ``scalar vs metric``):
        ``chisq_diff``, ``df_diff``, ``pvalue`` (lavaan's ``lavTestLRT``), ``delta_cfi``
        (restricted minus free), ``delta_rmsea``, ``holds``.
    verdict
        The result in plain words.
    sound
        True when both metric and scalar invariance hold by the cut-offs, i.e. differences in
        mean scores between the groups can be read as differences in the construct.
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
    title: str = field(default="Measurement invariance", repr=False)

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
            rows.append({"model": name, "chisq": fit["chisq"], "df": fit["df"],
                         "pvalue": fit["pvalue"], "cfi": fit["cfi"], "tli": fit["tli"],
                         "rmsea": fit["rmsea"], "rmsea_lo": fit["rmsea_ci"][0],
                         "rmsea_hi": fit["rmsea_ci"][1], "srmr": fit["srmr"], "aic": fit["aic"],
                         "bic": fit["bic"]})
        return pd.DataFrame(rows).set_index("model")

    def to_dict(self) -> dict[str, Any]:
        """``{"groups", "configural", "metric", "scalar", "comparisons", "verdict"}``."""
        return {
            "groups": jsonable(list(self.groups)),
            "configural": jsonable(self.configural),
            "metric": jsonable(self.metric),
            "scalar": jsonable(self.scalar),
            "comparisons": jsonable(self.comparisons),
            "verdict": self.verdict,
        }

    def summary(self) -> str:
        lines = [self.title, "=" * len(self.title)]
        sizes = ", ".join(f"{g} (n = {self.group_sizes[g]})" for g in self.groups)
        dropped = f"; {self.n_dropped} with missing answers dropped" if self.n_dropped else ""
        lines.append(f"Groups by '{self.group}': {sizes}{dropped}")
        lines.append("")
        with pd.option_context("display.width", 140):
            lines.append(self.to_frame().to_string(float_format=lambda x: f"{x:.3f}"))
            lines.append("")
            lines.append(self.comparisons.to_string(index=False,
                                                    float_format=lambda x: f"{x:.3f}"))
        lines.append("")
        lines.append(self.verdict)
        for res in self.models.values():
            for w in res.warnings:
                lines.append(f"Warning ({res.title}): {w}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        fits = self.to_frame().to_html(float_format=lambda x: f"{x:.3f}", border=0)
        comp = self.comparisons.to_html(float_format=lambda x: f"{x:.3f}", border=0,
                                        index=False)
        return (f"<div class='empathy-metrics-result'><h4>{html.escape(self.title)}</h4>"
                f"{fits}{comp}<p>{html.escape(self.verdict)}</p></div>")


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
    p = float(stats.chi2.sf(max(dx2, 0.0), ddf)) if ddf > 0 and math.isfinite(dx2) else math.nan
    suffix = "_scaled" if scaled else ""
    dcfi = restricted.fit["cfi" + suffix] - free.fit["cfi" + suffix]
    drmsea = restricted.fit["rmsea" + suffix] - free.fit["rmsea" + suffix]
    holds = dcfi >= -cfi_cutoff - 1e-12
    if rmsea_cutoff is not None:
        holds = holds and drmsea <= rmsea_cutoff + 1e-12
    return {"comparison": name, "chisq_diff": dx2, "df_diff": int(ddf), "pvalue": p,
            "delta_cfi": dcfi, "delta_rmsea": drmsea, "holds": bool(holds)}


def _verdict(comp: pd.DataFrame, configural: dict[str, Any], group: str,
             cfi_cutoff: float, rmsea_cutoff: float | None) -> tuple[str, bool]:
    metric, scalar = comp.iloc[0], comp.iloc[1]
    rule = f"ΔCFI no worse than -{cfi_cutoff:g}"
    if rmsea_cutoff is not None:
        rule += f" and ΔRMSEA no larger than {rmsea_cutoff:g}"
    m_txt = f"ΔCFI = {metric.delta_cfi:.3f}, ΔRMSEA = {metric.delta_rmsea:.3f}"
    s_txt = f"ΔCFI = {scalar.delta_cfi:.3f}, ΔRMSEA = {scalar.delta_rmsea:.3f}"
    if metric.holds and scalar.holds:
        text = (f"Scalar invariance holds across '{group}' (metric: {m_txt}; scalar: {s_txt}; "
                f"criterion {rule}): the items measure the factors in the same way and with "
                "the same intercepts in every group, so differences in mean scores between the "
                "groups can be read as differences in the construct.")
        sound = True
    elif metric.holds:
        text = (f"Metric invariance holds across '{group}' ({m_txt}) but scalar invariance "
                f"does not ({s_txt}; criterion {rule}): the items relate to the factors in the "
                "same way, but some item intercepts differ between groups, so differences in "
                "mean scores may reflect how the groups answer particular items rather than a "
                "difference in the construct. Compare relations (correlations, regressions) "
                "rather than means, or find the non-invariant items (partial invariance).")
        sound = False
    else:
        text = (f"Metric invariance does not hold across '{group}' ({m_txt}; criterion "
                f"{rule}): the items relate to the factors differently in different groups, so "
                "neither mean scores nor their relations can be compared directly between the "
                "groups.")
        sound = False
    if configural["cfi"] < 0.90 or configural["rmsea"] > 0.10:
        text += (f" Note: the configural model itself fits poorly (CFI = "
                 f"{configural['cfi']:.3f}, RMSEA = {configural['rmsea']:.3f}), so the factor "
                 "structure is questionable in these groups.")
    return text, sound


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
    stats_g, uniq, n_dropped = _input.group_data(responses, frame, spec, group, miss, source)
    models = {}
    for name, equal in (("configural", ()), ("metric", ("loadings",)),
                        ("scalar", ("loadings", "intercepts"))):
        est = _sem.fit_model(spec, stats_g, meanstructure=True, equal=equal,
                             estimator=est_name)
        models[name] = result_from(est, spec, n_dropped, uniq, f"{name.capitalize()} model",
                                   miss)
    seen: dict[str, list[str]] = {}
    for name, res in models.items():
        for message in res.warnings:
            seen.setdefault(message, []).append(name)
    for message, names in seen.items():
        warnings.warn(f"{', '.join(names)} model{'s' if len(names) > 1 else ''}: {message}",
                      DegenerateDataWarning, stacklevel=2)
    comp = pd.DataFrame([
        _compare(models["configural"], models["metric"], "metric vs configural", cfi_cutoff,
                 rmsea_cutoff),
        _compare(models["metric"], models["scalar"], "scalar vs metric", cfi_cutoff,
                 rmsea_cutoff),
    ])
    verdict, sound = _verdict(comp, models["configural"].fit, group, cfi_cutoff, rmsea_cutoff)
    return InvarianceResult(
        group=group, groups=uniq,
        group_sizes={u: st.n for u, st in zip(uniq, stats_g, strict=True)},
        models=models, comparisons=comp, verdict=verdict, sound=sound, n_dropped=n_dropped,
        cfi_cutoff=cfi_cutoff, rmsea_cutoff=rmsea_cutoff,
    )
