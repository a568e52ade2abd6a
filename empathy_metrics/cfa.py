"""Confirmatory factor analysis and measurement invariance, agreeing with R's lavaan.

Public functions
----------------
* :func:`cfa` -- maximum-likelihood CFA of an instrument's subscales (after reverse keying) or of
  a lavaan-style model string, with lavaan's fit measures and (standardised) loadings; returns
  a :class:`CFAResult`. Agrees with ``lavaan::cfa(model, data)``.
* :func:`invariance` -- configural, metric and scalar multi-group models, the chi-square
  difference tests, ΔCFI / ΔRMSEA and a plain-words verdict; returns an
  :class:`InvarianceResult`. Agrees with ``lavaan::cfa(..., group=, group.equal=)`` and
  ``lavaan::lavTestLRT``.

The estimation engine (model syntax, Fisher scoring, fit measures) lives in
:mod:`empathy_metrics._sem`; it works on covariance matrices only, so 10,000 respondents cost
no more than 300 once the covariance matrix is computed.

References
----------
Jöreskog KG (1969). A general approach to confirmatory maximum likelihood factor analysis.
*Psychometrika* 34:183-202. Bollen KA (1989). *Structural Equations with Latent Variables*.
Wiley. Rosseel Y (2012). lavaan: an R package for structural equation modeling. *J Stat Softw*
48(2). Meredith W (1993). Measurement invariance, factor analysis and factorial invariance.
*Psychometrika* 58:525-543. Cheung GW, Rensvold RB (2002). Evaluating goodness-of-fit indexes
for testing measurement invariance. *Struct Equ Modeling* 9:233-255. Chen FF (2007).
Sensitivity of goodness of fit indexes to lack of measurement invariance. *Struct Equ Modeling*
14:464-504.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from . import _sem
from ._results import Result, jsonable
from ._sem import ModelSpec, parse_model
from .errors import DataError, DegenerateDataWarning, InputError

__all__ = [
    "CFAResult",
    "InvarianceResult",
    "ModelSpec",
    "cfa",
    "invariance",
    "parse_model",
    "FIT_KEYS",
]

#: Keys of every ``fit`` dictionary, in order.
FIT_KEYS = ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci", "srmr", "aic", "bic")
#: Cut-off on the drop in CFI between nested invariance models (Cheung & Rensvold 2002).
DELTA_CFI = 0.01
#: Cut-off on the rise in RMSEA suggested by Chen (2007); used only when asked for.
DELTA_RMSEA = 0.015


# ============================================================================================
# input preparation
# ============================================================================================


def _model_spec(model: str | ModelSpec | None, instrument: Any) -> ModelSpec:
    if isinstance(model, ModelSpec):
        model.check()
        return model
    if model is not None:
        return parse_model(model)
    from .instruments import TOTAL

    scales = {k: list(v) for k, v in instrument.scales.items() if k != TOTAL}
    if not scales:
        scales = {TOTAL: list(instrument.item_ids)}
    try:
        return ModelSpec.from_scales(scales)
    except InputError as exc:
        raise InputError(
            f"instrument '{instrument.id}': {exc.message}",
            hint="give the measurement model explicitly with model='F =~ item1 + item2 + ...'",
        ) from None


def _prepare(responses: pd.DataFrame, instrument: Any, model: Any,
             columns: Mapping[str, str] | None) -> tuple[pd.DataFrame, ModelSpec, str | None]:
    """The numeric matrix of the model's observed variables (rows kept), the model, source."""
    if not isinstance(responses, pd.DataFrame):
        raise InputError("responses must be a pandas DataFrame (one row per respondent)")
    source = responses.attrs.get("source")
    if instrument is None and model is None:
        raise InputError("give an instrument (its subscales are the model) or a model string",
                         hint="e.g. cfa(data, 'jse-s') or cfa(data, model='F =~ x1 + x2 + x3')")
    if instrument is not None:
        from .instruments import resolve_instrument
        from .scoring import keyed_items

        inst = resolve_instrument(instrument, responses)
        spec = _model_spec(model, inst)
        frame = keyed_items(responses, inst, columns=columns)
        missing = [v for v in spec.observed if v not in frame.columns]
        if missing:
            raise InputError(
                f"model variable '{missing[0]}' is not an item of instrument '{inst.id}'",
                file=source, hint=f"items are {', '.join(inst.item_ids)}",
            )
        return frame[spec.observed], spec, source
    spec = _model_spec(model, None)
    out = {}
    for v in spec.observed:
        if v not in responses.columns:
            raise InputError(f"model variable '{v}' is not a column of the data", file=source,
                             column=v, hint="model names must match the data's column names")
        col = responses[v]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            conv = pd.to_numeric(col, errors="coerce")
            bad = col.notna() & conv.isna()
            if bad.any():
                pos = int(np.flatnonzero(bad.to_numpy())[0])
                row = int(responses.attrs.get("first_row", 2)) + pos
                raise InputError(f"value {col.iloc[pos]!r} is not a number", file=source,
                                 row=row, column=v, hint="a CFA needs numeric item scores")
            col = conv
        out[v] = col.to_numpy(dtype=float, na_value=np.nan)
    return pd.DataFrame(out, index=responses.index), spec, source


# ============================================================================================
# parameter tables
# ============================================================================================


def _parameter_table(est: _sem.Estimate) -> pd.DataFrame:
    """lavaan's ``parameterEstimates(standardized=TRUE)``: estimate, se, std (std.all)."""
    s = est.structure
    spec = s.spec
    se_free = est.se
    rows = []
    multi = len(est.groups) > 1
    for g, st in enumerate(est.groups):
        lam, phi, th, nu, alpha = s.matrices(est.theta, g)
        sigma, _ = s.implied(est.theta, g)
        sd_ov = np.sqrt(np.diag(sigma))
        sd_lv = np.sqrt(np.maximum(np.diag(phi), 0.0))
        free: dict[tuple[str, int, int], int] = {
            (p.kind, p.row, p.col): p.free for k in s.by_group[g] for p in [s.params[k]]
        }

        def se(kind: str, r: int, c: int, free=free) -> float:
            idx = free.get((kind, r, c))
            return math.nan if idx is None else float(se_free[idx])

        def add(lhs, op, rhs, value, se_value, std, kind, label=st.label):
            rows.append({"group": label, "lhs": lhs, "op": op, "rhs": rhs, "kind": kind,
                         "estimate": float(value), "se": se_value, "std": float(std)})

        for j, f in enumerate(spec.factors):
            for item in spec.indicators[f]:
                i = spec.observed.index(item)
                add(f, "=~", item, lam[i, j], se("lambda", i, j),
                    lam[i, j] * sd_lv[j] / sd_ov[i], "loading")
        for i, v in enumerate(spec.observed):
            add(v, "~~", v, th[i, i], se("theta", i, i), th[i, i] / sigma[i, i], "residual")
        for a, b in spec.residual_covariances:
            i, k = spec.observed.index(a), spec.observed.index(b)
            r, c = max(i, k), min(i, k)
            denom = math.sqrt(th[i, i] * th[k, k]) if th[i, i] > 0 and th[k, k] > 0 else math.nan
            add(a, "~~", b, th[r, c], se("theta", r, c), th[r, c] / denom, "residual")
        for j, f in enumerate(spec.factors):
            for k in range(j + 1):
                if k == j:
                    add(f, "~~", f, phi[j, j], se("phi", j, j), 1.0, "factor")
        for j, f in enumerate(spec.factors):
            for k in range(j + 1, len(spec.factors)):
                denom = sd_lv[j] * sd_lv[k]
                add(f, "~~", spec.factors[k], phi[k, j], se("phi", k, j),
                    phi[k, j] / denom if denom > 0 else math.nan, "factor")
        if s.meanstructure:
            for i, v in enumerate(spec.observed):
                add(v, "~1", "", nu[i], se("nu", i, 0), nu[i] / sd_ov[i], "intercept")
            for j, f in enumerate(spec.factors):
                add(f, "~1", "", alpha[j], se("alpha", j, 0),
                    alpha[j] / sd_lv[j] if sd_lv[j] > 0 else math.nan, "mean")
    table = pd.DataFrame(rows)
    if not multi:
        table = table.drop(columns="group")
    return table


def _loadings(params: pd.DataFrame) -> pd.DataFrame:
    lo = params[params["op"] == "=~"].rename(columns={"lhs": "factor", "rhs": "item"})
    cols = (["group"] if "group" in lo.columns else []) + ["factor", "item", "estimate", "se",
                                                           "std"]
    return lo[cols].reset_index(drop=True)


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{x:.{digits}f}"


def _fit_line(fit: Mapping[str, Any]) -> str:
    p = fit["pvalue"]
    ptxt = "—" if p is None or not math.isfinite(p) else ("< .001" if p < 0.001 else f"{p:.3f}")
    lo, hi = fit["rmsea_ci"]
    eq = "" if "<" in ptxt else "= "
    return (f"chi-square = {_fmt(fit['chisq'], 2)}, df = {fit['df']}, p {eq}{ptxt}; "
            f"CFI = {_fmt(fit['cfi'])}, TLI = {_fmt(fit['tli'])}, RMSEA = "
            f"{_fmt(fit['rmsea'])} [90% CI {_fmt(lo)}, {_fmt(hi)}], SRMR = {_fmt(fit['srmr'])}; "
            f"AIC = {_fmt(fit['aic'], 1)}, BIC = {_fmt(fit['bic'], 1)}")


# ============================================================================================
# CFA
# ============================================================================================


@dataclass
class CFAResult(Result):
    """A fitted confirmatory factor model.

    Attributes
    ----------
    model
        The measurement model (:class:`~empathy_metrics._sem.ModelSpec`; ``model.to_syntax()``
        gives it in lavaan syntax).
    n
        Respondents analysed (complete cases on the model's items).
    n_dropped
        Respondents dropped for a missing answer on any model item (listwise deletion).
    fit
        ``chisq, df, pvalue, cfi, tli, rmsea, rmsea_ci, srmr, aic, bic``.
    parameters
        Every parameter as lavaan's ``parameterEstimates(fit, standardized = TRUE)``: ``lhs``,
        ``op`` (``=~`` loading, ``~~`` (co)variance, ``~1`` intercept/mean), ``rhs``, ``kind``,
        ``estimate``, ``se`` (``NaN`` for parameters fixed by identification) and ``std``
        (lavaan's ``std.all``); a ``group`` column for multi-group models.
    loadings
        ``factor, item, estimate, se, std`` (the marker loadings are fixed at 1 and have
        no SE).
    iterations
        Fisher-scoring iterations used.
    warnings
        Messages about an improper solution (also issued as
        :class:`~empathy_metrics.errors.DegenerateDataWarning`).
    groups
        Group labels for a multi-group model (``None`` otherwise).
    """

    model: ModelSpec
    n: int
    n_dropped: int
    fit: dict[str, Any]
    parameters: pd.DataFrame
    loadings: pd.DataFrame
    iterations: int
    warnings: list[str] = field(default_factory=list)
    groups: list[Any] | None = None
    loglik: float = math.nan
    npar: int = 0
    title: str = field(default="Confirmatory factor analysis", repr=False)
    _estimate: Any = field(default=None, repr=False)

    def _lv_matrix(self, std: bool) -> pd.DataFrame:
        f = self.model.factors
        out = pd.DataFrame(np.eye(len(f)) if std else np.nan, index=f, columns=f, dtype=float)
        par = self.parameters[self.parameters["kind"] == "factor"]
        if self.groups is not None:
            par = par[par["group"] == self.groups[0]]
        for r in par.itertuples():
            v = r.std if std else r.estimate
            out.loc[r.lhs, r.rhs] = out.loc[r.rhs, r.lhs] = v
        return out

    @property
    def factor_covariances(self) -> pd.DataFrame:
        """Factor variances and covariances (first group of a multi-group model)."""
        return self._lv_matrix(std=False)

    @property
    def factor_correlations(self) -> pd.DataFrame:
        """Factor correlations (first group of a multi-group model)."""
        return self._lv_matrix(std=True)

    @property
    def residual_variances(self) -> pd.Series:
        """Residual (unique) variances of the items (first group of a multi-group model)."""
        par = self.parameters[(self.parameters["op"] == "~~")
                              & (self.parameters["lhs"] == self.parameters["rhs"])
                              & (self.parameters["kind"] == "residual")]
        if self.groups is not None:
            par = par[par["group"] == self.groups[0]]
        return pd.Series(par["estimate"].to_numpy(), index=par["lhs"].to_numpy(),
                         name="residual_variance")

    def to_frame(self) -> pd.DataFrame:
        return self.loadings

    def to_dict(self) -> dict[str, Any]:
        """``{"n", "fit": {...}, "loadings": [{"factor", "item", "estimate", "se", "std"}]}``."""
        return {"n": int(self.n), "fit": jsonable(self.fit), "loadings": jsonable(self.loadings)}

    def summary(self) -> str:
        lines = [self.title, "=" * len(self.title)]
        dropped = (f" ({self.n_dropped} with a missing answer dropped)" if self.n_dropped
                   else "")
        lines.append(f"n = {self.n} complete respondents{dropped}; maximum likelihood "
                     f"(lavaan defaults), {self.npar} free parameters")
        lines.append(_fit_line(self.fit))
        if self.fit["df"] == 0:
            lines.append("df = 0: the model is saturated (just identified), so its fit cannot "
                         "be tested")
        lines.append("")
        lines.append("Loadings (std = completely standardised; markers fixed at 1)")
        with pd.option_context("display.max_rows", 500, "display.width", 120):
            lines.append(self.loadings.to_string(
                index=False, float_format=lambda x: f"{x:.3f}", na_rep="—"))
        if len(self.model.factors) > 1:
            lines.append("")
            lines.append("Factor correlations")
            lines.append(self.factor_correlations.to_string(float_format=lambda x: f"{x:.3f}"))
        for w in self.warnings:
            lines.append(f"Warning: {w}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self.loadings.to_html(float_format=lambda x: f"{x:.3f}", na_rep="—", border=0,
                                      index=False)
        fit = html.escape(_fit_line(self.fit))
        warn = "".join(f"<p><b>Warning:</b> {html.escape(w)}</p>" for w in self.warnings)
        return (f"<div class='empathy-metrics-result'><h4>{html.escape(self.title)}</h4>"
                f"<p>n = {self.n}; {fit}</p>{table}{warn}</div>")


def _result_from(est: _sem.Estimate, spec: ModelSpec, n_dropped: int,
                 groups: list[Any] | None, title: str) -> CFAResult:
    params = _parameter_table(est)
    return CFAResult(
        model=spec, n=est.n, n_dropped=n_dropped, fit=_sem.fit_measures(est), parameters=params,
        loadings=_loadings(params), iterations=est.iterations, warnings=list(est.warnings),
        groups=groups, loglik=est.loglik, npar=est.structure.q, title=title, _estimate=est,
    )


def cfa(
    responses: pd.DataFrame,
    instrument: Any = None,
    model: str | ModelSpec | None = None,
    *,
    columns: Mapping[str, str] | None = None,
) -> CFAResult:
    """Confirmatory factor analysis by maximum likelihood, as ``lavaan::cfa(model, data)``.

    Parameters
    ----------
    responses
        One row per respondent. With an ``instrument``: raw answers (reverse keying is applied
        with :func:`~empathy_metrics.scoring.keyed_items`, out-of-range codes become missing).
        Without: numeric columns named as in ``model``.
    instrument
        Instrument id, path or :class:`~empathy_metrics.instruments.Instrument`. When ``model``
        is not given, each subscale is one factor measured by its items (the total is not a
        factor; an instrument with no subscales gives a single factor of all items).
    model
        lavaan-style syntax: ``F1 =~ x1 + x2 + x3`` lines, optional residual covariances
        ``x1 ~~ x2``, ``#`` comments (see :func:`~empathy_metrics._sem.parse_model`). With an
        instrument, variables are item ids.
    columns
        Optional mapping item id -> data column name (with an instrument).

    Returns
    -------
    CFAResult
        ``.fit``, ``.loadings``, ``.parameters``, ``.n``, factor covariances and correlations,
        residual variances.

    Notes
    -----
    *Model*: :math:`\\Sigma = \\Lambda\\Phi\\Lambda' + \\Theta` with the first loading of every
    factor fixed to 1 (marker-variable identification), all factor variances and covariances
    free, :math:`\\Theta` diagonal apart from requested residual covariances, no mean
    structure.

    *Estimation* (Jöreskog 1969; Bollen 1989, ch. 4): minimises
    :math:`F_{ML} = \\log|\\Sigma| + \\mathrm{tr}(S\\Sigma^{-1}) - \\log|S| - p` with :math:`S`
    the sample covariance matrix divided by :math:`N` (lavaan's ``likelihood = "normal"``), by
    Fisher scoring with analytic derivatives. Standard errors from the inverse expected
    information :math:`\\tfrac N2 \\Delta'(\\Sigma^{-1}\\otimes\\Sigma^{-1})\\Delta` (lavaan's
    default ``se = "standard"``, ``information = "expected"``). Standardised loadings are
    lavaan's ``std.all``: :math:`\\lambda_{ij}\\sqrt{\\phi_{jj}}/\\sqrt{\\sigma_{ii}}`.

    *Fit*: :math:`\\chi^2 = N F_{ML}`; CFI, TLI against the independence model; RMSEA with a
    90 % CI from the noncentral :math:`\\chi^2`; Bentler's SRMR; AIC and BIC from the
    log-likelihood, all as lavaan's ``fitMeasures`` (see :func:`_sem.fit_measures`).

    *Assumptions*: complete cases (respondents with any missing model item are dropped,
    listwise, and counted in ``n_dropped``); item scores treated as continuous and
    multivariate normal (for 1-7 Likert items the estimates are usually fine but the
    chi-square is inflated for strongly skewed items); independent respondents.

    Raises
    ------
    InputError
        A model line that cannot be read (message names the line), a variable not in the data,
        a model with more parameters than moments.
    DataError, DegenerateDataError
        Fewer complete respondents than items, a constant item, perfectly collinear items,
        non-convergence, an unidentified model. Improper solutions (negative variances, factor
        correlations beyond 1) give a :class:`~empathy_metrics.errors.DegenerateDataWarning`.
    """
    frame, spec, _ = _prepare(responses, instrument, model, columns)
    values = frame.to_numpy(dtype=float)
    complete = ~np.isnan(values).any(axis=1)
    values = values[complete]
    _sem.check_sample(values, spec.observed)
    est = _sem.fit_model(spec, [_sem.group_stats(values)], meanstructure=False)
    for message in est.warnings:
        warnings.warn(message, DegenerateDataWarning, stacklevel=2)
    return _result_from(est, spec, int((~complete).sum()), None,
                        "Confirmatory factor analysis")


# ============================================================================================
# measurement invariance
# ============================================================================================


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
    """lavaan ``lavTestLRT`` (standard): difference of chi-squares on the difference of dfs."""
    dx2 = restricted.fit["chisq"] - free.fit["chisq"]
    ddf = restricted.fit["df"] - free.fit["df"]
    p = float(stats.chi2.sf(max(dx2, 0.0), ddf)) if ddf > 0 else math.nan
    dcfi = restricted.fit["cfi"] - free.fit["cfi"]
    drmsea = restricted.fit["rmsea"] - free.fit["rmsea"]
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

    Assumptions as :func:`cfa`, within each group; respondents with a missing item or a
    missing group value are dropped (listwise).

    Raises
    ------
    InputError
        ``group`` is not a column.
    DataError
        Fewer than two groups, or a group with no more respondents than items (name the
        group); constant items within a group.
    """
    frame, spec, source = _prepare(responses, instrument, model, columns)
    if group not in responses.columns:
        raise InputError(f"group column '{group}' not found", file=source, column=group,
                         hint=f"columns are {', '.join(map(str, responses.columns[:30]))}")
    labels = responses[group]
    values = frame.to_numpy(dtype=float)
    ok = ~np.isnan(values).any(axis=1) & labels.notna().to_numpy()
    n_dropped = int((~ok).sum())
    values, labels = values[ok], labels[ok]
    uniq = list(pd.unique(labels))
    try:
        uniq = sorted(uniq)
    except TypeError:
        uniq = sorted(uniq, key=str)
    uniq = [u.item() if isinstance(u, np.generic) else u for u in uniq]
    if all(isinstance(u, float) and u.is_integer() for u in uniq):
        # e.g. a year column read as float because some rows lack it: label 2 rather than 2.0
        labels = labels.astype(int)
        uniq = [int(u) for u in uniq]
    if len(uniq) < 2:
        raise DataError(f"group column '{group}' has {len(uniq)} group(s) with complete "
                        "answers; invariance needs at least two", file=source, column=group)
    p = len(spec.observed)
    small = [(u, int((labels == u).sum())) for u in uniq if (labels == u).sum() <= p]
    if small:
        desc = ", ".join(f"'{u}' (n = {n})" for u, n in small)
        raise DataError(
            f"group(s) {desc} of '{group}' have no more complete respondents than the {p} "
            "items; each group needs more respondents than items (ideally several hundred)",
            file=source, column=group, hint="merge small groups or drop them first",
        )
    stats_g = []
    lab = labels.to_numpy()
    for u in uniq:
        block = values[lab == u]
        _sem.check_sample(block, spec.observed, label=u)
        stats_g.append(_sem.group_stats(block, label=u))
    models = {}
    for name, equal in (("configural", ()), ("metric", ("loadings",)),
                        ("scalar", ("loadings", "intercepts"))):
        est = _sem.fit_model(spec, stats_g, meanstructure=True, equal=equal)
        models[name] = _result_from(est, spec, n_dropped, uniq, f"{name.capitalize()} model")
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
