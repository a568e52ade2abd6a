"""Factor rotations, agreeing with R's GPArotation / psych as used by ``psych::fa``.

One public function, :func:`rotate`, turns an unrotated loading matrix (items x factors) into a
rotated one and returns a :class:`RotationResult`. The algorithms are line-by-line ports of the
R code that ``psych::fa`` (psych 2.2.9) calls for each ``rotate=`` option:

============  ===============================================================================
``method``    R code reproduced
============  ===============================================================================
oblimin       ``GPArotation::oblimin(L)`` (gamma 0, i.e. quartimin), gradient projection
              ``GPFoblq`` with ``normalize=FALSE, eps=1e-5, maxit=1000``, start = identity.
geomin        ``GPArotation::geominQ(L, delta=.01)`` (OBLIQUE geomin; psych's ``"geominQ"``),
              ``GPFoblq`` with the same settings.
promax        ``psych::kaiser(L, rotate="Promax")``: rows scaled to unit length (Kaiser
              normalisation), ``psych::Promax(m=4)`` (``stats::varimax`` then the power-4
              target fitted by least squares, columns rescaled), rows scaled back.
varimax       ``stats::varimax(L)`` (Kaiser normalisation, ``eps=1e-5``). psych 2.2.9's
              ``fa(rotate="varimax")`` calls ``stats::varimax``, not ``GPArotation::Varimax``
              (that one is ``rotate="Varimax"``); both maximise the same criterion and differ
              only in their stopping rule, so they agree to about 1e-4.
none          identity.
============  ===============================================================================

After rotating, :func:`rotate` applies ``psych::fa``'s conventions (``sort=True``): each factor is
reflected so that its column sum is positive, and factors are ordered by decreasing variance
accounted for, ``diag(Phi L'L)``. So ``rotate(extract_factors(R, k)[0], m).loadings`` equals
``psych::fa(R, k, rotate=m)$loadings``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import DataError, DegenerateDataWarning

__all__ = ["RotationResult", "rotate", "ROTATIONS", "ORTHOGONAL_ROTATIONS"]

#: Rotation names accepted by :func:`rotate`.
ROTATIONS = ("oblimin", "promax", "varimax", "geomin", "none")
#: Rotations that keep factors uncorrelated (``phi`` is the identity).
ORTHOGONAL_ROTATIONS = ("varimax", "none")


@dataclass
class RotationResult:
    """A rotated loading matrix.

    Attributes
    ----------
    loadings
        Rotated pattern loadings, items x factors (``unrotated @ rotation_matrix``).
    phi
        Factor correlation matrix (identity for orthogonal rotations).
    rotation_matrix
        The k x k matrix ``T`` with ``loadings = unrotated @ T`` (psych's ``rot.mat``), after
        reflection and reordering of the factors.
    method
        The rotation used.
    converged
        Whether the iterative algorithm met its convergence criterion.
    """

    loadings: np.ndarray
    phi: np.ndarray
    rotation_matrix: np.ndarray
    method: str
    converged: bool = True

    @property
    def orthogonal(self) -> bool:
        return self.method in ORTHOGONAL_ROTATIONS


def _quartimin_criterion(lam: np.ndarray) -> tuple[float, np.ndarray]:
    """Oblimin with gamma = 0 (``GPArotation:::vgQ.oblimin``): value and gradient."""
    k = lam.shape[1]
    sq = lam**2
    cross = sq @ (1.0 - np.eye(k))
    return float(np.sum(sq * cross) / 4.0), lam * cross


def _geomin_criterion(lam: np.ndarray, delta: float = 0.01) -> tuple[float, np.ndarray]:
    """Geomin (``GPArotation:::vgQ.geomin``): value and gradient."""
    k = lam.shape[1]
    l2 = lam**2 + delta
    pro = np.exp(np.log(l2).sum(axis=1) / k)
    return float(pro.sum()), (2.0 / k) * (lam / l2) * pro[:, None]


def gradient_projection_oblique(
    loadings: np.ndarray,
    criterion: Callable[[np.ndarray], tuple[float, np.ndarray]],
    *,
    eps: float = 1e-5,
    max_iter: int = 1000,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Oblique gradient projection rotation (Jennrich 2002), port of ``GPArotation::GPFoblq``.

    Minimises ``criterion(A @ inv(T).T)`` over matrices ``T`` with unit-length columns, starting
    from the identity, with the step-halving line search of GPArotation. Stops when the norm of
    the projected gradient is below ``eps``.

    Returns
    -------
    (rotated loadings, T, converged); the factor correlations are ``T.T @ T``.

    References
    ----------
    Jennrich, R. I. (2002). A simple general method for oblique rotation. Psychometrika, 67, 7-19.
    Bernaards, C. A., & Jennrich, R. I. (2005). Gradient projection algorithms and software for
    arbitrary rotation criteria in factor analysis. Educ. Psychol. Meas., 65, 676-696.
    """
    a = np.asarray(loadings, dtype=float)
    k = a.shape[1]
    tmat = np.eye(k)
    alpha = 1.0
    lam = a @ np.linalg.inv(tmat).T
    f, gq = criterion(lam)
    grad = -(lam.T @ gq @ np.linalg.inv(tmat)).T
    converged = False
    for _ in range(max_iter + 1):
        gp = grad - tmat * np.sum(tmat * grad, axis=0)[None, :]
        s = float(np.sqrt(np.sum(gp**2)))
        if s < eps:
            converged = True
            break
        alpha *= 2.0
        for _ in range(11):
            x = tmat - alpha * gp
            tmat_new = x / np.sqrt(np.sum(x**2, axis=0))[None, :]
            lam = a @ np.linalg.inv(tmat_new).T
            f_new, gq = criterion(lam)
            if f - f_new > 0.5 * s**2 * alpha:
                break
            alpha /= 2.0
        tmat = tmat_new
        f = f_new
        grad = -(lam.T @ gq @ np.linalg.inv(tmat_new)).T
    return lam, tmat, converged


def varimax_rotation(
    loadings: np.ndarray, *, normalize: bool = True, eps: float = 1e-5, max_iter: int = 1000
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Varimax (Kaiser 1958), port of ``stats::varimax`` (SVD algorithm, Kaiser normalisation).

    Returns
    -------
    (rotated loadings, orthogonal rotation matrix T with ``rotated = loadings @ T``, converged)
    """
    x = np.asarray(loadings, dtype=float)
    p, k = x.shape
    scale = np.ones(p)
    if normalize:
        scale = np.sqrt(np.sum(x**2, axis=1))
        x = x / scale[:, None]
    tmat = np.eye(k)
    d = 0.0
    converged = False
    for _ in range(max_iter):
        z = x @ tmat
        b = x.T @ (z**3 - z * (np.sum(z**2, axis=0) / p)[None, :])
        u, sv, vt = np.linalg.svd(b)
        tmat = u @ vt
        d_past = d
        d = float(sv.sum())
        if d < d_past * (1 + eps):
            converged = True
            break
    z = x @ tmat
    if normalize:
        z = z * scale[:, None]
    return z, tmat, converged


def promax_rotation(loadings: np.ndarray, *, power: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Promax as ``psych::kaiser(L, rotate="Promax")`` (Hendrickson & White 1964).

    Rows are divided by their length ``sqrt(h2)``; ``stats::varimax`` is applied; the target
    ``Q = X * |X|^(m-1)`` is fitted by least squares ``U = (X'X)^{-1} X'Q``; the columns of ``U``
    are rescaled by ``sqrt(diag((U'U)^{-1}))``; rows are multiplied back by ``sqrt(h2)``.

    Returns
    -------
    (rotated loadings, rotation matrix T with ``rotated = loadings @ T``); the factor
    correlations are ``inv(T) @ inv(T).T``.
    """
    f = np.asarray(loadings, dtype=float)
    h = np.sqrt(np.sum(f**2, axis=1))
    weighted = f / h[:, None]
    x, t_varimax, _ = varimax_rotation(weighted, normalize=True)
    target = x * np.abs(x) ** (power - 1)
    u = np.linalg.lstsq(x, target, rcond=None)[0]
    utu = u.T @ u
    try:
        d = np.diag(np.linalg.inv(utu))
    except np.linalg.LinAlgError:
        warnings.warn(
            "promax: the factors are exactly uncorrelated and the target gives a singular matrix; "
            "an approximation is used (as psych::Promax does)",
            DegenerateDataWarning,
            stacklevel=3,
        )
        vals, vecs = np.linalg.eigh(utu)
        vals = np.maximum(vals, 100 * np.finfo(float).eps)
        uu = vecs @ np.diag(vals) @ vecs.T
        np.fill_diagonal(uu, 1.0)
        d = np.diag(np.linalg.inv(uu))
    u = u * np.sqrt(d)[None, :]
    tmat = t_varimax @ u
    return (x @ u) * h[:, None], tmat


def _psych_reflect_and_sort(
    lam: np.ndarray, phi: np.ndarray, tmat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """psych::fa conventions: positive column sums, factors by decreasing ``diag(Phi L'L)``."""
    signs = np.sign(lam.sum(axis=0))
    signs[signs == 0] = 1.0
    lam = lam * signs
    phi = phi * np.outer(signs, signs)
    tmat = tmat * signs
    if lam.shape[1] > 1:
        ev = np.diag(phi @ lam.T @ lam)
        order = np.argsort(-ev, kind="stable")
        lam, phi, tmat = lam[:, order], phi[np.ix_(order, order)], tmat[:, order]
    return lam, phi, tmat


def rotate(
    loadings: np.ndarray, method: str = "oblimin", *, sort: bool = True, **kw: float
) -> RotationResult:
    """Rotate a factor loading matrix as ``psych::fa(..., rotate=method)`` does.

    Parameters
    ----------
    loadings
        Unrotated loadings, items x factors (e.g. from
        :func:`empathy_metrics.efa.extract_factors`).
    method
        ``"oblimin"`` (quartimin, oblique), ``"promax"`` (oblique, power 4 after Kaiser-normalised
        varimax), ``"varimax"`` (orthogonal), ``"geomin"`` (oblique geomin, ``delta=0.01``) or
        ``"none"``. See the module docstring for the R function each one reproduces.
    sort
        Apply psych's reflection (positive column sums) and ordering (decreasing variance
        accounted for) to the result. Default True.
    **kw
        ``eps`` / ``max_iter`` for the iterative rotations, ``delta`` for geomin, ``power`` for
        promax.

    Returns
    -------
    RotationResult
        ``loadings``, ``phi`` (factor correlations; identity for orthogonal rotations) and
        ``rotation_matrix`` ``T`` with ``loadings = unrotated @ T``.

    Notes
    -----
    Oblique gradient projection minimises a criterion of the pattern ``Λ = A (T')^{-1}`` over
    ``T`` with unit-length columns; ``Φ = T'T``. Quartimin's criterion is
    :math:`\\tfrac14 \\sum_i \\sum_{j \\ne l} \\lambda_{ij}^2 \\lambda_{il}^2`; geomin's is
    :math:`\\sum_i (\\prod_j (\\lambda_{ij}^2 + \\delta))^{1/k}`. The common part of the model,
    ``Λ Φ Λ'``, equals ``A A'`` for every rotation, so communalities do not change.

    References
    ----------
    Jennrich, R. I. (2002). Psychometrika, 67, 7-19. Kaiser, H. F. (1958). Psychometrika, 23,
    187-200. Hendrickson, A. E., & White, P. O. (1964). Br. J. Stat. Psychol., 17, 65-70.
    Yates, A. (1987). Multivariate exploratory data analysis. (geomin)
    """
    a = np.asarray(loadings, dtype=float)
    if a.ndim != 2:
        raise DataError(f"loadings must be a 2-D matrix (items x factors), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise DataError("loadings contain NaN or infinite values; cannot rotate")
    method = str(method).lower()
    aliases = {"quartimin": "oblimin", "geominq": "geomin"}
    method = aliases.get(method, method)
    if method not in ROTATIONS:
        raise DataError(f"unknown rotation {method!r}; choose one of {', '.join(ROTATIONS)}")
    k = a.shape[1]
    eye = np.eye(k)
    converged = True
    if k < 2 or method == "none":  # a single factor cannot be rotated (psych leaves it as is)
        lam, phi, tmat = a.copy(), eye, eye.copy()
    elif method == "varimax":
        lam, tmat, converged = varimax_rotation(
            a, eps=kw.get("eps", 1e-5), max_iter=int(kw.get("max_iter", 1000))
        )
        phi = eye
    elif method == "promax":
        if np.any(np.sum(a**2, axis=1) == 0):
            raise DataError("promax: an item has all-zero loadings (cannot Kaiser-normalise)")
        lam, tmat = promax_rotation(a, power=int(kw.get("power", 4)))
        tinv = np.linalg.inv(tmat)
        phi = tinv @ tinv.T
    else:
        if method == "oblimin":
            criterion = _quartimin_criterion
        else:
            delta = float(kw.get("delta", 0.01))

            def criterion(lam_: np.ndarray) -> tuple[float, np.ndarray]:
                return _geomin_criterion(lam_, delta)

        try:
            lam, th, converged = gradient_projection_oblique(
                a, criterion, eps=kw.get("eps", 1e-5), max_iter=int(kw.get("max_iter", 1000))
            )
            phi = th.T @ th
            tmat = np.linalg.inv(th).T
        except np.linalg.LinAlgError:
            # psych::fa does the same when the GPArotation call fails
            warnings.warn(
                f"the {method} rotation failed (singular transformation); promax was used instead",
                DegenerateDataWarning,
                stacklevel=2,
            )
            method = "promax"
            lam, tmat = promax_rotation(a, power=4)
            tinv = np.linalg.inv(tmat)
            phi = tinv @ tinv.T
    if not converged:
        warnings.warn(
            f"{method} rotation did not converge; the loadings may not be at the criterion's "
            "optimum",
            DegenerateDataWarning,
            stacklevel=2,
        )
    if sort:
        lam, phi, tmat = _psych_reflect_and_sort(lam, phi, tmat)
    return RotationResult(
        loadings=lam, phi=phi, rotation_matrix=tmat, method=method, converged=converged
    )
