"""Repeated-measures models ``score ~ time [+ covariates] + (1 | id)`` or ``(1 + time | id)``."""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._distributions import norm_ppf, norm_sf, t_ppf, t_sf
from .._results import Result
from ..errors import DataError, DegenerateDataWarning
from ._engine import LmmFit, fit_lmm
from ._optimize import SINGULAR_TOL

__all__ = ["MixedModelFit", "fit_mixed", "fit_random_intercept"]


@dataclass
class MixedModelFit(Result):
    """Fixed effects (SE, Satterthwaite df, CI, p), residual SD and random-effect SDs.

    Attributes
    ----------
    terms
        Term name -> ``{"estimate", "se", "df", "ci": [lo, hi], "p"}``. Names: ``"Intercept"``,
        ``"time[t]"`` (factor level ``t`` against the reference level), ``"time"`` (slope),
        ``"<covariate>[level]"`` or ``"<covariate>"``.
    sigma, sd_intercept
        Residual SD and random-intercept SD (lme4 ``sigma()`` and ``VarCorr``).
    sd_slope, cor_intercept_slope
        Random-slope SD and its correlation with the intercept (``None`` without random slope).
    n_obs, n_groups
        Observations and respondents used.
    converged
        Whether the optimum passed lme4's convergence checks (a warning is issued when not).
    reml
        The REML criterion ``−2·restricted log-likelihood`` (lme4 ``REMLcrit``; ``None`` for ML).
    criterion, loglik, method
        REMLcrit or ML deviance, the (restricted) log-likelihood (lme4 ``logLik``), and
        ``"REML"``/``"ML"``.
    theta
        lme4's relative covariance factor ``getME(, "theta")``.
    singular
        lme4 ``isSingular(tol = 1e-4)``: a random-effect variance estimated at zero (or a
        correlation at ±1).
    vcov
        Covariance matrix of the fixed effects (lme4 ``vcov()``), in the order of ``terms``.
    formula
        The model in lme4 notation.
    notes
        Problems found, in plain words.
    """

    terms: dict[str, dict[str, Any]]
    sigma: float
    sd_intercept: float
    n_obs: int
    n_groups: int
    converged: bool
    sd_slope: float | None = None
    cor_intercept_slope: float | None = None
    reml: float | None = None
    formula: str = ""
    notes: list[str] = field(default_factory=list)
    criterion: float = float("nan")
    loglik: float = float("nan")
    method: str = "REML"
    theta: list[float] = field(default_factory=list)
    singular: bool = False
    vcov: np.ndarray | None = None
    title = "Linear mixed model"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (terms with df; vcov omitted)."""
        return {"terms": {k: {**v, "ci": list(v["ci"])} for k, v in self.terms.items()},
                "sigma": self.sigma, "sd_intercept": self.sd_intercept,
                "sd_slope": self.sd_slope, "cor_intercept_slope": self.cor_intercept_slope,
                "n_obs": self.n_obs, "n_groups": self.n_groups, "converged": self.converged,
                "singular": self.singular, "method": self.method,
                "criterion": self.criterion, "loglik": self.loglik,
                "theta": list(self.theta), "formula": self.formula, "notes": list(self.notes)}

    def to_frame(self) -> pd.DataFrame:
        """One row per fixed effect: estimate, se, df, t, ci_low, ci_high, p."""
        rows = [{"term": k, "estimate": v["estimate"], "se": v["se"], "df": v["df"],
                 "t": v["estimate"] / v["se"], "ci_low": v["ci"][0], "ci_high": v["ci"][1],
                 "p": v["p"]} for k, v in self.terms.items()]
        return pd.DataFrame(rows).set_index("term")

    def summary(self) -> str:
        head = super().summary()
        re = f"random intercept SD {self.sd_intercept:.3f}"
        if self.sd_slope is not None:
            re += f", slope SD {self.sd_slope:.3f}, correlation {self.cor_intercept_slope:.3f}"
        lines = [f"{self.formula}; {self.n_obs} observations of {self.n_groups} respondents",
                 f"{re}; residual SD {self.sigma:.3f}; {self.method} criterion "
                 f"{self.criterion:.3f}", head, "df: Satterthwaite (as lmerTest)."]
        return "\n".join(lines + self.notes)


def _factor_columns(values: np.ndarray, name: str, levels: list[Any] | None
                    ) -> tuple[list[np.ndarray], list[str], list[Any]]:
    """Treatment-contrast dummies against ``levels[0]`` (default: sorted, as R ``factor``)."""
    if levels is None:
        levels = sorted(pd.unique(values).tolist())
    present = set(pd.unique(values).tolist())
    missing = [v for v in present if v not in set(levels)]
    if missing:
        raise DataError(f"{name} has values {missing[:5]} that are not among its levels {levels}")
    cols = [(values == lev).astype(float) for lev in levels[1:]]
    return cols, [f"{name}[{lev}]" for lev in levels[1:]], list(levels)


def _design(time: np.ndarray, categorical: bool, levels: list[Any] | None,
            covariates: Mapping[str, Any] | None, factors: Collection[str]
            ) -> tuple[np.ndarray, list[str], list[str]]:
    """Fixed-effects design matrix, term names and the formula's fixed part."""
    n = time.size
    cols, names, formula = [np.ones(n)], ["Intercept"], []
    if categorical:
        c, nm, _ = _factor_columns(time, "time", levels)
        cols += c
        names += nm
        formula.append("factor(time)")
    else:
        cols.append(time.astype(float))
        names.append("time")
        formula.append("time")
    for cname, raw in (covariates or {}).items():
        v = np.asarray(raw)
        if v.shape != (n,):
            raise DataError(f"covariate {cname!r} has {v.size} values for {n} observations")
        if cname in factors or not np.issubdtype(v.dtype, np.number):
            c, nm, _ = _factor_columns(v, cname, None)
            cols += c
            names += nm
            formula.append(f"factor({cname})")
        else:
            cols.append(v.astype(float))
            names.append(cname)
            formula.append(cname)
    return np.column_stack(cols), names, formula


def _singular_message(theta: np.ndarray, random_slope: bool) -> str:
    """Which variance is on the boundary, in plain words."""
    small = np.abs(theta) < SINGULAR_TOL
    parts = []
    if small[0]:
        parts.append("the between-respondent variance of the intercept is estimated as zero "
                     "(respondents differ no more than their scores vary from time to time)")
    if random_slope and small[2]:
        parts.append("the between-respondent variance of the slope is estimated as zero"
                     if small[1] else "the random intercept and slope are perfectly correlated "
                     "(correlation ±1)")
    return ("the model is singular: " + "; ".join(parts) + ". The fixed effects are still "
            "estimated, but the random part is more complex than the data support: "
            + ("drop the random slope." if random_slope else
               "an ordinary regression gives the same estimates."))


def fit_mixed(
    y: np.ndarray,
    time: np.ndarray,
    ids: np.ndarray,
    *,
    categorical: bool,
    levels: list[Any] | None = None,
    random_slope: bool = False,
    slope_time: np.ndarray | None = None,
    covariates: Mapping[str, Any] | None = None,
    factors: Collection[str] = (),
    reml: bool = True,
    level: float = 0.95,
) -> MixedModelFit:
    """Fit ``y ~ time [+ covariates] + (1 | id)`` (or ``(1 + time | id)``), as ``lme4::lmer``.

    Parameters
    ----------
    y, time, ids
        Score, time and respondent id per observation (no missing values).
    categorical
        Time as a factor (treatment contrasts against ``levels[0]``; terms ``"time[t]"``) or as
        a linear numeric effect (term ``"time"``).
    levels
        Time levels in order, the reference first (categorical only; default sorted).
    random_slope
        Add a random slope of numeric time per respondent, correlated with the intercept.
    slope_time
        Numeric time per observation for the random slope (default: ``time`` itself, which
        must then be numeric).
    covariates
        Extra fixed effects, name -> values per observation (e.g. entering cohort, gender).
        Non-numeric values, and the names in ``factors``, enter as factors (treatment contrasts
        against the first sorted level, as R ``factor``); numbers enter linearly.
    reml
        Restricted maximum likelihood (default, as lme4) or maximum likelihood.
    level
        Confidence level of the intervals.

    Returns
    -------
    MixedModelFit

    Raises
    ------
    DataError
        Fewer than two respondents, too few observations, or a rank-deficient design.

    Warns
    -----
    DegenerateDataWarning
        When the optimum fails lme4's convergence checks, or the fit is singular (a variance
        estimated at zero, or a correlation at ±1; lme4 ``isSingular``).

    Notes
    -----
    Model ``y_ij = x_ij'β + z_ij'b_i + e_ij``, ``b_i ~ N(0, σ²TT')``, ``e_ij ~ N(0, σ²)``,
    ``z_ij = 1`` or ``(1, t_ij)``. Fitted as lme4 does (Bates et al. 2015): the REML criterion
    (or ML deviance) is profiled over β and σ and minimised over the relative covariance factor
    θ (the elements of the lower-triangular ``T``), solving the penalised least squares problem
    with one 1×1 or 2×2 Cholesky factor per respondent (see :mod:`._pls` and
    :mod:`._optimize`). SEs are lme4's ``vcov()``: σ²(X'V⁻¹X)⁻¹ at the estimate. The df of each
    coefficient are Satterthwaite's as computed by lmerTest (:mod:`._satterthwaite`); p-values
    are two-sided t tests with those df and the CIs are ``β ± t_{df}·SE`` (lmerTest
    ``contest1D(confint = TRUE)``). Assumes normal random effects and residuals, and
    observations missing at random given the model. Agreement with lme4 1.1 / lmerTest 3.1:
    ``tests/test_mixed.py`` against ``tests/reference/mixed.R``.

    References
    ----------
    Bates D, Mächler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using
    lme4. J Stat Softw 67(1). Kuznetsova A, Brockhoff PB, Christensen RHB (2017). lmerTest
    package: tests in linear mixed effects models. J Stat Softw 82(13). Laird NM, Ware JH
    (1982). Biometrics 38:963–974.
    """
    y = np.asarray(y, dtype=float)
    time = np.asarray(time)
    n = y.size
    X, names, fixed = _design(time, categorical, levels, covariates, factors)
    codes, uniques = pd.factorize(pd.Series(ids))
    if uniques.size < 2:
        raise DataError("a mixed model needs at least two respondents")
    n_re = 2 if random_slope else 1
    if n <= X.shape[1] + n_re:
        raise DataError(f"a mixed model with {X.shape[1]} fixed effects needs more than "
                        f"{X.shape[1] + n_re} observations, got {n}")
    Z = None
    if random_slope:
        st = np.asarray(time if slope_time is None else slope_time, dtype=float)
        if np.unique(st).size < 2:
            raise DataError("a random slope needs at least two distinct times")
        Z = np.column_stack([np.ones(n), st])
    fit = fit_lmm(y, X, codes, int(uniques.size), Z, reml=reml)
    method = "REML" if reml else "ML"
    formula = (f"score ~ {' + '.join(fixed)} + ({'1 + time' if random_slope else '1'} | id), "
               f"{method}")
    notes = _warn(fit, formula, random_slope)
    return _pack(fit, names, formula, notes, random_slope, level)


def _warn(fit: LmmFit, formula: str, random_slope: bool) -> list[str]:
    """Issue the convergence and singularity warnings; return the notes."""
    notes: list[str] = []
    if not fit.converged:
        msg = "; ".join(fit.messages) or "no message"
        warnings.warn(f"the mixed model {formula} did not converge ({msg}); its estimates may "
                      "be unreliable — check the data (enough repeated ids per time?) or drop "
                      "the random slope", DegenerateDataWarning, stacklevel=4)
        notes.append(f"not converged: {msg}")
    if fit.singular:
        msg = _singular_message(fit.theta, random_slope)
        warnings.warn(f"the mixed model {formula}: {msg}", DegenerateDataWarning, stacklevel=4)
        notes.append(f"singular fit: {msg}")
    notes.extend(fit.df_messages)
    return notes


def _pack(fit: LmmFit, names: list[str], formula: str, notes: list[str], random_slope: bool,
          level: float) -> MixedModelFit:
    se = np.sqrt(np.diag(fit.vcov))
    terms: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names):
        df = float(fit.df[i])
        t_dist = bool(np.isfinite(df) and df > 0)
        tq = float(t_ppf(0.5 + level / 2, df) if t_dist else norm_ppf(0.5 + level / 2))
        est, s = float(fit.beta[i]), float(se[i])
        z = abs(est / s)
        terms[name] = {"estimate": est, "se": s, "df": df if np.isfinite(df) else None,
                       "ci": [est - tq * s, est + tq * s],
                       "p": float(2 * (t_sf(z, df) if t_dist else norm_sf(z)))}
    cov = fit.cov_re
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    cor = None
    if random_slope:
        cor = float(cov[0, 1] / (sd[0] * sd[1])) if sd[0] * sd[1] > 0 else float("nan")
    return MixedModelFit(
        terms=terms, sigma=fit.sigma, sd_intercept=float(sd[0]), n_obs=fit.n_obs,
        n_groups=fit.n_groups, converged=fit.converged,
        sd_slope=float(sd[1]) if random_slope else None, cor_intercept_slope=cor,
        reml=fit.criterion if fit.reml else None, formula=formula, notes=notes,
        criterion=fit.criterion, loglik=fit.loglik, method="REML" if fit.reml else "ML",
        theta=[float(t) for t in fit.theta], singular=fit.singular, vcov=fit.vcov.copy())


def fit_random_intercept(
    y: np.ndarray,
    time: np.ndarray,
    ids: np.ndarray,
    *,
    categorical: bool,
    levels: list[Any] | None = None,
    level: float = 0.95,
) -> MixedModelFit:
    """``y ~ time + (1 | id)`` by REML: :func:`fit_mixed` without a random slope."""
    return fit_mixed(y, time, ids, categorical=categorical, levels=levels, level=level)
