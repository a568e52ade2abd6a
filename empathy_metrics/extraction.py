"""Factor extraction agreeing with R's ``psych::fa``: minimum residual (``fm="minres"``), maximum
likelihood (``fm="ml"``) and iterated principal axis (``fm="pa"``), plus ``psych::smc``.

Kernels on correlation matrices; :func:`empathy_metrics.efa.efa` builds the result object.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._blas import single_thread_blas
from ._lazy import lazy_module
from .errors import DataError, DegenerateDataError, DegenerateDataWarning

optimize = lazy_module("scipy.optimize")  # imported on first use (see _lazy)

#: Extraction methods accepted by :func:`extract_factors` (psych's ``fm=``).
METHODS = ("minres", "ml", "pa")

_EPS = np.finfo(float).eps
#: psych's bounds on the uniquenesses searched by minres / ml (``optim(lower=.005, upper=1)``).
_PSI_LOWER = 0.005

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

