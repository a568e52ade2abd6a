"""Linear mixed models for repeated measures (statsmodels MixedLM, REML).

Used by :mod:`empathy_metrics.cohorts` for longitudinal data (respondent ids repeating across
times): ``score ~ time + (1 | id)`` with time as a factor or as a number, optionally with a random
slope of (numeric) time, ``(1 + time | id)``. Agrees with R ``lme4::lmer(..., REML = TRUE)``
(estimates, standard errors, Wald CIs, residual SD, random-effect SDs and correlation) within
1e-3 relative; see ``tests/test_mixed.py`` and ``tests/reference/cohorts.R``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .errors import DataError, DegenerateDataWarning

__all__ = ["MixedModelFit", "fit_mixed", "fit_random_intercept"]

#: Optimiser sequences tried in turn (statsmodels ``MixedLM.fit(method=...)``) until one
#: converges; when none does, the fit with the highest restricted log-likelihood is kept.
_METHODS: tuple[tuple[str, ...], ...] = (("lbfgs",), ("bfgs",), ("powell", "lbfgs"), ("nm", "bfgs"))


@dataclass
class MixedModelFit:
    """Fixed effects (Wald SE, CI and p), residual SD and random-effect SDs of one model.

    Attributes
    ----------
    terms
        Term name -> ``{"estimate", "se", "ci": [lo, hi], "p"}``. Names: ``"Intercept"``,
        ``"time[t]"`` (factor level ``t`` against the reference level) or ``"time"`` (slope).
    sigma, sd_intercept
        Residual SD and random-intercept SD (lme4 ``sigma()`` and ``VarCorr``).
    sd_slope, cor_intercept_slope
        Random-slope SD and its correlation with the intercept (``None`` without random slope).
    n_obs, n_groups
        Observations and respondents used.
    converged
        Whether the optimiser reported convergence (a warning is issued when it did not).
    reml
        The REML criterion ``−2·restricted log-likelihood`` (lme4 ``REMLcrit``).
    formula
        The model in lme4 notation.
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

    def to_dict(self) -> dict[str, Any]:
        return {"terms": self.terms, "sigma": self.sigma, "sd_intercept": self.sd_intercept,
                "sd_slope": self.sd_slope, "cor_intercept_slope": self.cor_intercept_slope,
                "n_obs": self.n_obs, "n_groups": self.n_groups, "converged": self.converged,
                "formula": self.formula, "notes": list(self.notes)}


def _fit_best(model: Any) -> tuple[Any, list[str]]:
    """Fit ``model`` by REML with each optimiser sequence until one converges."""
    best, messages = None, []
    for method in _METHODS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = model.fit(reml=True, method=list(method))
            except (np.linalg.LinAlgError, ValueError) as exc:
                messages.append(f"{'+'.join(method)}: {exc}")
                continue
        if not np.isfinite(fit.llf):
            continue
        if best is None or (fit.converged and not best.converged) or (
                fit.converged == best.converged and fit.llf > best.llf + 1e-9):
            best = fit
            messages = [str(w.message).splitlines()[0] for w in caught
                        if "boundary" not in str(w.message)]
        if best.converged:
            break
    if best is None:
        raise DataError("the mixed model could not be fitted: " + "; ".join(messages))
    return best, messages


def fit_mixed(
    y: np.ndarray,
    time: np.ndarray,
    ids: np.ndarray,
    *,
    categorical: bool,
    levels: list[Any] | None = None,
    random_slope: bool = False,
    slope_time: np.ndarray | None = None,
    level: float = 0.95,
) -> MixedModelFit:
    """Fit ``y ~ time + (1 | id)`` (or ``(1 + time | id)``) by REML.

    Parameters
    ----------
    y, time, ids
        Score, time and respondent id per observation (no missing values).
    categorical
        Time as a factor (treatment contrasts against ``levels[0]``; terms ``"time[t]"``) or as
        a linear numeric effect (term ``"time"``).
    levels
        Time levels in order, the reference first (categorical only).
    random_slope
        Add a random slope of numeric time per respondent, correlated with the intercept.
    slope_time
        Numeric time per observation for the random slope (default: ``time`` itself, which
        must then be numeric).
    level
        Confidence level of the Wald intervals.

    Returns
    -------
    MixedModelFit

    Raises
    ------
    DataError
        Fewer than two respondents, too few observations, or no optimiser could fit the model.

    Warns
    -----
    DegenerateDataWarning
        When no optimiser converged (estimates may be unreliable), or a variance is estimated on
        the boundary (zero, or a ±1 correlation): lme4 calls such fits "singular".

    Notes
    -----
    Model ``y_ij = x_ij'β + z_ij'u_i + e_ij`` with ``u_i ~ N(0, G)``, ``e_ij ~ N(0, σ²)`` and
    ``z_ij = 1`` (random intercept) or ``(1, t_ij)`` (random slope), fitted by restricted maximum
    likelihood (Patterson & Thompson 1971) with statsmodels ``MixedLM``; the optimisers L-BFGS,
    BFGS, Powell then L-BFGS, Nelder–Mead then BFGS are tried in turn until one converges (when
    none does, the fit with the highest restricted likelihood is kept and a warning issued).
    SEs are from the inverse Fisher information of β at the REML estimate
    (as in lme4); CIs are Wald ``β ± z·SE`` (lme4 ``confint(method = "Wald")``) and p-values
    two-sided normal (lme4 gives none; ``lmerTest`` would use Satterthwaite df — with hundreds
    of observations the difference is negligible). Assumes normal random effects and residuals
    and data missing at random.

    References
    ----------
    Bates D, Mächler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using
    lme4. J Stat Softw 67(1). Laird NM, Ware JH (1982). Biometrics 38:963–974.
    """
    import statsmodels.api as sm

    y = np.asarray(y, dtype=float)
    time = np.asarray(time)
    n = y.size
    if categorical:
        if levels is None:
            levels = sorted(pd.unique(time))
        cols = [np.ones(n)]
        names = ["Intercept"]
        for lev in levels[1:]:
            cols.append((time == lev).astype(float))
            names.append(f"time[{lev}]")
        exog = np.column_stack(cols)
    else:
        exog = np.column_stack([np.ones(n), time.astype(float)])
        names = ["Intercept", "time"]
    codes, uniques = pd.factorize(pd.Series(ids))
    if uniques.size < 2:
        raise DataError("a mixed model needs at least two respondents")
    n_re = 2 if random_slope else 1
    if n <= exog.shape[1] + n_re:
        raise DataError(f"a mixed model with {exog.shape[1]} fixed effects needs more than "
                        f"{exog.shape[1] + n_re} observations, got {n}")
    exog_re = None
    if random_slope:
        st = np.asarray(time if slope_time is None else slope_time, dtype=float)
        exog_re = np.column_stack([np.ones(n), st])
        if np.unique(st).size < 2:
            raise DataError("a random slope needs at least two distinct times")
    model = sm.MixedLM(y, pd.DataFrame(exog, columns=names), groups=codes, exog_re=exog_re)
    fit, messages = _fit_best(model)
    notes: list[str] = []
    formula = (f"score ~ {'factor(time)' if categorical else 'time'} + "
               f"({'1 + time' if random_slope else '1'} | id), REML")
    if not fit.converged:
        warnings.warn(f"the mixed model {formula} did not converge with any optimiser "
                      f"({'; '.join(messages) or 'no message'}); its estimates may be "
                      "unreliable — check the data (enough repeated ids per time?) or drop "
                      "the random slope", DegenerateDataWarning, stacklevel=3)
        notes.append("not converged")
    cov_re = np.atleast_2d(np.asarray(fit.cov_re, dtype=float))
    tau2 = float(cov_re[0, 0])
    sd_slope = cor = None
    boundary = tau2 <= 1e-8 * max(float(fit.scale), 1e-300)
    if random_slope:
        sd_slope = float(np.sqrt(max(cov_re[1, 1], 0.0)))
        denom = np.sqrt(max(tau2, 0.0) * max(cov_re[1, 1], 0.0))
        cor = float(cov_re[0, 1] / denom) if denom > 0 else float("nan")
        boundary = boundary or cov_re[1, 1] <= 1e-8 * float(fit.scale) or not (
            abs(cor) < 1 - 1e-6)
    if boundary:
        warnings.warn(f"the mixed model {formula} is singular: a random-effect variance is "
                      "estimated at zero (or a correlation at ±1); simplify the model",
                      DegenerateDataWarning, stacklevel=3)
        notes.append("singular fit: random-effect variance on the boundary")
    fe = np.asarray(fit.fe_params)
    se = np.asarray(fit.bse_fe)
    z = stats.norm.ppf(0.5 + level / 2)
    terms = {}
    for i, name in enumerate(names):
        p = 2 * stats.norm.sf(abs(fe[i] / se[i]))
        terms[name] = {"estimate": float(fe[i]), "se": float(se[i]),
                       "ci": [float(fe[i] - z * se[i]), float(fe[i] + z * se[i])],
                       "p": float(p)}
    return MixedModelFit(terms=terms, sigma=float(np.sqrt(fit.scale)),
                         sd_intercept=float(np.sqrt(max(tau2, 0.0))), n_obs=int(n),
                         n_groups=int(uniques.size), converged=bool(fit.converged),
                         sd_slope=sd_slope, cor_intercept_slope=cor, reml=float(-2 * fit.llf),
                         formula=formula, notes=notes)


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
