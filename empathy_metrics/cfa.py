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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import _cfa_input as _input
from . import _sem
from ._blas import blas_single_threaded
from ._results import Result, jsonable
from ._sem import ModelSpec, parse_model
from .errors import DegenerateDataWarning, InputError

__all__ = [
    "CFAResult",
    "InvarianceResult",
    "ModelSpec",
    "cfa",
    "invariance",
    "modindices",
    "parse_model",
    "FIT_KEYS",
]

#: Keys of every ``fit`` dictionary, in order (under MLR followed by ``_sem.SCALED_KEYS``).
FIT_KEYS = _sem.FIT_KEYS


# ============================================================================================
# parameter tables
# ============================================================================================


_PARAM_COLUMNS = ("group", "lhs", "op", "rhs", "kind", "estimate", "se", "std")


def _parameter_table(est: _sem.Estimate) -> pd.DataFrame:
    """lavaan's ``parameterEstimates(standardized=TRUE)``: estimate, se, std (std.all)."""
    s = est.structure
    spec = s.spec
    se_free = est.se
    cols: dict[str, list] = {c: [] for c in _PARAM_COLUMNS}
    multi = len(est.groups) > 1
    ordinal = isinstance(s, _sem.OrdinalStructure)
    for g, st in enumerate(est.groups):
        lam, phi, th, nu, alpha = s.matrices(est.theta, g)
        sigma, _ = s.implied(est.theta, g)
        if ordinal:  # delta parameterization: residual variances 1/delta^2 - explained
            np.fill_diagonal(th, s.residual_variances(est.theta, g))
            sigma = lam @ phi @ lam.T + th
        sd_ov = np.sqrt(np.diag(sigma))
        sd_lv = np.sqrt(np.maximum(np.diag(phi), 0.0))
        free = s.free_of(g)

        def se(kind: str, r: int, c: int, free=free) -> float:
            idx = free.get((kind, r, c))
            return math.nan if idx is None else float(se_free[idx])

        def add(lhs, op, rhs, value, se_value, std, kind, label=st.label):
            for c, v in zip(_PARAM_COLUMNS, (label, lhs, op, rhs, kind, float(value),
                                             se_value, float(std)), strict=True):
                cols[c].append(v)

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
        if ordinal:
            tau, delta = s.scales(est.theta, g)
            for i, v in enumerate(spec.observed):
                for k in range(s.n_th[i]):
                    add(v, "|", f"t{k + 1}", tau[i, k], se("tau", i, k), tau[i, k] / sd_ov[i],
                        "threshold")
                # standardised: delta times the SD of y* (1/delta) = 1, as lavaan
                add(v, "~*~", v, delta[i], se("delta", i, 0), delta[i] * sd_ov[i], "scale")
    if not multi:
        del cols["group"]
    return pd.DataFrame(cols)


def _loadings(params: pd.DataFrame) -> pd.DataFrame:
    """The loadings rows of the parameter table (``factor``, ``item``, estimate, se, std)."""
    keep = (params["op"].to_numpy() == "=~").nonzero()[0]
    names = {"lhs": "factor", "rhs": "item"}
    cols = (["group"] if "group" in params.columns else []) + ["lhs", "rhs", "estimate", "se",
                                                               "std"]
    return pd.DataFrame({names.get(c, c): params[c].to_numpy()[keep] for c in cols})


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{x:.{digits}f}"


def _design_line(res: Any) -> str:
    """n, missing-data treatment and estimator in words."""
    if res.missing == "fiml":
        dropped = f"; {res.n_dropped} with no answer dropped" if res.n_dropped else ""
        who = f"n = {res.n} respondents (full-information ML: every answer used{dropped})"
    elif res.missing == "pairwise":
        dropped = f"; {res.n_dropped} with no answer dropped" if res.n_dropped else ""
        who = (f"n = {res.n} respondents (pairwise: every answer and every pair of answers "
               f"used{dropped})")
    else:
        dropped = (f" ({res.n_dropped} with a missing answer dropped)" if res.n_dropped
                   else "")
        who = f"n = {res.n} complete respondents{dropped}"
    how = {"mlr": "robust maximum likelihood (MLR: Huber-White SEs, Yuan-Bentler scaled "
                  "chi-square)",
           "wlsmv": "WLSMV for ordered items (DWLS on thresholds and polychoric correlations, "
                    "robust SEs, mean-and-variance adjusted chi-square)"}.get(
        res.estimator, "maximum likelihood (lavaan defaults)")
    return f"{who}; {how}, {res.npar} free parameters"


def _scaled_line(fit: Mapping[str, Any]) -> str:
    p = fit["pvalue_scaled"]
    ptxt = "—" if not math.isfinite(p) else ("< .001" if p < 0.001 else f"= {p:.3f}")
    lo, hi = fit["rmsea_ci_scaled"]
    shift = (f", shift {_fmt(fit['shift_parameter'], 2)}" if "shift_parameter" in fit
             else "")
    return (f"scaled: chi-square = {_fmt(fit['chisq_scaled'], 2)} (scaling factor "
            f"{_fmt(fit['scaling_factor'])}{shift}), p {ptxt}; CFI = {_fmt(fit['cfi_scaled'])}, "
            f"TLI = {_fmt(fit['tli_scaled'])}, RMSEA = {_fmt(fit['rmsea_scaled'])} "
            f"[90% CI {_fmt(lo)}, {_fmt(hi)}]")


def _fit_line(fit: Mapping[str, Any]) -> str:
    p = fit["pvalue"]
    ptxt = "—" if p is None or not math.isfinite(p) else ("< .001" if p < 0.001 else f"{p:.3f}")
    lo, hi = fit["rmsea_ci"]
    eq = "" if "<" in ptxt else "= "
    return (f"chi-square = {_fmt(fit['chisq'], 2)}, df = {fit['df']}, p {eq}{ptxt}; "
            f"CFI = {_fmt(fit['cfi'])}, TLI = {_fmt(fit['tli'])}, RMSEA = "
            f"{_fmt(fit['rmsea'])} [90% CI {_fmt(lo)}, {_fmt(hi)}], SRMR = {_fmt(fit['srmr'])}"
            + ("" if not math.isfinite(fit["aic"]) else  # WLSMV: no likelihood
               f"; AIC = {_fmt(fit['aic'], 1)}, BIC = {_fmt(fit['bic'], 1)}"))


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
    estimator: str = "ml"
    missing: str = "listwise"
    title: str = field(default="Confirmatory factor analysis", repr=False)
    _estimate: Any = field(default=None, repr=False)
    #: Plain-words notes (e.g. out-of-range codes set to missing before the fit).
    notes: list[str] = field(default_factory=list)

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
        """``{"n", "estimator", "missing", "fit": {...}, "loadings": [{"factor", "item",
        "estimate", "se", "std"}]}`` (under MLR ``fit`` also has the ``*_scaled`` keys)."""
        return {"n": int(self.n), "estimator": self.estimator, "missing": self.missing,
                "fit": jsonable(self.fit), "loadings": jsonable(self.loadings)}

    def summary(self) -> str:
        lines = [self.title, "=" * len(self.title)]
        lines.append(_design_line(self))
        lines.append(_fit_line(self.fit))
        if "chisq_scaled" in self.fit:
            lines.append(_scaled_line(self.fit))
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
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from ._results import html_notes

        table = self.loadings.to_html(float_format=lambda x: f"{x:.3f}", na_rep="—", border=0,
                                      index=False)
        fit = html.escape(_fit_line(self.fit))
        warn = "".join(f"<p><b>Warning:</b> {html.escape(w)}</p>" for w in self.warnings)
        phi = ""
        if len(self.model.factors) > 1:
            phi = ("<h5>Factor correlations</h5>" + self.factor_correlations.to_html(
                float_format=lambda x: f"{x:.3f}", na_rep="—", border=0))
        return (f"<div class='empathy-metrics-result'><h4>{html.escape(self.title)}</h4>"
                f"<p>{html.escape(_design_line(self))}</p><p>{fit}</p><h5>Loadings (std = "
                f"completely standardised; markers fixed at 1)</h5>{table}{phi}{warn}"
                f"{html_notes(self.notes)}</div>")


def result_from(est: _sem.Estimate, spec: ModelSpec, n_dropped: int,
                groups: list[Any] | None, title: str, missing: str = "listwise") -> CFAResult:
    params = _parameter_table(est)
    return CFAResult(
        model=spec, n=est.n, n_dropped=n_dropped, fit=_sem.fit_measures(est), parameters=params,
        loadings=_loadings(params), iterations=est.iterations, warnings=list(est.warnings),
        groups=groups, loglik=est.loglik, npar=est.structure.q,
        estimator=est.estimator, missing=missing, title=title,
        _estimate=est,
    )


@blas_single_threaded
def cfa(
    responses: pd.DataFrame,
    instrument: Any = None,
    model: str | ModelSpec | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    estimator: str = "ml",
    missing: str = "listwise",
    std_lv: bool = False,
    group: str | None = None,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
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
        lavaan syntax (see :func:`~empathy_metrics._sem.parse_model`): ``F1 =~ x1 + x2 + x3``,
        residual covariances ``x1 ~~ x2``, fixed values ``1*x1``, a free marker ``NA*x1``,
        equality labels ``a*x2 + a*x3``, fixed factor (co)variances ``F1 ~~ 0*F2``. With an
        instrument, variables are item ids.
    columns
        Optional mapping item id -> data column name (with an instrument).
    estimator
        ``"ml"`` (normal-theory ML, lavaan's default) or ``"mlr"`` (ML estimates with
        Huber-White robust standard errors and the Yuan-Bentler scaled chi-square, lavaan
        ``estimator = "MLR"``; ``fit`` then also holds ``chisq_scaled``, ``cfi_scaled``,
        ``tli_scaled``, ``rmsea_scaled``, ...), or ``"wlsmv"`` for ordered items (integer
        category codes): lavaan's ``cfa(..., ordered = items, estimator = "WLSMV")``
        defaults -- DWLS on thresholds and polychoric correlations, delta parameterization,
        robust SEs, the mean-and-variance adjusted (scaled-shifted) chi-square; ``fit`` also
        holds the ``*_scaled`` keys and ``shift_parameter``, ``parameters`` the thresholds
        (``op = "|"``) and scaling factors (``"~*~"``). With groups, ``group_equal`` is a Wu &
        Estabrook (2016) step: ``[]``, ``["thresholds"]``, ``["thresholds", "loadings"]``,
        ``["thresholds", "loadings", "intercepts"]``.
    missing
        ``"listwise"`` (drop respondents with any missing model item) or ``"fiml"``
        (full-information ML using every answer, lavaan ``missing = "ml"``); with
        ``"wlsmv"`` ``"listwise"`` or ``"pairwise"`` (lavaan ``missing = "pairwise"``:
        thresholds from every answer to the item, polychorics from the respondents who
        answered both items; ``n`` counts respondents with at least one answer).
    std_lv
        Identify each factor by fixing its variance to 1 and freeing all loadings (lavaan
        ``std.lv = TRUE``) instead of fixing the first loading to 1.
    group, group_equal, group_partial
        A multi-group model: the grouping column, the parameter kinds held equal across groups
        (``"loadings"``, ``"intercepts"``, ``"residuals"``, ``"lv.variances"``,
        ``"lv.covariances"``), and entries exempt from them (``"F=~x2"``, ``"x3~1"``), as
        lavaan's ``group``, ``group.equal`` and ``group.partial``.

    Returns
    -------
    CFAResult
        ``.fit``, ``.loadings``, ``.parameters``, ``.n``, factor covariances and correlations,
        residual variances.

    Notes
    -----
    *Model*: :math:`\\Sigma = \\Lambda\\Phi\\Lambda' + \\Theta` with the first loading of every
    factor fixed to 1 (marker-variable identification; or unit factor variances with
    ``std_lv``), all factor variances and covariances free, :math:`\\Theta` diagonal apart from
    requested residual covariances; a mean structure (free intercepts) with FIML or groups.

    *Estimation* (Jöreskog 1969; Bollen 1989, ch. 4): minimises
    :math:`F_{ML} = \\log|\\Sigma| + \\mathrm{tr}(S\\Sigma^{-1}) - \\log|S| - p` with :math:`S`
    the sample covariance matrix divided by :math:`N` (lavaan's ``likelihood = "normal"``), by
    Fisher scoring with analytic derivatives. Standard errors from the inverse expected
    information :math:`\\tfrac N2 \\Delta'(\\Sigma^{-1}\\otimes\\Sigma^{-1})\\Delta` (lavaan's
    default ``se = "standard"``, ``information = "expected"``). Standardised loadings are
    lavaan's ``std.all``: :math:`\\lambda_{ij}\\sqrt{\\phi_{jj}}/\\sqrt{\\sigma_{ii}}`.

    *FIML* (Arbuckle 1996; lavaan ``missing = "ml"``): the casewise normal likelihood of each
    respondent's observed answers; :math:`\\chi^2 = 2(\\ell_{H1}-\\ell_{H0})` against the
    saturated model estimated by EM; standard errors from the observed information (lavaan's
    default under FIML); ``n`` counts every respondent with at least one answer.

    *MLR* (lavaan ``estimator = "MLR"``): the same estimates; standard errors from the
    sandwich :math:`A^{-1}BA^{-1}` with :math:`A` the observed information and :math:`B` the
    outer product of casewise scores (Huber 1967; White 1982); the chi-square divided by the
    Yuan-Bentler scaling factor :math:`c = [\\mathrm{tr}(A_1^{-1}B_1) -
    \\mathrm{tr}(A_0^{-1}B_0)]/df` (Yuan & Bentler 2000; Mplus variant, lavaan's
    ``"yuan.bentler.mplus"``), also with FIML.

    *WLSMV* (Muthen, du Toit & Spisic 1997; lavaan ``estimator = "WLSMV"``): the items'
    thresholds and polychoric correlations (:mod:`empathy_metrics._sem.ordinal_stats`) are
    fitted by diagonally weighted least squares with weights :math:`1/\\mathrm{diag}(\\Gamma)`;
    standard errors from the sandwich with :math:`\\Gamma`; the chi-square adjusted in mean
    and variance (Asparouhov & Muthen 2010). Residual variances of the latent responses are
    :math:`1 - ` the explained variance (delta parameterization). Assumes normal latent
    responses behind the categories and complete cases; see :mod:`empathy_metrics._sem.dwls`.

    *Fit*: :math:`\\chi^2 = N F_{ML}`; CFI, TLI against the independence model; RMSEA with a
    90 % CI from the noncentral :math:`\\chi^2`; Bentler's SRMR; AIC and BIC from the
    log-likelihood, all as lavaan's ``fitMeasures`` (see :mod:`empathy_metrics._sem.fit`).

    *Assumptions*: complete cases unless ``missing = "fiml"`` (which assumes answers are
    missing at random); item scores treated as continuous (multivariate normal for ``"ml"``;
    ``"mlr"`` corrects SEs and the test for non-normality, e.g. skewed Likert items);
    independent respondents.

    Raises
    ------
    InputError
        A model line that cannot be read (message names the line), a variable not in the data,
        a model with more parameters than moments, an unknown estimator or missing option.
    DataError, DegenerateDataError
        Fewer respondents than items, a constant item, perfectly collinear items,
        non-convergence, an unidentified model. Improper solutions (negative variances, factor
        correlations beyond 1) give a :class:`~empathy_metrics.errors.DegenerateDataWarning`.
    """
    est_name, miss = _input.check_options(estimator, missing)
    frame, spec, source = _input.prepare(responses, instrument, model, columns)
    spec = _input.with_std_lv(spec, std_lv)
    if est_name == "wlsmv":
        stats_g, labels, n_dropped = _input.ordinal_data(responses, frame, spec, group, source,
                                                         miss)
    elif group is None:
        stats_g, n_dropped = _input.single_data(frame, spec, miss)
        labels = None
    else:
        stats_g, labels, n_dropped = _input.group_data(responses, frame, spec, group, miss,
                                                       source)
    partial = _input.parse_partial(spec, group_partial)
    if est_name == "wlsmv":
        est = _sem.fit_dwls(spec, stats_g, equal=_input.check_wlsmv_equal(group_equal),
                            partial=partial)
    else:
        est = _sem.fit_model(spec, stats_g, meanstructure=group is not None or miss == "fiml",
                             equal=tuple(group_equal), partial=partial, estimator=est_name)
    for message in est.warnings:
        warnings.warn(message, DegenerateDataWarning, stacklevel=2)
    res = result_from(est, spec, n_dropped, labels, "Confirmatory factor analysis", miss)
    res.notes.extend(frame.attrs.get("notes", []))
    return res


def modindices(result: CFAResult, *, sort: bool = True, minimum: float = 0.0) -> pd.DataFrame:
    """Modification indices of a fitted model, as ``lavaan::modindices(fit)``.

    For every parameter the model fixes (cross-loadings, residual covariances, fixed factor
    covariances, latent means in a multi-group model): ``mi``, the expected drop in
    chi-square when it is freed (a score test with 1 df), ``epc``, the expected value it would
    take, and ``sepc_all``, that value completely standardised. Parameters that could not be
    freed without losing identification (e.g. a marker loading) are left out.

    Parameters
    ----------
    result
        A :func:`cfa` result fitted to complete data (listwise; ``estimator`` "ml" or "mlr":
        the indices use the expected information, as lavaan).
    sort
        Largest ``mi`` first (lavaan's ``sort. = TRUE``); otherwise lavaan's order.
    minimum
        Only rows with ``mi >= minimum`` (lavaan's ``minimum.value``).

    Returns
    -------
    pandas.DataFrame
        ``lhs, op, rhs, mi, epc, sepc_all`` (and ``group`` for a multi-group model).

    Notes
    -----
    :math:`MI = N s^2/V` with :math:`s` the score of the fixed parameter per respondent and
    :math:`V = I_{11} - I_{12}I_{22}^{-1}I_{21}` from the unit expected information;
    :math:`EPC = s/V` (Sörbom 1989; Saris, Satorra & Sörbom 1987). Freeing parameters because
    their MI is large capitalises on chance (MacCallum, Roznowski & Necowitz 1992): free only
    what has a substantive reason, and confirm in new data.

    Raises
    ------
    InputError
        The model was fitted with ``missing = "fiml"``.
    """
    from ._sem import modindices as mi

    est = result._estimate
    if result.estimator == "wlsmv":
        raise InputError("modification indices are computed for ML and MLR fits only",
                         hint="refit with estimator 'ml' or 'mlr' to screen for "
                              "misspecifications")
    cands = mi.modification_indices(est)
    rows = []
    for cand, (value, epc) in zip(cands, mi.score_tests(est, cands), strict=True):
        if not math.isfinite(value) or value < minimum:
            continue
        lhs, op, rhs = mi.candidate_name(est, cand)
        row = {"lhs": lhs, "op": op, "rhs": rhs, "mi": value, "epc": epc,
               "sepc_all": mi.standardized_epc(est, cand, epc)}
        if result.groups is not None:
            row = {"group": result.groups[cand.group], **row}
        rows.append(row)
    cols = (["group"] if result.groups is not None else []) + ["lhs", "op", "rhs", "mi", "epc",
                                                               "sepc_all"]
    table = pd.DataFrame(rows, columns=cols)
    if sort:
        table = table.sort_values("mi", ascending=False, kind="stable")
    return table.reset_index(drop=True)


from ._invariance import DELTA_CFI, DELTA_RMSEA, InvarianceResult, invariance  # noqa: E402,F401
