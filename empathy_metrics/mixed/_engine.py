"""Fit a linear mixed model from a fixed-effects design matrix: the engine's entry point."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._blas import single_thread_blas
from ..errors import DataError
from ._optimize import OptimResult, optimise
from ._pls import BlockStats, block_stats
from ._satterthwaite import satterthwaite_df

__all__ = ["LmmFit", "fit_lmm"]


@dataclass
class LmmFit:
    """Everything lme4 + lmerTest report for one model (full precision, plain arrays).

    ``theta`` is lme4's ``getME(, "theta")``; ``vcov`` is ``vcov()`` = σ²(X'V⁻¹X)⁻¹ with V the
    marginal covariance over σ²; ``criterion`` is ``REMLcrit()`` (REML) or ``deviance()`` (ML);
    ``df`` the Satterthwaite df of each coefficient (lmerTest ``summary()``); ``cov_re`` the
    covariance matrix of the random effects (``VarCorr``).
    """

    beta: np.ndarray
    vcov: np.ndarray
    df: np.ndarray
    theta: np.ndarray
    sigma: float
    cov_re: np.ndarray
    criterion: float
    loglik: float
    reml: bool
    singular: bool
    converged: bool
    n_obs: int
    n_groups: int
    messages: list[str] = field(default_factory=list)
    df_messages: list[str] = field(default_factory=list)


def fit_lmm(y: np.ndarray, X: np.ndarray, groups: np.ndarray, n_groups: int,
            Z: np.ndarray | None = None, *, reml: bool = True,
            satterthwaite: bool = True) -> LmmFit:
    """Fit ``y = Xβ + Z_i b_i + ε`` with one grouping factor, as ``lme4::lmer``.

    Parameters
    ----------
    y
        Response (n,), finite.
    X
        Fixed-effects design (n, p) with the intercept in column 0, full column rank.
    groups
        Group code per observation, integers 0 .. ``n_groups`` − 1, every code present.
    Z
        Random-effects design (n, q), q = 1 or 2 (default: a column of ones, a random
        intercept). For a random slope pass ``[1, t]``; the two effects are correlated.
    reml
        REML (lme4's default) or maximum likelihood.
    satterthwaite
        Compute lmerTest's Satterthwaite df (otherwise ``df`` is all NaN).

    Returns
    -------
    LmmFit

    Raises
    ------
    DataError
        When the design is rank deficient or there are too few observations.
    """
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    Z = np.ones((y.size, 1)) if Z is None else np.asarray(Z, float)
    n, p = X.shape
    q = Z.shape[1]
    if q not in (1, 2):
        raise DataError("only a random intercept, or a random intercept and one slope, "
                        "are supported")
    if np.linalg.matrix_rank(X.T @ X) < p:  # p x p: no SVD of the n x p design
        raise DataError("the fixed effects cannot all be estimated: some columns of the model "
                        "are constant or duplicate others (for example a time or group level "
                        "that coincides with another); drop or merge them")
    # lme4 refuses models with as many random effects as observations
    if n_groups * q >= n:
        raise DataError(f"a mixed model with {q} random effect{'s' if q > 1 else ''} per "
                        f"respondent needs more observations ({n}) than random effects "
                        f"({n_groups * q}): too few respondents were seen more than once")
    st = block_stats(y, X, Z, np.asarray(groups, np.intp), n_groups)
    # thousands of calls on tiny matrices: a multithreaded BLAS only adds overhead there
    with single_thread_blas():
        return _fit(st, reml, satterthwaite, n_groups)


def _fit(st: BlockStats, reml: bool, satterthwaite: bool, n_groups: int) -> LmmFit:
    n, p = st.n, st.p
    opt: OptimResult = optimise(st, reml)
    res = opt.pls
    sigma = res.sigma(n, reml)
    vcov = sigma**2 * res.unscaled_vcov()
    T = res.T
    cov_re = sigma**2 * (T @ T.T)
    df = np.full(p, np.nan)
    df_messages: list[str] = []
    if satterthwaite:
        df, df_messages = satterthwaite_df(st, reml, opt.theta, sigma, vcov)
    return LmmFit(beta=res.beta, vcov=vcov, df=df, theta=opt.theta, sigma=sigma,
                  cov_re=cov_re, criterion=opt.criterion, loglik=-opt.criterion / 2,
                  reml=reml, singular=opt.singular, converged=opt.converged, n_obs=n,
                  n_groups=n_groups, messages=list(opt.messages), df_messages=df_messages)

