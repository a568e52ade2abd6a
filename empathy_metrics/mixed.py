"""Random-intercept linear mixed models for repeated measures (statsmodels MixedLM, REML).

Used by :mod:`empathy_metrics.cohorts` for longitudinal data (respondent ids repeating across
times). Agrees with R ``lme4::lmer(score ~ factor(time) + (1 | id), REML = TRUE)`` (estimates,
standard errors, residual SD and random-intercept SD) to about 1e-4 relative.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .errors import DataError, DegenerateDataWarning

__all__ = ["MixedModelFit", "fit_random_intercept"]


@dataclass
class MixedModelFit:
    """Fixed effects (Wald SE, CI and p), residual SD and random-intercept SD."""

    terms: dict[str, dict[str, float]]
    sigma: float
    sd_intercept: float
    n_obs: int
    n_groups: int
    converged: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"terms": self.terms, "sigma": self.sigma, "sd_intercept": self.sd_intercept,
                "n_obs": self.n_obs, "n_groups": self.n_groups, "converged": self.converged}


def fit_random_intercept(
    y: np.ndarray,
    time: np.ndarray,
    ids: np.ndarray,
    *,
    categorical: bool,
    levels: list[Any] | None = None,
    level: float = 0.95,
) -> MixedModelFit:
    """Fit ``y ~ time + (1 | id)`` by REML.

    Parameters
    ----------
    y, time, ids
        Score, time and respondent id per observation (no missing values).
    categorical
        Time as a factor (treatment contrasts against ``levels[0]``; terms ``"time[t]"``) or as
        a linear numeric effect (term ``"time"``).
    levels
        Time levels in order, the reference first (categorical only).
    level
        Confidence level of the Wald intervals.

    Notes
    -----
    Model ``y_ij = x_ij'β + u_i + e_ij`` with ``u_i ~ N(0, τ²)``, ``e_ij ~ N(0, σ²)``, fitted by
    restricted maximum likelihood (Patterson & Thompson 1971) with statsmodels ``MixedLM``
    (L-BFGS, then Powell polishing when needed). SEs are from the inverse Fisher information of
    β at the REML estimate (as in lme4); CIs are Wald ``β ± z·SE`` and p-values two-sided
    normal (lme4 gives no p-values; ``lmerTest`` would use Satterthwaite df — with hundreds of
    observations the difference is negligible). Assumes normal random intercepts and residuals
    and missingness at random.
    """
    import statsmodels.api as sm

    y = np.asarray(y, dtype=float)
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
        exog = np.column_stack([np.ones(n), np.asarray(time, dtype=float)])
        names = ["Intercept", "time"]
    codes, uniques = pd.factorize(pd.Series(ids))
    if uniques.size < 2:
        raise DataError("a mixed model needs at least two respondents")
    if n <= exog.shape[1] + 1:
        raise DataError(f"a mixed model with {exog.shape[1]} fixed effects needs more than "
                        f"{exog.shape[1] + 1} observations, got {n}")
    model = sm.MixedLM(y, pd.DataFrame(exog, columns=names), groups=codes)
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = model.fit(reml=True, method=["lbfgs"])
        except np.linalg.LinAlgError:
            fit = None
        if fit is None or not fit.converged:
            try:
                fit = model.fit(reml=True, method=["powell", "lbfgs"])
            except np.linalg.LinAlgError as exc:
                raise DataError(f"the mixed model could not be fitted: {exc}") from None
    if not fit.converged:
        warnings.warn("the mixed model did not converge; estimates may be unreliable",
                      DegenerateDataWarning, stacklevel=3)
        notes.append("not converged")
    tau2 = float(np.asarray(fit.cov_re).ravel()[0])
    if tau2 <= 1e-10:
        warnings.warn("the random-intercept variance is estimated at zero (boundary fit)",
                      DegenerateDataWarning, stacklevel=3)
        notes.append("random-intercept variance on the boundary (0)")
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
                         n_groups=int(uniques.size), converged=bool(fit.converged), notes=notes)
