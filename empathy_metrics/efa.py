"""Exploratory factor analysis agreeing with R's ``psych::fa`` / ``psych::fa.parallel``.

Public functions
----------------
* :func:`extract_factors` -- unrotated loadings by minimum residual (``fm="minres"``), maximum
  likelihood (``fm="ml"``) or iterated principal axis (``fm="pa"``), as ``psych::fa``.
* :func:`squared_multiple_correlations` -- ``psych::smc``.
* :func:`kmo` -- Kaiser-Meyer-Olkin measure of sampling adequacy (``psych::KMO``).
* :func:`bartlett_sphericity` -- Bartlett's test that R is an identity
  (``psych::cortest.bartlett``).
* :func:`parallel_analysis` -- Horn's parallel analysis (``psych::fa.parallel``), simulated by
  sampling null correlation matrices directly from the Wishart distribution.
* :func:`efa` -- everything above on a response matrix, with rotation
  (:mod:`empathy_metrics.rotation`), returning an :class:`EFAResult`.
"""

from __future__ import annotations

import contextlib
import html
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._progress import progress
from ._results import Result, jsonable
from .errors import DataError, DegenerateDataError, DegenerateDataWarning
from .rotation import ROTATIONS, rotate

__all__ = [
    "BartlettTest",
    "EFAResult",
    "ParallelResult",
    "FactorExtraction",
    "METHODS",
    "bartlett_sphericity",
    "efa",
    "extract_factors",
    "fit_factors",
    "kmo",
    "parallel_analysis",
    "squared_multiple_correlations",
    "variance_accounted",
]

#: Extraction methods accepted by :func:`extract_factors` (psych's ``fm=``).
METHODS = ("minres", "ml", "pa")

_EPS = np.finfo(float).eps
#: psych's bounds on the uniquenesses searched by minres / ml (``optim(lower=.005, upper=1)``).
_PSI_LOWER = 0.005


# --------------------------------------------------------------------------------------------
# correlation-matrix helpers
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def single_thread_blas() -> Iterator[None]:
    """Run BLAS/LAPACK single-threaded inside the block (when ``threadpoolctl`` is installed).

    Factor analysis makes thousands of calls on tiny (p x p) matrices -- eigen-decompositions,
    L-BFGS-B steps -- where a multithreaded OpenBLAS spends more time waking and synchronising
    its threads than computing; on a busy two-core machine that made parallel analysis 10-25x
    slower. Limiting BLAS to one thread for those steps removes the overhead and changes no
    result. Without ``threadpoolctl`` this is a no-op.
    """
    controller = _blas_controller()
    if controller is None or getattr(_BLAS_STATE, "depth", 0) > 0:
        yield  # no threadpoolctl, or already limited by an enclosing block
        return
    _BLAS_STATE.depth = 1
    try:
        with controller.limit(limits=1, user_api="blas"):
            yield
    finally:
        _BLAS_STATE.depth = 0


#: Per-thread nesting flag of :func:`single_thread_blas` (only the outermost block acts).
_BLAS_STATE = threading.local()


@lru_cache(maxsize=1)
def _blas_controller() -> Any:
    """One ``threadpoolctl.ThreadpoolController`` (finding the libraries costs ~1 ms)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional speed-up
        return None
    import scipy.linalg  # noqa: F401 - load SciPy's own BLAS first so it is controlled too

    return ThreadpoolController()


def _as_correlation(corr: Any) -> np.ndarray:
    """Validate a square symmetric finite matrix and rescale it to unit diagonal (``cov2cor``)."""
    r = np.array(corr, dtype=float)
    if r.ndim != 2 or r.shape[0] != r.shape[1]:
        raise DataError(f"a correlation matrix must be square, got shape {r.shape}")
    if r.shape[0] < 2:
        raise DataError("factor analysis needs at least 2 variables")
    if not np.all(np.isfinite(r)):
        raise DegenerateDataError(
            "the correlation matrix contains NaN or infinite values",
            hint="an item is probably constant or has too few answers; drop it and retry",
        )
    if not np.allclose(r, r.T, atol=1e-8):
        raise DataError("the correlation matrix is not symmetric")
    d = np.diag(r)
    if np.any(d <= 0):
        raise DegenerateDataError("the correlation matrix has a zero or negative diagonal entry")
    s = 1.0 / np.sqrt(d)
    r = r * np.outer(s, s)
    return (r + r.T) / 2.0


def _pinv(r: np.ndarray) -> np.ndarray:
    """``psych::Pinv``: SVD pseudo-inverse dropping singular values below sqrt(eps) x largest."""
    return np.linalg.pinv(r, rcond=np.sqrt(_EPS))


def squared_multiple_correlations(corr: np.ndarray) -> np.ndarray:
    """Squared multiple correlation of each variable with all others (``psych::smc``).

    Notes
    -----
    :math:`\\mathrm{smc}_i = 1 - 1 / (R^{-1})_{ii}`, using the pseudo-inverse of ``psych::Pinv``
    so a singular ``R`` does not fail; values are clipped to ``[0, 1]`` as psych does.
    """
    r = _as_correlation(corr)
    smc = 1.0 - 1.0 / np.diag(_pinv(r))
    return np.clip(smc, 0.0, 1.0)


def _top_eigen(m: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenvalues (descending) and their eigenvectors of a symmetric matrix."""
    vals, vecs = np.linalg.eigh(m)
    order = np.argsort(vals)[::-1][:k]
    return vals[order], vecs[:, order]


def _eigenvalues_desc(m: np.ndarray) -> np.ndarray:
    return np.sort(np.linalg.eigvalsh(m))[::-1]


# --------------------------------------------------------------------------------------------
# extraction
# --------------------------------------------------------------------------------------------


def _loadings_from_reduced(r: np.ndarray, psi: np.ndarray, k: int) -> np.ndarray:
    """psych ``FAout.wls``: top-k eigen-decomposition of ``R - diag(psi)``, negative roots -> 0."""
    vals, vecs = _top_eigen(r - np.diag(psi), k)
    return vecs * np.sqrt(np.maximum(vals, 0.0))[None, :]


def _minres_objective(psi: np.ndarray, r: np.ndarray, k: int) -> float:
    """psych ``fit.residuals(fm="minres")``: sum of squared off-diagonal residuals."""
    s = r.copy()
    np.fill_diagonal(s, 1.0 - psi)
    vals, vecs = _top_eigen(s, k)
    vals = np.where(vals < _EPS, 100 * _EPS, vals)
    lam = vecs * np.sqrt(vals)[None, :]
    resid = (s - lam @ lam.T)[np.tril_indices_from(s, -1)]
    return float(np.sum(resid**2))


def _minres_gradient(psi: np.ndarray, r: np.ndarray, k: int) -> np.ndarray:
    """psych ``FAgr.minres``: ``diag(L L') - (1 - psi)`` for L from ``R - diag(psi)``."""
    lam = _loadings_from_reduced(r, psi, k)
    return np.sum(lam**2, axis=1) + psi - np.diag(r)


def _ml_objective(psi: np.ndarray, r: np.ndarray, k: int) -> float:
    """psych ``FAfn`` (= ``stats::factanal``): concentrated ML discrepancy."""
    sc = 1.0 / np.sqrt(psi)
    e = _eigenvalues_desc(r * np.outer(sc, sc))[k:]
    return float(-(np.sum(np.log(e) - e) - k + r.shape[0]))


def _ml_loadings(psi: np.ndarray, r: np.ndarray, k: int) -> np.ndarray:
    """psych ``FAout``: ML loadings for given uniquenesses."""
    sc = 1.0 / np.sqrt(psi)
    vals, vecs = _top_eigen(r * np.outer(sc, sc), k)
    return np.sqrt(psi)[:, None] * vecs * np.sqrt(np.maximum(vals - 1.0, 0.0))[None, :]


def _ml_gradient(psi: np.ndarray, r: np.ndarray, k: int) -> np.ndarray:
    """psych ``FAgr``: gradient of the ML discrepancy in the uniquenesses."""
    lam = _ml_loadings(psi, r, k)
    g = lam @ lam.T + np.diag(psi) - r
    return np.diag(g) / psi**2


def _minres_exact(psi: np.ndarray, r: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """psych's minres objective and its exact gradient in the uniquenesses.

    ``f(ψ) = Σ_{i<j} (s_ij − (A)_ij)²`` with ``S = R``, ``diag(S) = 1 − ψ`` and ``A`` the top-``k``
    spectral part of ``S``. By the Daleckii-Krein formula, with ``S = V diag(w) V'``,
    ``E`` the residual with zero diagonal and ``F_ab = (g(w_a) − g(w_b))/(w_a − w_b)``
    (``g(w) = w`` for the top ``k``, else 0; ``F_aa = g'(w_a)``),
    ``∂f/∂ψ_m = Σ_ab (V'EV ∘ F)_ab V_ma V_mb``.
    """
    p = r.shape[0]
    s = r.copy()
    np.fill_diagonal(s, 1.0 - psi)
    w, v = np.linalg.eigh(s)
    w, v = w[::-1], v[:, ::-1]
    top = np.arange(p) < k
    lam = v[:, :k] * np.sqrt(np.maximum(w[:k], 0.0))[None, :]
    e = s - lam @ lam.T
    np.fill_diagonal(e, 0.0)
    g = np.where(top, w, 0.0)
    dw = w[:, None] - w[None, :]
    same = np.abs(dw) <= 1e-12 * max(1.0, float(np.abs(w).max()))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(same, np.where(top[:, None] & top[None, :], 1.0, 0.0),
                     (g[:, None] - g[None, :]) / np.where(same, 1.0, dw))
    grad = np.einsum("ma,ab,mb->m", v, (v.T @ e @ v) * f, v)
    return float(0.5 * np.sum(e**2)), grad


#: Largest projected gradient of the minres objective accepted as "psych stopped at a
#: stationary point" (see :func:`_optimise_uniquenesses`).
_STATIONARY = 1e-4


def _projected_gradient(psi: np.ndarray, r: np.ndarray, k: int) -> float:
    """Largest KKT violation: |gradient| of free uniquenesses, negative gradient at the bound."""
    _, g = _minres_exact(psi, r, k)
    at_bound = psi <= _PSI_LOWER * (1 + 1e-9)
    return float(np.max(np.abs(np.where(at_bound, np.minimum(g, 0.0), g))))


def _optimise_uniquenesses(r: np.ndarray, k: int, method: str, *, polish: bool = True
                           ) -> tuple[np.ndarray, bool]:
    """Minimise psych's objective over uniquenesses in ``[.005, upper]`` by L-BFGS-B.

    Stage 1 mirrors psych's ``optim(start, fn, gr, method="L-BFGS-B", lower=.005,
    upper=upper, control=list(parscale=rep(.01, p)))``: parameters are scaled by 1/0.01, start
    is ``1 - smc``, ``upper = max(smc, 1)``; R's defaults ``factr=1e7``, ``pgtol=0``, ``lmm=5``
    and ``maxit=100``.

    Stage 2 (minres only) is needed when stage 1 stops far from a stationary point. psych's
    gradient for minres, ``diag(LL') − (1 − ψ)``, is the gradient of the unweighted
    least-squares criterion including the diagonal, not of the objective it minimises; near a
    bound (a Heywood case) the two disagree and the search can stop wherever its path meets
    the stopping rule -- a change of 3e-16 in the matrix then changes the answer (issue 9).
    So if the largest projected exact gradient (:func:`_minres_exact`) at the stage-1 end
    exceeds ``1e-4``, L-BFGS-B continues with the exact gradient to a stationary point
    (Karush-Kuhn-Tucker). psych's ordinary stops are below that (measured 1e-6 to 2e-5 on
    Bechtoldt.1, Harman74, bfi, ability; the solution is then psych's), the path failures
    above it (4e-4 on ``ability`` perturbed by 1e-15, 3e-3 on ``epi.bfi``, 4 factors, where
    the objective improves from psych's .0616435 to .0616126).
    """
    smc = squared_multiple_correlations(r)
    upper = max(float(np.max(smc)), 1.0)
    start = np.diag(r) - smc
    if method == "ml" and np.sum(smc) == k and k > 1:
        start = np.full(r.shape[0], 0.5)
    if method == "minres":
        fun, grad = _minres_objective, _minres_gradient
    else:
        fun, grad = _ml_objective, _ml_gradient
    scale = 0.01
    bounds = [(_PSI_LOWER / scale, upper / scale)] * r.shape[0]
    res = optimize.minimize(
        lambda x: fun(x * scale, r, k),
        start / scale,
        jac=lambda x: grad(x * scale, r, k) * scale,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxcor": 5, "ftol": 1e7 * _EPS, "gtol": 0.0, "maxiter": 100},
    )
    x, ok = np.asarray(res.x), bool(res.success)
    if method == "minres" and polish and _projected_gradient(x * scale, r, k) > _STATIONARY:
        def exact(z: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = _minres_exact(z * scale, r, k)
            return f, g * scale

        polished = optimize.minimize(exact, x, jac=True, method="L-BFGS-B", bounds=bounds,
                                     options={"maxcor": 10, "ftol": 1e-15, "gtol": 1e-10,
                                              "maxiter": 1000})
        if np.all(np.isfinite(polished.x)) and polished.fun <= exact(x)[0]:
            x = np.asarray(polished.x)
    return x * scale, ok


def _principal_axis(
    r: np.ndarray, k: int, *, min_err: float = 0.001, max_iter: int = 50
) -> tuple[np.ndarray, np.ndarray, int]:
    """psych ``fm="pa"``: iterate communalities from the SMCs until their sum changes < min_err.

    Returns (loadings, eigenvalues of the last reduced matrix, iterations).
    """
    p = r.shape[0]
    reduced = r.copy()
    if k <= p:
        np.fill_diagonal(reduced, squared_multiple_correlations(r))
    comm = float(np.trace(reduced))
    err = comm
    i = 1
    lam = np.zeros((p, k))
    vals_all = _eigenvalues_desc(reduced)
    while err > min_err:
        vals, vecs = np.linalg.eigh(reduced)
        order = np.argsort(vals)[::-1]
        vals_all, vecs = vals[order], vecs[:, order]
        if np.any(vals_all[:k] < 0):
            raise DegenerateDataError(
                f"principal axis factoring met a negative eigenvalue with {k} factor(s) "
                "(too many factors for these data)",
                hint="ask for fewer factors or use method='minres'",
            )
        lam = vecs[:, :k] * np.sqrt(vals_all[:k])[None, :]
        new = np.sum(lam**2, axis=1)
        comm1 = float(new.sum())
        np.fill_diagonal(reduced, new)
        err = abs(comm - comm1)
        comm = comm1
        i += 1
        if i > max_iter:
            warnings.warn(
                f"principal axis factoring: maximum of {max_iter} iterations reached before the "
                "communalities converged",
                DegenerateDataWarning,
                stacklevel=3,
            )
            break
    return lam, vals_all, i - 1


@dataclass
class FactorExtraction:
    """An unrotated factor solution (the internals of :func:`extract_factors`).

    Attributes
    ----------
    loadings
        Unrotated loadings, p x k, columns reflected to positive sums (psych convention).
    uniquenesses
        ``1 - communalities`` (``diag(R - L L')``, psych's ``uniquenesses``).
    communalities
        ``diag(L L')`` (psych's ``communality``).
    values
        Eigenvalues of ``R`` with its diagonal replaced by the communalities (psych's
        ``values``; for ``pa`` the last reduced matrix) -- the "fa" eigenvalues of parallel
        analysis.
    converged
        Whether the optimiser (minres/ml) or the iteration (pa) converged.
    heywood
        Indices of items whose uniqueness hit the lower bound .005 or whose communality
        exceeds 1.
    """

    loadings: np.ndarray
    uniquenesses: np.ndarray
    communalities: np.ndarray
    values: np.ndarray
    method: str
    converged: bool = True
    heywood: list[int] = field(default_factory=list)


def fit_factors(
    corr: np.ndarray, n_factors: int, method: str = "minres", *, warn: bool = True,
    polish: bool = True,
) -> FactorExtraction:
    """Unrotated common-factor solution with everything psych reports about it.

    See :func:`extract_factors` for the algorithms; this returns a :class:`FactorExtraction`
    (loadings, uniquenesses, communalities, ``values``, convergence, Heywood items). BLAS runs
    single-threaded during the fit (see :func:`single_thread_blas`). ``polish=False`` stops
    minres where psych's ``optim`` stops (no stage 2 of :func:`_optimise_uniquenesses`), as
    parallel analysis does to reproduce ``psych::fa.parallel``.
    """
    with single_thread_blas():
        return _fit_factors(corr, n_factors, method, warn=warn, polish=polish)


def _fit_factors(corr: np.ndarray, n_factors: int, method: str, *, warn: bool,
                 polish: bool = True) -> FactorExtraction:
    r = _as_correlation(corr)
    p = r.shape[0]
    method = str(method).lower()
    if method == "mle":
        method = "ml"
    if method not in METHODS:
        raise DataError(f"unknown extraction method {method!r}; choose one of {', '.join(METHODS)}")
    k = int(n_factors)
    if k < 1 or k >= p:
        raise DataError(
            f"n_factors must be between 1 and {p - 1} for {p} variables, got {n_factors}"
        )
    converged = True
    if method == "pa":
        lam, values, _ = _principal_axis(r, k)
    else:
        if method == "ml" and np.min(np.linalg.eigvalsh(r)) <= 1e-10:
            raise DegenerateDataError(
                "maximum likelihood factoring needs a positive definite correlation matrix",
                hint="drop redundant items or use method='minres'",
            )
        psi, converged = _optimise_uniquenesses(r, k, method, polish=polish)
        if method == "minres":
            lam = _loadings_from_reduced(r, psi, k)
        else:
            lam = _ml_loadings(psi, r, k)
        values = None
    signs = np.sign(lam.sum(axis=0))
    signs[signs == 0] = 1.0
    lam = lam * signs[None, :]
    lam[lam == 0] = 1e-15  # as psych: keeps rotations away from exact zeros
    comm = np.sum(lam**2, axis=1)
    if values is None:
        reduced = r.copy()
        np.fill_diagonal(reduced, comm)
        values = _eigenvalues_desc(reduced)
    uniq = np.diag(r) - comm
    heywood = [int(i) for i in np.flatnonzero((comm > 1.0) | (uniq <= _PSI_LOWER + 1e-6))]
    if warn and heywood:
        warnings.warn(
            f"Heywood case: {len(heywood)} item(s) (positions {heywood}) have a communality at or "
            "above 1 (uniqueness at its bound); the solution is improper -- try fewer factors",
            DegenerateDataWarning,
            stacklevel=4,
        )
    if warn and not converged:
        warnings.warn(
            f"{method} factor extraction did not converge", DegenerateDataWarning, stacklevel=4
        )
    return FactorExtraction(
        loadings=lam,
        uniquenesses=uniq,
        communalities=comm,
        values=values,
        method=method,
        converged=converged,
        heywood=heywood,
    )


def extract_factors(
    corr: np.ndarray, n_factors: int, method: str = "minres", n_obs: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Unrotated common factors of a correlation matrix, as ``psych::fa(r, k, rotate="none")``.

    Parameters
    ----------
    corr
        Correlation (or covariance, rescaled to correlations) matrix, p x p.
    n_factors
        Number of factors ``k`` (1 <= k < p).
    method
        ``"minres"`` (psych's default), ``"ml"`` or ``"pa"``.
    n_obs
        Number of observations behind ``corr``; only checked (a warning when ``n_obs <= p``,
        where the matrix cannot be positive definite). Extraction itself does not use it.

    Returns
    -------
    loadings : ndarray, p x k
        Unrotated loadings, each column reflected so its sum is positive (psych convention).
    uniquenesses : ndarray, p
        ``1 - h2`` with ``h2 = diag(L L')``.

    Notes
    -----
    *minres* (Harman & Jones 1966; psych ``fm="minres"``) minimises the sum of squared
    off-diagonal residuals :math:`\\sum_{i<j} (r_{ij} - (LL')_{ij})^2` over the uniquenesses
    :math:`\\psi`, where ``L`` holds the top ``k`` eigenvectors of ``R - diag(psi)`` scaled by the
    square roots of their eigenvalues. As psych, L-BFGS-B with psych's gradient
    ``diag(LL') - (1 - psi)``, start ``1 - smc``, bounds ``[.005, 1]``.

    *ml* (Jöreskog 1967; psych ``fm="ml"``, the same as ``stats::factanal``) minimises
    :math:`-\\sum_{j>k} (\\log e_j - e_j) - k + p` over ``psi``, with ``e`` the eigenvalues of
    :math:`\\Psi^{-1/2} R \\Psi^{-1/2}`; loadings :math:`\\Psi^{1/2} V_k (E_k - I)^{1/2}`.

    *pa* (psych ``fm="pa"``) starts from the squared multiple correlations on the diagonal and
    repeats "eigen-decompose the reduced matrix, put ``diag(LL')`` on its diagonal" until the sum of
    communalities changes by less than 0.001 (at most 50 iterations) -- psych's stopping rule,
    kept so results agree with psych rather than with a fully converged solution.

    Degenerate input: a Heywood case (an uniqueness at its bound .005, or a communality above 1)
    gives a :class:`~empathy_metrics.errors.DegenerateDataWarning`; a negative eigenvalue in
    principal axis factoring or a singular matrix for ML gives a
    :class:`~empathy_metrics.errors.DegenerateDataError`.

    References
    ----------
    Revelle, W. psych: ``fa`` (psych 2.2.9). Harman, H. H., & Jones, W. H. (1966). Factor analysis
    by minimizing residuals (minres). Psychometrika, 31, 351-368. Jöreskog, K. G. (1967).
    Psychometrika, 32, 443-482.
    """
    r = _as_correlation(corr)
    if n_obs is not None and int(n_obs) <= r.shape[0]:
        warnings.warn(
            f"only {n_obs} observations for {r.shape[0]} variables: the correlation matrix is "
            "singular and the factor solution is unreliable",
            DegenerateDataWarning,
            stacklevel=2,
        )
    fit = fit_factors(r, n_factors, method)
    return fit.loadings, fit.uniquenesses


# --------------------------------------------------------------------------------------------
# sampling adequacy and sphericity
# --------------------------------------------------------------------------------------------


def _check_invertible(r: np.ndarray, what: str) -> None:
    vals = np.linalg.eigvalsh(r)
    if vals[0] <= 1e-10 * max(1.0, vals[-1]):
        raise DegenerateDataError(
            f"{what} needs an invertible correlation matrix, but it is singular (smallest "
            f"eigenvalue {vals[0]:.3g})",
            hint="some items are perfectly collinear or there are fewer respondents than items",
        )


def kmo(corr: np.ndarray) -> tuple[float, np.ndarray]:
    """Kaiser-Meyer-Olkin measure of sampling adequacy, overall and per item (``psych::KMO``).

    Notes
    -----
    With :math:`q_{ij}` the anti-image (partial) correlations from :math:`R^{-1}` rescaled to unit
    diagonal, and sums over :math:`i \\ne j`,

    .. math:: \\mathrm{MSA} = \\frac{\\sum r_{ij}^2}{\\sum r_{ij}^2 + \\sum q_{ij}^2}, \\qquad
              \\mathrm{MSA}_j = \\frac{\\sum_i r_{ij}^2}{\\sum_i r_{ij}^2 + \\sum_i q_{ij}^2}.

    Kaiser (1974) calls values below .5 unacceptable. A singular ``R`` raises
    :class:`~empathy_metrics.errors.DegenerateDataError` (psych falls back to ``R`` itself).

    References
    ----------
    Kaiser, H. F. (1970). A second generation little jiffy. Psychometrika, 35, 401-415.
    Kaiser, H. F., & Rice, J. (1974). Little jiffy, mark IV. Educ. Psychol. Meas., 34, 111-117.
    """
    r = _as_correlation(corr)
    _check_invertible(r, "KMO")
    q = np.linalg.inv(r)
    d = 1.0 / np.sqrt(np.diag(q))
    q = q * np.outer(d, d)
    np.fill_diagonal(q, 0.0)
    r0 = r.copy()
    np.fill_diagonal(r0, 0.0)
    r2, q2 = r0**2, q**2
    overall = float(r2.sum() / (r2.sum() + q2.sum()))
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    return overall, per_item


@dataclass
class BartlettTest:
    """Bartlett's test of sphericity: ``chi2``, ``df``, ``p``."""

    chi2: float
    df: int
    p: float

    def to_dict(self) -> dict[str, Any]:
        return {"chi2": self.chi2, "df": self.df, "p": self.p}


def bartlett_sphericity(corr: np.ndarray, n_obs: int) -> BartlettTest:
    """Bartlett's test that the population correlation matrix is the identity.

    Agrees with ``psych::cortest.bartlett(R, n)``.

    Notes
    -----
    .. math:: \\chi^2 = -\\left(n - 1 - \\frac{2p + 5}{6}\\right) \\ln |R|, \\qquad
              df = \\frac{p(p-1)}{2}

    Assumes multivariate normal data; with large ``n`` it rejects for trivially small
    correlations, so read it together with the KMO.

    References
    ----------
    Bartlett, M. S. (1951). The effect of standardization on a chi square approximation in factor
    analysis. Biometrika, 38, 337-344.
    """
    r = _as_correlation(corr)
    p = r.shape[0]
    _check_invertible(r, "Bartlett's test")
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise DegenerateDataError(
            "Bartlett's test: the correlation matrix is not positive definite"
        )
    chi2 = float(-logdet * (n_obs - 1 - (2 * p + 5) / 6))
    df = p * (p - 1) // 2
    return BartlettTest(chi2=chi2, df=df, p=float(stats.chi2.sf(chi2, df)))


# --------------------------------------------------------------------------------------------
# parallel analysis
# --------------------------------------------------------------------------------------------


def _null_correlations(
    rng: np.random.Generator, n_obs: int, p: int, n_iter: int
) -> np.ndarray:
    """``n_iter`` correlation matrices of ``n_obs`` independent standard normal observations.

    The centred cross-product matrix of ``n`` normal observations is Wishart(n - 1, I); it is
    sampled by the Bartlett decomposition ``W = T T'`` (``T`` lower triangular,
    ``T_ii ~ sqrt(chi2(n - i))`` for ``i = 1..p`` -- here ``n - 1 - (i - 1)`` degrees of freedom --
    and ``T_ij ~ N(0, 1)`` below the diagonal), then rescaled to a correlation matrix. This has the
    same distribution as ``cor(matrix(rnorm(n * p), n))`` without generating the data.
    """
    t = np.zeros((n_iter, p, p))
    low = np.tril_indices(p, -1)
    t[:, low[0], low[1]] = rng.standard_normal((n_iter, low[0].size))
    idx = np.arange(p)
    t[:, idx, idx] = np.sqrt(rng.chisquare(n_obs - 1 - idx, size=(n_iter, p)))
    w = t @ np.swapaxes(t, 1, 2)
    d = 1.0 / np.sqrt(np.einsum("mii->mi", w))
    c = w * d[:, :, None] * d[:, None, :]
    c[:, idx, idx] = 1.0
    return c


def _lbfgsb_direct(
    fun_grad: Any, x0: np.ndarray, lower: float, upper: float, maxiter: int
) -> np.ndarray:
    """Drive SciPy's L-BFGS-B routine ``scipy.optimize._lbfgsb.setulb`` (reverse communication)."""
    from scipy.optimize import _lbfgsb

    n = x0.size
    m = 5
    x = np.array(x0, dtype=np.float64)
    low = np.full(n, lower)
    up = np.full(n, upper)
    nbd = np.full(n, 2, dtype=np.int32)
    f: Any = np.array(0.0)
    g = np.zeros(n)
    wa = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m)
    iwa = np.zeros(3 * n, dtype=np.int32)
    task = np.zeros(2, dtype=np.int32)
    ln_task = np.zeros(2, dtype=np.int32)
    lsave = np.zeros(4, dtype=np.int32)
    isave = np.zeros(44, dtype=np.int32)
    dsave = np.zeros(29)
    n_iter = 0
    for _ in range(50 * (maxiter + 1)):  # hard cap: never loop forever
        _lbfgsb.setulb(m, x, low, up, nbd, f, g, 1e7, 0.0, wa, iwa, task, lsave, isave,
                       dsave, 20, ln_task)
        if task[0] == 3:
            f, g = fun_grad(x)
            g = np.asarray(g, dtype=np.float64)
        elif task[0] == 1:
            n_iter += 1
            if n_iter >= maxiter:
                break
        else:
            break
    return x


def _lbfgsb_minimize(
    fun_grad: Any, x0: np.ndarray, lower: float, upper: float, maxiter: int
) -> np.ndarray:
    res = optimize.minimize(
        fun_grad, x0, jac=True, method="L-BFGS-B", bounds=[(lower, upper)] * x0.size,
        options={"maxcor": 5, "ftol": 1e7 * _EPS, "gtol": 0.0, "maxiter": maxiter},
    )
    return np.asarray(res.x)


@lru_cache(maxsize=1)
def _direct_lbfgsb_works() -> bool:
    """Check once that the direct driver reproduces ``optimize.minimize`` on a small problem."""

    def quad(x: np.ndarray) -> tuple[float, np.ndarray]:
        target = np.array([0.2, 3.0, -1.0, 0.7])
        w = np.array([1.0, 2.0, 0.5, 3.0])
        return float(np.sum(w * (x - target) ** 2 + 0.1 * x**4)), 2 * w * (x - target) + 0.4 * x**3

    x0 = np.array([0.5, 0.5, 0.5, 0.5])
    try:
        direct = _lbfgsb_direct(quad, x0, 0.0, 2.0, 100)
    except Exception:  # noqa: BLE001 - any failure of the private interface means "do not use"
        return False
    return bool(np.allclose(direct, _lbfgsb_minimize(quad, x0, 0.0, 2.0, 100), atol=1e-10))


def _lbfgsb_box(
    fun_grad: Any, x0: np.ndarray, lower: float, upper: float, *, maxiter: int = 100
) -> np.ndarray:
    """L-BFGS-B with R's ``optim`` defaults (m = 5, factr = 1e7, pgtol = 0) on a box.

    Drives SciPy's L-BFGS-B routine (``scipy.optimize._lbfgsb.setulb``, the code
    ``optimize.minimize`` uses) directly, which avoids ~1 ms of wrapper overhead per call -- it
    matters when parallel analysis runs thousands of small fits. Whether that internal interface
    behaves as expected is checked once against ``optimize.minimize``; if not, the public (same
    algorithm, slower) route is used.
    """
    if _direct_lbfgsb_works():
        x = _lbfgsb_direct(fun_grad, x0, lower, upper, maxiter)
        if np.all(np.isfinite(x)):
            return x
    return _lbfgsb_minimize(fun_grad, x0, lower, upper, maxiter)


def _one_factor_minres_communalities(r: np.ndarray, smc: np.ndarray) -> np.ndarray:
    """Communalities of a one-factor minres solution, the same optimisation as psych.

    A lean version of :func:`fit_factors` for ``k = 1`` (thousands of calls in parallel
    analysis): the objective and psych's gradient come from the top eigenpair only (LAPACK
    ``dsyevr``), and the sum of squared off-diagonal residuals is computed in closed form:
    ``||S - l l'||^2 = ||S||^2 - 2 lam' lam + lam'^2`` where ``lam'`` is the eigenvalue floored at
    ``100 eps`` as in psych. The L-BFGS-B settings are those of :func:`_optimise_uniquenesses`.
    """
    from scipy.linalg import lapack

    p = r.shape[0]
    idx = np.arange(p)
    s = r.copy()
    off = float(np.sum(r**2) - np.sum(np.diag(r) ** 2))
    scale = 0.01

    def top(psi: np.ndarray) -> tuple[float, np.ndarray]:
        s[idx, idx] = 1.0 - psi
        w, z, _, _, _ = lapack.dsyevr(s, range="I", il=p, iu=p)
        return float(w[0]), z[:, 0]

    def fun_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        psi = x * scale
        lam, v = top(psi)
        lamf = lam if lam >= _EPS else 100 * _EPS
        diag_s = 1.0 - psi
        full = off + float(diag_s @ diag_s) - 2 * lamf * lam + lamf**2
        diag_res = diag_s - lamf * v**2
        f = (full - float(diag_res @ diag_res)) / 2.0
        g = (v**2 * max(lam, 0.0) + psi - 1.0) * scale
        return f, g

    x0 = np.clip((1.0 - smc) / scale, _PSI_LOWER / scale, 1.0 / scale)
    x = _lbfgsb_box(fun_grad, x0, _PSI_LOWER / scale, 1.0 / scale)
    lam, v = top(x * scale)
    return v**2 * max(lam, 0.0)


@dataclass
class ParallelResult:
    """Horn's parallel analysis, as ``psych::fa.parallel``.

    Attributes
    ----------
    observed_pc
        Eigenvalues of the observed correlation matrix (principal components).
    observed_fa
        Eigenvalues of the observed matrix with communalities from a one-factor minres solution on
        the diagonal (psych's ``fa.values``).
    simulated_pc, simulated_fa
        95th percentiles (``quantile``) over the simulated null data sets of the same eigenvalues.
    mean_pc, mean_fa
        Means over the simulated data sets (psych's ``pc.sim`` / ``fa.sim``).
    n_factors, n_components
        Number of leading observed eigenvalues above the simulated percentile (psych's
        ``nfact`` / ``ncomp``).
    n_iter, quantile, n_obs
        Simulation settings.
    samples_pc, samples_fa
        All simulated eigenvalues, ``n_iter`` x p (for plots and Monte Carlo error).
    """

    observed_pc: np.ndarray
    observed_fa: np.ndarray
    simulated_pc: np.ndarray
    simulated_fa: np.ndarray
    mean_pc: np.ndarray
    mean_fa: np.ndarray
    n_factors: int
    n_components: int
    n_iter: int
    quantile: float
    n_obs: int
    samples_pc: np.ndarray = field(repr=False, default_factory=lambda: np.empty((0, 0)))
    samples_fa: np.ndarray = field(repr=False, default_factory=lambda: np.empty((0, 0)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_factors": self.n_factors,
            "n_components": self.n_components,
            "observed_pc": self.observed_pc,
            "observed_fa": self.observed_fa,
            "simulated_pc": self.simulated_pc,
            "simulated_fa": self.simulated_fa,
            "n_iter": self.n_iter,
            "quantile": self.quantile,
        }


def _leading_count(observed: np.ndarray, threshold: np.ndarray) -> int:
    """psych: ``which(!(observed > threshold))[1] - 1`` (all above -> all of them)."""
    below = np.flatnonzero(~(observed > threshold))
    return int(below[0]) if below.size else int(observed.size)


def parallel_analysis(
    corr: np.ndarray,
    n_obs: int,
    *,
    n_iter: int = 1000,
    quantile: float = 0.95,
    seed: int | np.random.Generator | None = None,
) -> ParallelResult:
    """Horn's parallel analysis for components and common factors (``psych::fa.parallel``).

    Parameters
    ----------
    corr
        Observed correlation matrix (Pearson or polychoric), p x p.
    n_obs
        Number of respondents behind ``corr``.
    n_iter
        Number of simulated null data sets.
    quantile
        Percentile of the simulated eigenvalues the observed ones must exceed (psych ``quant``).
    seed
        Seed or generator for reproducible simulations.

    Returns
    -------
    ParallelResult

    Notes
    -----
    *Components*: the eigenvalues of ``R`` are compared with the ``quantile`` of the eigenvalues
    of correlation matrices of ``n_obs`` x ``p`` independent normal data. *Factors*: the
    eigenvalues of ``R`` with the communalities of a one-factor minres solution on its diagonal
    are compared with the same quantity for the simulated matrices (psych's default
    ``fm="minres"``, ``SMC=FALSE``; used whatever extraction method the final EFA uses). The
    suggested number is the count of leading eigenvalues above the simulated quantile, exactly as
    psych's ``nfact``/``ncomp`` (which psych computes from ``quant = .95``, not from the means it
    plots).

    Differences from psych: the null correlation matrices are drawn directly from their
    distribution (Bartlett decomposition of a Wishart(n - 1, I) matrix) instead of generating
    ``n x p`` normal data, and psych's extra resampling of the observed data (which does not enter
    its ``nfact``/``ncomp`` when data are given) is not done. With polychoric correlations psych
    also simulates normal data with Pearson correlations, as here.

    Speed: the simulated matrices cost O(n_iter p^3), independent of ``n_obs``; each one-factor
    fit reuses psych's L-BFGS-B optimisation with only the top eigenpair. 1000 simulations for
    10,000 respondents x 20 items take about 0.4 s, against about 24 s for
    ``psych::fa.parallel(x, n.iter = 1000)`` on the same two-core machine.

    References
    ----------
    Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
    Psychometrika, 30, 179-185. Revelle, W. psych::fa.parallel.
    """
    r = _as_correlation(corr)
    p = r.shape[0]
    n_obs = int(n_obs)
    if n_obs <= p:
        raise DegenerateDataError(
            f"parallel analysis needs more respondents than items ({n_obs} for {p} items)"
        )
    if int(n_iter) < 1:
        raise DataError(f"n_iter must be at least 1, got {n_iter}")
    if not 0 < quantile < 1:
        raise DataError(f"quantile must be between 0 and 1, got {quantile}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    with single_thread_blas():
        return _parallel_analysis(r, n_obs, int(n_iter), float(quantile), rng)


def _parallel_analysis(
    r: np.ndarray, n_obs: int, n_iter: int, quantile: float, rng: np.random.Generator
) -> ParallelResult:
    p = r.shape[0]
    observed_pc = _eigenvalues_desc(r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        observed_fa = fit_factors(r, 1, "minres", warn=False, polish=False).values
    sims = _null_correlations(rng, n_obs, p, int(n_iter))
    sim_pc = np.sort(np.linalg.eigvalsh(sims), axis=1)[:, ::-1]
    smc = np.clip(1.0 - 1.0 / np.einsum("mii->mi", np.linalg.inv(sims)), 0.0, 1.0)
    idx = np.arange(p)
    reduced = sims.copy()
    m = sims.shape[0]
    step = max(1, m // 50)
    # a bar on a terminal only, and only when the run is long enough to need one
    show = None if m >= 200 else False
    with progress(m, "Parallel analysis", enabled=show) as bar:
        for j in range(m):
            reduced[j, idx, idx] = _one_factor_minres_communalities(sims[j], smc[j])
            if (j + 1) % step == 0 or j + 1 == m:
                bar.update(step if (j + 1) % step == 0 else (j + 1) % step)
    sim_fa = np.sort(np.linalg.eigvalsh(reduced), axis=1)[:, ::-1]
    q_pc = np.quantile(sim_pc, quantile, axis=0)
    q_fa = np.quantile(sim_fa, quantile, axis=0)
    return ParallelResult(
        observed_pc=observed_pc,
        observed_fa=observed_fa,
        simulated_pc=q_pc,
        simulated_fa=q_fa,
        mean_pc=sim_pc.mean(axis=0),
        mean_fa=sim_fa.mean(axis=0),
        n_factors=_leading_count(observed_fa, q_fa),
        n_components=_leading_count(observed_pc, q_pc),
        n_iter=int(n_iter),
        quantile=float(quantile),
        n_obs=n_obs,
        samples_pc=sim_pc,
        samples_fa=sim_fa,
    )


# --------------------------------------------------------------------------------------------
# the EFA result and the one-call API
# --------------------------------------------------------------------------------------------

#: Loadings with a smaller absolute value are blanked in ``summary()`` (display only).
DISPLAY_CUTOFF = 0.3


@dataclass
class EFAResult(Result):
    """An exploratory factor analysis (see :func:`efa`).

    Attributes
    ----------
    n
        Respondents used (complete cases).
    notes
        Plain-words notes (e.g. out-of-range codes set to missing before the analysis).
    items
        Item ids, in the order of the rows of ``loadings``.
    kmo, kmo_items
        Kaiser-Meyer-Olkin MSA, overall and per item (Series).
    bartlett
        Bartlett's test of sphericity.
    eigenvalues
        Eigenvalues of the correlation matrix, descending.
    parallel
        Horn's parallel analysis.
    n_factors
        Factors extracted (given, or chosen by the parallel analysis factor criterion).
    method, rotation, correlation
        Extraction method, rotation and correlation type.
    loadings
        Rotated pattern loadings, items x factors (DataFrame; factors ``F1..Fk`` ordered by
        variance accounted for, columns reflected to positive sums as psych).
    communalities, uniquenesses
        ``h2`` and ``u2 = 1 - h2`` per item (Series).
    factor_correlations
        Factor correlation matrix Phi (DataFrame; identity for orthogonal rotations).
    variance
        psych's ``Vaccounted``: rows ``SS loadings``, ``Proportion Var``, ``Cumulative Var``,
        ``Proportion Explained``, ``Cumulative Proportion``; columns = factors.
    unrotated_loadings, rotation_matrix
        The extraction before rotation and ``T`` with ``loadings = unrotated @ T``.
    correlation_matrix
        The correlation matrix analysed (DataFrame).
    heywood
        Items of a Heywood case (communality at or above 1, or uniqueness at its lower bound
        .005): the solution is improper. Empty for a proper solution. Also a line of
        ``summary()`` and a :class:`~empathy_metrics.errors.DegenerateDataWarning`.
    missing
        ``"listwise"`` (complete cases) or ``"pairwise"`` (psych's default ``use="pairwise"``).
    """

    n: int
    items: list[str]
    kmo: float
    kmo_items: pd.Series
    bartlett: BartlettTest
    eigenvalues: np.ndarray
    parallel: ParallelResult
    n_factors: int
    method: str
    rotation: str
    correlation: str
    loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    factor_correlations: pd.DataFrame
    variance: pd.DataFrame
    unrotated_loadings: np.ndarray
    rotation_matrix: np.ndarray
    correlation_matrix: pd.DataFrame
    heywood: list[str] = field(default_factory=list)
    missing: str = "listwise"
    notes: list[str] = field(default_factory=list)

    title = "Exploratory factor analysis"

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (see the module docs of ``empathy efa --format json``)."""
        return jsonable(
            {
                "n": int(self.n),
                "kmo": self.kmo,
                "kmo_items": {k: float(v) for k, v in self.kmo_items.items()},
                "bartlett": self.bartlett.to_dict(),
                "eigenvalues": list(self.eigenvalues),
                "parallel": self.parallel.to_dict(),
                "n_factors": int(self.n_factors),
                "method": self.method,
                "rotation": self.rotation,
                "loadings": {
                    item: [float(v) for v in row]
                    for item, row in zip(self.loadings.index, self.loadings.to_numpy(), strict=True)
                },
                "communalities": {k: float(v) for k, v in self.communalities.items()},
                "factor_correlations": self.factor_correlations.to_numpy().tolist(),
                "heywood": list(self.heywood),
                "missing": self.missing,
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Loadings with ``h2`` (communality) and ``u2`` (uniqueness) columns, full precision."""
        frame = self.loadings.copy()
        frame["h2"] = self.communalities
        frame["u2"] = self.uniquenesses
        return frame

    def _header_lines(self) -> list[str]:
        b = self.bartlett
        par = self.parallel
        heywood = [
            f"HEYWOOD CASE: {', '.join(self.heywood)} at communality >= 1 (uniqueness at its "
            "bound .005); the solution is improper -- try fewer factors or another method"
        ] if self.heywood else []
        rows = ("complete cases (listwise; psych::fa, KMO and cortest.bartlett use pairwise "
                "correlations: missing='pairwise')" if self.missing == "listwise" else
                "pairwise correlations, n = all respondents (as psych)")
        return heywood + [
            f"n = {self.n}, {len(self.items)} items, {self.correlation} correlations; "
            f"{self.n_factors} factor(s), {self.method} extraction, {self.rotation} rotation",
            f"Rows: {rows}",
            f"KMO = {self.kmo:.3f}; Bartlett chi2({b.df}) = {b.chi2:.2f}, p = {b.p:.3g}",
            f"Parallel analysis ({par.n_iter} simulations, {par.quantile:.0%} quantile): "
            f"{par.n_factors} factor(s), {par.n_components} component(s)",
        ]

    def parallel_table(self, n_rows: int = 10) -> pd.DataFrame:
        """Observed vs simulated (95th percentile) eigenvalues, first ``n_rows`` of them."""
        par = self.parallel
        k = min(n_rows, par.observed_pc.size)
        return pd.DataFrame(
            {
                "PC observed": par.observed_pc[:k],
                "PC simulated": par.simulated_pc[:k],
                "FA observed": par.observed_fa[:k],
                "FA simulated": par.simulated_fa[:k],
            },
            index=pd.RangeIndex(1, k + 1, name="#"),
        )

    def _display_loadings(self) -> pd.DataFrame:
        shown = self.to_frame().astype(object)
        factors = list(self.loadings.columns)
        for col in shown.columns:
            values = self.to_frame()[col]
            blank = col in factors
            shown[col] = [
                "" if blank and abs(v) < DISPLAY_CUTOFF else f"{v:.2f}" for v in values
            ]
        return shown

    def summary(self) -> str:
        """Readable report: settings, KMO/Bartlett, loadings (``|x| < .3`` blanked), variance,
        Phi."""
        lines = [self.title, "=" * len(self.title), *self._header_lines(), ""]
        lines.append(f"Loadings (|loading| < {DISPLAY_CUTOFF} not shown)")
        with pd.option_context("display.max_rows", 500, "display.width", 160):
            lines.append(self._display_loadings().to_string())
            lines.append("")
            lines.append(
                f"Parallel analysis: eigenvalues vs the {self.parallel.quantile:.0%} quantile of "
                "simulated ones"
            )
            lines.append(self.parallel_table().to_string(float_format=lambda x: f"{x:.3f}"))
            lines.append("")
            lines.append("Variance accounted for")
            lines.append(self.variance.to_string(float_format=lambda x: f"{x:.3f}"))
            if self.n_factors > 1:
                lines.append("")
                lines.append("Factor correlations")
                lines.append(
                    self.factor_correlations.to_string(float_format=lambda x: f"{x:.3f}")
                )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<p>{html.escape(line)}</p>" for line in self._header_lines())
        loadings = self._display_loadings().to_html(border=0)
        variance = self.variance.to_html(float_format=lambda x: f"{x:.3f}", border=0)
        phi = self.factor_correlations.to_html(float_format=lambda x: f"{x:.3f}", border=0)
        parallel = self.parallel_table().to_html(float_format=lambda x: f"{x:.3f}", border=0)
        from ._results import html_notes

        return (
            f"<div class='empathy-metrics-result'><h4>{html.escape(self.title)}</h4>{head}"
            f"<h5>Loadings (|loading| &lt; {DISPLAY_CUTOFF} not shown)</h5>{loadings}"
            f"<h5>Parallel analysis (simulated = {self.parallel.quantile:.0%} quantile)</h5>"
            f"{parallel}"
            f"<h5>Variance accounted for</h5>{variance}"
            f"<h5>Factor correlations</h5>{phi}{html_notes(self.notes)}</div>"
        )


def variance_accounted(loadings: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """psych's ``Vaccounted`` rows for a pattern matrix and factor correlations.

    ``SS loadings`` is :math:`\\mathrm{diag}(\\Phi \\Lambda' \\Lambda)` (column sums of squares when
    orthogonal); proportions are of the number of variables (psych's ``vtotal``, the sum of
    communalities and uniquenesses of a correlation matrix) and of the common variance.
    """
    ss = np.diag(phi @ loadings.T @ loadings)
    p = loadings.shape[0]
    prop = ss / p
    return np.vstack([ss, prop, np.cumsum(prop), ss / ss.sum(), np.cumsum(ss / ss.sum())])


def _item_matrix(
    responses: pd.DataFrame,
    instrument_or_items: Any,
    columns: Mapping[str, str] | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Item scores to analyse: keyed items of an instrument, or the listed columns as they are;
    with the notes the result reports (out-of-range codes set to missing)."""
    from ._checks import check_frame

    check_frame(responses, "responses", "efa")
    if isinstance(instrument_or_items, (list, tuple, pd.Index)) and not isinstance(
        instrument_or_items, str
    ):
        names = [str(c) for c in instrument_or_items]
        missing = [c for c in names if c not in responses.columns]
        if missing:
            raise DataError(
                f"columns not found in the responses: {', '.join(missing)}",
                hint=f"available columns: {', '.join(map(str, responses.columns[:30]))}",
            )
        if len(set(names)) != len(names):
            raise DataError("the list of items contains duplicates")
        frame = responses[names]
        if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
               for t in frame.dtypes):
            return pd.DataFrame(frame.to_numpy(dtype=float, na_value=np.nan),
                                index=frame.index, columns=names), []
        try:
            return frame.apply(pd.to_numeric, errors="raise").astype(float), []
        except (ValueError, TypeError) as exc:
            raise DataError(f"item columns must be numeric: {exc}") from None
    from .scoring import keyed_for_statistic

    return keyed_for_statistic(responses, instrument_or_items, columns=columns, func="efa")


def _check_items(data: pd.DataFrame) -> None:
    """Constant items and too few respondents are errors, naming what is wrong."""
    n, p = data.shape
    x = data.to_numpy(dtype=float)
    infinite = [str(c) for c, bad in zip(data.columns, np.isinf(x).any(axis=0), strict=True)
                if bad]
    if infinite:
        raise DataError(f"infinite values in item(s): {', '.join(infinite)}")
    if p < 3:
        raise DataError(f"factor analysis needs at least 3 items, got {p}")
    if n < 3:
        raise DegenerateDataError(
            f"only {n} complete response(s); factor analysis needs many more respondents"
        )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(x, axis=0, ddof=1) if n > 1 else np.full(p, np.nan)
    constant = [str(c) for c, s in zip(data.columns, sd, strict=True)
                if not np.isfinite(s) or s == 0]
    if constant:
        raise DegenerateDataError(
            f"item(s) with no variance among the {n} complete responses: {', '.join(constant)}",
            hint="a constant item cannot be correlated; drop it",
        )
    if n <= p:
        raise DegenerateDataError(
            f"fewer respondents ({n} complete) than items ({p}): the correlation matrix is "
            "singular",
            hint="factor analysis needs many more respondents than items (at least 5-10 per item)",
        )


def _check_collinear(r: np.ndarray, items: Sequence[str]) -> None:
    vals = np.linalg.eigvalsh(r)
    if vals[0] > 1e-10:
        return
    pairs = [
        f"{items[i]}~{items[j]}"
        for i in range(len(items))
        for j in range(i + 1, len(items))
        if abs(r[i, j]) > 1 - 1e-10
    ]
    detail = f" (perfectly correlated: {', '.join(pairs)})" if pairs else ""
    raise DegenerateDataError(
        f"the correlation matrix is singular: some items are exact linear combinations of "
        f"others{detail}",
        hint="drop redundant items",
    )


def _correlations(data: pd.DataFrame, correlation: str) -> np.ndarray:
    """Pearson or polychoric correlations; a non-positive-definite polychoric matrix is smoothed
    (with a :class:`DegenerateDataWarning`, as ``psych::cor.smooth``) and, when smoothing leaves
    it numerically singular, refused with an error that says why."""
    if correlation == "pearson":
        return np.corrcoef(data.to_numpy(dtype=float), rowvar=False)
    from .correlation import polychoric_result

    result = polychoric_result(data)
    matrix = np.asarray(result.rho, dtype=float)
    if result.smoothed and np.linalg.eigvalsh(matrix)[0] <= 1e-8:
        n, p = data.shape
        raise DegenerateDataError(
            f"the polychoric correlation matrix of the {p} items is not positive definite, and "
            f"smoothing it (psych::cor.smooth) leaves it singular: {n} respondents are too few "
            "for polychoric correlations of these items (or some categories are almost empty)",
            hint="use correlation='pearson' (CLI: --correlation pearson), merge sparse "
            "categories, or collect more responses",
        )
    return matrix


def efa(
    responses: pd.DataFrame,
    instrument_or_items: Any,
    n_factors: int | None = None,
    *,
    method: str = "minres",
    rotation: str = "oblimin",
    correlation: str = "pearson",
    n_iter: int = 1000,
    seed: int | np.random.Generator | None = None,
    columns: Mapping[str, str] | None = None,
    missing: str = "listwise",
) -> EFAResult:
    """Exploratory factor analysis of questionnaire items, agreeing with ``psych::fa``.

    Parameters
    ----------
    responses
        One row per respondent.
    instrument_or_items
        An :class:`~empathy_metrics.instruments.Instrument` or bundled id (all its items are
        analysed after reverse keying with :func:`empathy_metrics.scoring.keyed_items`), or a list
        of column names of ``responses`` (used as they are).
    n_factors
        Number of factors. ``None``: the number suggested by the parallel analysis factor
        criterion (psych's ``nfact``), at least 1.
    method
        ``"minres"`` (default, as psych), ``"ml"`` or ``"pa"``; see :func:`extract_factors`.
    rotation
        ``"oblimin"`` (default, as psych), ``"promax"``, ``"varimax"``, ``"geomin"`` (oblique,
        GPArotation's ``geominQ``) or ``"none"``; see :func:`empathy_metrics.rotation.rotate`.
    correlation
        ``"pearson"`` or ``"polychoric"`` (from :mod:`empathy_metrics.correlation`).
    n_iter
        Simulations for the parallel analysis.
    seed
        Seed for the parallel analysis (the only random part).
    columns
        Optional mapping item id -> column name (instrument input only).
    missing
        ``"listwise"`` (default: respondents with any missing item are dropped; ``n`` reports
        how many remain) or ``"pairwise"`` (Pearson only: each correlation from the respondents
        answering both items and ``n`` = all respondents, which is what ``psych::fa``,
        ``psych::KMO``, ``psych::cortest.bartlett`` and ``psych::fa.parallel`` do with raw
        data). The default differs from psych's: with missing answers the two differ (on
        the 25 ``bfi`` items Bartlett's chi-square is 18,146 listwise, 20,164 pairwise); the
        summary names which was used.

    Returns
    -------
    EFAResult

    Notes
    -----
    The steps, each agreeing with the R function named:
    KMO (``psych::KMO``), Bartlett's test (``psych::cortest.bartlett``), eigenvalues, parallel
    analysis (``psych::fa.parallel``, see :func:`parallel_analysis`), extraction and rotation
    (``psych::fa(r, nfactors, fm=method, rotate=rotation)``, with ``"geomin"`` meaning
    ``rotate="geominQ"``). Factors are reflected to positive column sums and ordered by variance
    accounted for, as psych.

    Degenerate data raise :class:`~empathy_metrics.errors.DegenerateDataError` (a constant item,
    fewer complete respondents than items, perfectly collinear items, a polychoric matrix that is
    not positive definite and stays singular after ``psych::cor.smooth`` smoothing) or warn with
    :class:`~empathy_metrics.errors.DegenerateDataWarning` (Heywood cases, non-convergence, an
    under-identified model with more parameters than correlations).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> f = rng.standard_normal((500, 2))
    >>> x = np.repeat(f, 3, axis=1) + rng.standard_normal((500, 6))
    >>> data = pd.DataFrame(x, columns=[f"q{i}" for i in range(1, 7)])
    >>> res = efa(data, list(data.columns), 2, n_iter=100, seed=1)
    >>> res.n_factors, res.loadings.shape
    (2, (6, 2))

    In R: ``psych::fa(data, 2)`` gives the same loadings.
    """
    method = str(method).lower()
    if method == "mle":
        method = "ml"
    if method not in METHODS:
        raise DataError(f"unknown extraction method {method!r}; choose one of {', '.join(METHODS)}")
    rotation = str(rotation).lower()
    rotation = {"geominq": "geomin", "quartimin": "oblimin"}.get(rotation, rotation)
    if rotation not in ROTATIONS:
        raise DataError(f"unknown rotation {rotation!r}; choose one of {', '.join(ROTATIONS)}")
    correlation = str(correlation).lower()
    if correlation not in ("pearson", "polychoric"):
        raise DataError(f"unknown correlation {correlation!r}; choose 'pearson' or 'polychoric'")
    if missing not in ("listwise", "pairwise"):
        raise DataError(f"missing must be 'listwise' or 'pairwise', got {missing!r}")
    if missing == "pairwise" and correlation != "pearson":
        raise DataError("missing='pairwise' is available for Pearson correlations only",
                        hint="use missing='listwise' with polychoric correlations")
    data, notes = _item_matrix(responses, instrument_or_items, columns)
    if missing == "listwise":
        data = data.dropna(axis=0, how="any")
        r = None
    else:
        data = data.dropna(axis=0, how="all")
        r = data.corr().to_numpy()  # R cor(use = "pairwise")
    items = [str(c) for c in data.columns]
    _check_items(data)
    r = _as_correlation(_correlations(data, correlation) if r is None else r)
    with single_thread_blas():
        res = _efa_core(data, items, r, n_factors, method, rotation, correlation, n_iter, seed)
    res.missing = missing
    res.notes.extend(notes)
    return res


def _efa_core(
    data: pd.DataFrame, items: list[str], r: np.ndarray, n_factors: int | None,
    method: str, rotation: str, correlation: str, n_iter: int,
    seed: int | np.random.Generator | None,
) -> EFAResult:
    n, p = data.shape
    _check_collinear(r, items)
    if n_factors is not None:
        # checked before the (slow) parallel analysis so a bad request fails at once
        if isinstance(n_factors, bool) or int(n_factors) != n_factors:
            raise DataError(f"n_factors must be a whole number, got {n_factors!r}")
        if not 1 <= int(n_factors) < p:
            raise DataError(
                f"n_factors must be between 1 and {p - 1} for {p} items, got {n_factors}"
            )
    kmo_overall, kmo_per_item = kmo(r)
    bartlett = bartlett_sphericity(r, n)
    eigenvalues = _eigenvalues_desc(r)
    parallel = parallel_analysis(r, n, n_iter=n_iter, seed=seed)
    if n_factors is None:
        k = parallel.n_factors
        if k < 1:
            warnings.warn(
                "parallel analysis suggests no common factor (the items look uncorrelated); "
                "one factor is extracted",
                DegenerateDataWarning,
                stacklevel=3,
            )
            k = 1
        k = min(k, p - 1)
    else:
        k = int(n_factors)
    dof = ((p - k) ** 2 - (p + k)) / 2
    if dof < 0:
        warnings.warn(
            f"{k} factors for {p} items leave negative degrees of freedom ({dof:g}): the model is "
            "under-identified",
            DegenerateDataWarning,
            stacklevel=3,
        )
    fit = fit_factors(r, k, method)
    rotated = rotate(fit.loadings, rotation)
    names = [f"F{j + 1}" for j in range(k)]
    phi = rotated.phi
    return EFAResult(
        n=int(n),
        items=items,
        kmo=kmo_overall,
        kmo_items=pd.Series(kmo_per_item, index=items, name="kmo"),
        bartlett=bartlett,
        eigenvalues=eigenvalues,
        parallel=parallel,
        n_factors=k,
        method=method,
        rotation=rotated.method,
        correlation=correlation,
        loadings=pd.DataFrame(rotated.loadings, index=items, columns=names),
        communalities=pd.Series(fit.communalities, index=items, name="h2"),
        uniquenesses=pd.Series(fit.uniquenesses, index=items, name="u2"),
        factor_correlations=pd.DataFrame(phi, index=names, columns=names),
        variance=pd.DataFrame(
            variance_accounted(rotated.loadings, phi),
            index=[
                "SS loadings",
                "Proportion Var",
                "Cumulative Var",
                "Proportion Explained",
                "Cumulative Proportion",
            ],
            columns=names,
        ),
        unrotated_loadings=fit.loadings,
        rotation_matrix=rotated.rotation_matrix,
        correlation_matrix=pd.DataFrame(r, index=items, columns=items),
        heywood=[items[i] for i in fit.heywood],
    )
