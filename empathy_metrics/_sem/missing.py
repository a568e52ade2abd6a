"""Missing data for full-information ML: patterns and the saturated (H1) model by EM.

The casewise normal log-likelihood (Arbuckle 1996; lavaan ``missing = "ml"``) of a row with
observed variables :math:`o` is

.. math:: \\ell_i = -\\tfrac12\\left[p_o\\log 2\\pi + \\log|\\Sigma_{oo}|
          + (y_{io}-\\mu_o)'\\Sigma_{oo}^{-1}(y_{io}-\\mu_o)\\right].

Rows with the same pattern share :math:`\\Sigma_{oo}^{-1}`, so a pattern contributes
:math:`-\\tfrac{n_k}2[p_o\\log2\\pi + \\log|\\Sigma_{oo}| + \\mathrm{tr}(S_k\\Sigma_{oo}^{-1})
+ (\\bar y_k-\\mu_o)'\\Sigma_{oo}^{-1}(\\bar y_k-\\mu_o)]` with the pattern's mean
:math:`\\bar y_k` and covariance :math:`S_k` (divided by :math:`n_k`).

The saturated model (free :math:`\\mu`, :math:`\\Sigma`) is fitted by the EM algorithm
(Dempster, Laird & Rubin 1977; Little & Rubin 2002, section 11.2), as lavaan's
``lav_mvnorm_missing_h1_estimate_moments``; the chi-square of a model is
:math:`2(\\ell_{H1} - \\ell_{H0})`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
from scipy import sparse

from ..errors import DegenerateDataError
from .samples import Block

__all__ = ["pattern_blocks", "em_moments", "block_loglik"]


def pattern_blocks(values: np.ndarray) -> list[Block]:
    """Rows grouped by their pattern of observed columns (largest pattern first)."""
    observed = ~np.isnan(values)
    keys, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    blocks = []
    for k, key in enumerate(keys):
        obs = np.flatnonzero(key)
        rows = values[inverse == k][:, obs]
        mean = rows.mean(axis=0)
        c = rows - mean
        cov = c.T @ c / rows.shape[0]
        blocks.append(Block(None if len(obs) == values.shape[1] else obs, rows.shape[0], mean,
                            (cov + cov.T) / 2.0, rows))
    blocks.sort(key=lambda b: -b.n)
    return blocks


def block_loglik(blocks: list[Block], mean: np.ndarray, cov: np.ndarray) -> float:
    """Casewise normal log-likelihood of every block at ``mean``, ``cov``."""
    ll = 0.0
    for b in blocks:
        o = slice(None) if b.obs is None else b.obs
        s = cov[np.ix_(o, o)] if b.obs is not None else cov
        d = b.mean - mean[o]
        sign, logdet = np.linalg.slogdet(s)
        if sign <= 0:
            return -math.inf
        sinv = np.linalg.inv(s)
        po = len(d)
        ll += -b.n / 2.0 * (po * math.log(2 * math.pi) + logdet + float(np.sum(b.cov * sinv))
                            + float(d @ sinv @ d))
    return ll


def _duplication(p: int) -> sparse.csr_matrix:
    """The duplication matrix :math:`D` (``p^2 x p(p+1)/2``): :math:`\\mathrm{vec}\\,\\Sigma
    = D\\,\\mathrm{vech}\\,\\Sigma` (Magnus & Neudecker 1999)."""
    r, c = np.tril_indices(p)
    k = np.arange(len(r))
    rows = np.concatenate([r * p + c, (c * p + r)[r != c]])
    cols = np.concatenate([k, k[r != c]])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(p * p, len(r)))


def _newton_step(blocks: list[Block], mean: np.ndarray, cov: np.ndarray, ll: float
                 ) -> tuple[np.ndarray, np.ndarray, float] | None:
    """One Newton step on the saturated log-likelihood in :math:`(\\mu,
    \\mathrm{vech}\\,\\Sigma)` with the analytic Hessian of :mod:`.hessian` (a Fisher-scoring
    step on the expected information when the Hessian is not positive definite; step halved
    until the log-likelihood increases); ``None`` when no step increases it."""
    from .hessian import _moment_terms

    p = len(mean)
    dup = _duplication(p)
    step = None
    for expected in (False, True):
        a, b, h_ss, h_ms, h_mm = _moment_terms(blocks, cov, mean, True, expected=expected)
        grad = np.concatenate([b, dup.T @ a.reshape(-1)])
        cross = np.asarray(dup.T @ h_ms.T).T  # p x p*
        h_vv = np.asarray(dup.T @ np.asarray(dup.T @ h_ss).T)
        hess = np.block([[h_mm, cross], [cross.T, (h_vv + h_vv.T) / 2.0]])
        try:
            step = scipy.linalg.cho_solve(scipy.linalg.cho_factor(hess), grad)
            break
        except np.linalg.LinAlgError:
            continue  # not positive definite (far from the optimum): Fisher scoring
    if step is None:
        return None
    r, c = np.tril_indices(p)
    t = 1.0
    while t > 1e-4:
        new_mean = mean + t * step[:p]
        new_cov = cov.copy()
        new_cov[r, c] += t * step[p:]
        new_cov[c, r] = new_cov[r, c]
        new_ll = block_loglik(blocks, new_mean, new_cov)
        if math.isfinite(new_ll) and new_ll >= ll:
            return new_mean, new_cov, new_ll
        t /= 2.0
    return None


def _em_step(blocks: list[Block], mean: np.ndarray, cov: np.ndarray, p: int, n: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """One EM iteration: expected complete-data sums given each block's observed values
    (conditional means by regression on the observed items, plus the conditional covariance
    for the missing ones)."""
    t1 = np.zeros(p)
    t2 = np.zeros((p, p))
    for b in blocks:
        if b.obs is None:
            t1 += b.data.sum(axis=0)
            t2 += b.data.T @ b.data
            continue
        o = b.obs
        m = np.setdiff1d(np.arange(p), o)
        s_oo = cov[np.ix_(o, o)]
        s_mo = cov[np.ix_(m, o)]
        coef = np.linalg.solve(s_oo, s_mo.T).T  # Sigma_mo Sigma_oo^-1
        full = np.empty((b.n, p))
        full[:, o] = b.data
        full[:, m] = mean[m] + (b.data - mean[o]) @ coef.T
        t1 += full.sum(axis=0)
        t2 += full.T @ full
        t2[np.ix_(m, m)] += b.n * (cov[np.ix_(m, m)] - coef @ s_mo.T)
    mean = t1 / n
    cov = t2 / n - np.outer(mean, mean)
    return mean, (cov + cov.T) / 2.0


def _nearly_singular(cov: np.ndarray) -> bool:
    """The correlation matrix of ``cov`` has an eigenvalue below 1e-7: the saturated ML
    estimate does not exist (e.g. fewer complete respondents than variables at the last
    occasion) and EM is drifting towards a singular matrix."""
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    return bool(np.linalg.eigvalsh(cov / np.outer(sd, sd))[0] < 1e-7)


#: EM iterations switch to Newton steps once the log-likelihood changes by less than this
#: (relative): EM is slow near the optimum when much is missing, Newton is fast there.
NEWTON_BELOW = 1e-3


def em_moments(blocks: list[Block], p: int, n: int, *, max_iter: int = 10000,
               tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray, float]:
    """ML mean vector and covariance matrix under missing data (:func:`_em_moments`), with
    BLAS limited to one thread (the matrices are small)."""
    from .estimate import _blas_single_thread

    with _blas_single_thread():
        return _em_moments(blocks, p, n, max_iter=max_iter, tol=tol)


def _em_moments(blocks: list[Block], p: int, n: int, *, max_iter: int,
                tol: float) -> tuple[np.ndarray, np.ndarray, float]:
    """ML mean vector and covariance matrix under missing data: EM, finished by Newton.

    Starts from the available-case means and variances and iterates EM until the
    log-likelihood changes by less than ``NEWTON_BELOW`` (relative), then takes Newton steps
    on :math:`(\\mu, \\mathrm{vech}\\,\\Sigma)` with the analytic Hessian (quadratic
    convergence where EM converges linearly, at the rate of the fraction of missing
    information); when a Newton step fails EM continues. Stops when the log-likelihood changes
    by less than ``tol`` (relative). The optimum is the same as lavaan's EM
    (``lav_mvnorm_missing_h1_estimate_moments``); only the path differs.

    Returns
    -------
    mean, cov, loglik
    """
    sums = np.zeros(p)
    counts = np.zeros(p)
    for b in blocks:
        o = np.arange(p) if b.obs is None else b.obs
        sums[o] += b.data.sum(axis=0)
        counts[o] += b.n
    mean = sums / counts
    ss = np.zeros(p)
    for b in blocks:
        o = np.arange(p) if b.obs is None else b.obs
        ss[o] += np.sum((b.data - mean[o]) ** 2, axis=0)
    cov = np.diag(ss / counts)
    ll_old = -math.inf
    newton, below, rel = False, NEWTON_BELOW, math.inf
    for _ in range(max_iter):
        step = _newton_step(blocks, mean, cov, ll_old) if newton else None
        if step is None:
            if newton:  # Newton failed here: more EM steps before the next attempt
                below = rel / 10.0
            mean, cov = _em_step(blocks, mean, cov, p, n)
            ll = block_loglik(blocks, mean, cov)
        else:
            mean, cov, ll = step
        if not math.isfinite(ll) or _nearly_singular(cov):
            raise DegenerateDataError(
                "the EM estimate of the covariance matrix under missing data is not positive "
                "definite (or tends to a singular matrix)",
                hint="some items are answered together too rarely, or fewer respondents "
                     "answered everything than there are variables; drop items or occasions")
        change = abs(ll - ll_old)
        rel = change / max(1.0, abs(ll))
        if rel <= tol:
            return mean, cov, ll
        newton = rel <= below
        ll_old = ll
    raise DegenerateDataError(
        f"the EM algorithm for the saturated model did not converge in {max_iter} iterations",
        hint="too much missing data for full-information ML; use listwise deletion")
