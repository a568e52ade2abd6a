"""Correlation matrices: Pearson (listwise or pairwise) and polychoric.

* :func:`pearson_matrix` -- ``stats::cor(x, use="complete.obs" | "pairwise.complete.obs")``.
* :func:`polychoric_matrix` -- ``psych::polychoric(x)`` (psych 2.2.9 defaults: global
  thresholds, ``correct = 0.5``, ``smooth = TRUE``).
* :func:`smooth_correlation` -- ``psych::cor.smooth``.
* :func:`bivariate_normal_cdf` -- vectorised standard bivariate normal CDF (Owen's T).
* :func:`polychoric_two_step` -- lavaan's two-step polychoric ML for many item pairs at once
  (thresholds fixed, no continuity correction), used by the WLSMV sample statistics
  (:mod:`empathy_metrics._sem.ordinal_stats`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._distributions import norm_ppf
from ._lazy import lazy_module
from .errors import DataError, DegenerateDataError, DegenerateDataWarning

special = lazy_module("scipy.special")  # imported on first use (see _lazy)

__all__ = [
    "PolychoricResult",
    "bivariate_normal_cdf",
    "pearson_matrix",
    "polychoric_matrix",
    "polychoric_result",
    "polychoric_two_step",
    "smooth_correlation",
]

#: Thresholds are clipped to +-this many standard deviations (Phi(10) = 1 - 8e-24).
_THRESHOLD_CLIP = 10.0
#: Golden-section iterations for rho (interval shrinks by 0.618**70 ~ 2e-15).
_GOLDEN_ITERATIONS = 70
#: Largest |rho| searched (psych's optimize() works on (-1, 1)).
_RHO_BOUND = 1.0 - 1e-9
#: lavaan's floor for model cell probabilities (``.Machine$double.eps^(2/3)``).
PI_FLOOR = np.finfo(float).eps ** (2.0 / 3.0)
#: lavaan's bounds for a polychoric correlation (nlminb ``lower``/``upper``).
LAVAAN_RHO_BOUND = 0.999


def _as_array(data: Any) -> tuple[np.ndarray, list[str] | None]:
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        arr = data.to_numpy(dtype=float, na_value=np.nan)
    else:
        names = None
        arr = np.asarray(data, dtype=float)
    if arr.ndim != 2:
        raise DataError(f"expected a 2-D respondents x items array, got shape {arr.shape}")
    if arr.shape[1] < 2:
        raise DataError("a correlation matrix needs at least two items")
    return arr, names


def pearson_matrix(data: Any, *, missing: str = "listwise") -> np.ndarray:
    """Pearson correlation matrix of the columns of ``data``.

    Parameters
    ----------
    data
        Respondents x items (DataFrame or array); ``NaN`` is missing.
    missing
        ``"listwise"`` (complete rows only; R ``use="complete.obs"``) or ``"pairwise"``
        (each pair on the rows where both are present; R ``use="pairwise.complete.obs"``).

    Returns
    -------
    ndarray, p x p

    Raises
    ------
    DegenerateDataError
        If an item has zero variance (its correlations are undefined).
    """
    arr, names = _as_array(data)
    cov = covariance_matrix(arr, missing=missing)
    sd = np.sqrt(np.diag(cov))
    if missing == "pairwise" and np.all(sd > 0):
        # R's cor(use="pairwise") standardises each pair on its own rows.
        r = pd.DataFrame(arr).corr(min_periods=2).to_numpy()
        if np.isnan(r).any():
            raise DegenerateDataError("some item pairs have constant answers on their common rows")
        return r
    if np.any(~(sd > 0)):
        bad = [names[i] if names else str(i) for i in np.flatnonzero(~(sd > 0))]
        raise DegenerateDataError(
            f"item(s) {', '.join(bad)} have zero variance; their correlations are undefined",
            hint="drop constant items before computing correlations",
        )
    r = cov / np.outer(sd, sd)
    np.fill_diagonal(r, 1.0)
    return r


def covariance_matrix(arr: np.ndarray, *, missing: str = "listwise") -> np.ndarray:
    """Sample covariance matrix (n - 1 denominator), listwise or pairwise (as R ``cov``).

    For ``missing="pairwise"`` each covariance uses the rows where both items are present,
    with both means taken over those rows (R ``cov(use="pairwise.complete.obs")``).
    """
    arr = np.asarray(arr, dtype=float)
    if missing == "listwise":
        x = arr[~np.isnan(arr).any(axis=1)]
        if x.shape[0] < 2:
            raise DegenerateDataError(
                f"only {x.shape[0]} complete respondent(s); a covariance needs at least 2",
                hint="use missing='pairwise' or check the data",
            )
        return np.cov(x, rowvar=False)
    if missing != "pairwise":
        raise DataError(f"missing must be 'listwise' or 'pairwise', got {missing!r}")
    present = (~np.isnan(arr)).astype(float)
    x0 = np.nan_to_num(arr)
    n = present.T @ present
    sx = x0.T @ present  # sx[i, j] = sum of item i over rows where j present (and i present)
    sxy = x0.T @ x0
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (sxy - sx * sx.T / n) / (n - 1)
    if np.any(n < 2):
        raise DegenerateDataError(
            "some item pairs have fewer than 2 respondents answering both",
            hint="check the missing-data pattern",
        )
    return cov


# ---------------------------------------------------------------------------
# bivariate normal
# ---------------------------------------------------------------------------


def bivariate_normal_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray | float) -> np.ndarray:
    """Standard bivariate normal CDF ``P(X <= h, Y <= k)`` with correlation ``rho``.

    Vectorised (broadcasts ``h``, ``k``, ``rho``) through Owen's T function:

    .. math::
        \\Phi_2(h, k; \\rho) = \\tfrac12\\Phi(h) + \\tfrac12\\Phi(k)
        - T\\!\\left(h, \\frac{k - \\rho h}{h\\sqrt{1-\\rho^2}}\\right)
        - T\\!\\left(k, \\frac{h - \\rho k}{k\\sqrt{1-\\rho^2}}\\right) - \\beta,

    with :math:`\\beta = 1/2` when :math:`hk < 0` (or :math:`hk = 0` and :math:`h + k < 0`),
    else 0 (Owen 1956). Exact zeros in ``h``/``k`` are nudged by 1e-12 (error < 1e-12).
    Requires ``|rho| < 1`` and finite ``h``, ``k`` (clip infinities first).
    """
    h = np.asarray(h, dtype=float)
    k = np.asarray(k, dtype=float)
    rho = np.asarray(rho, dtype=float)
    h = np.where(h == 0, 1e-12, h)
    k = np.where(k == 0, 1e-12, k)
    s = np.sqrt(1.0 - rho * rho)
    a1 = (k - rho * h) / (h * s)
    a2 = (h - rho * k) / (k * s)
    beta = np.where(h * k < 0, 0.5, 0.0)
    return (
        0.5 * special.ndtr(h)
        + 0.5 * special.ndtr(k)
        - special.owens_t(h, a1)
        - special.owens_t(k, a2)
        - beta
    )


# ---------------------------------------------------------------------------
# polychoric
# ---------------------------------------------------------------------------


class PolychoricResult:
    """Polychoric correlations with their thresholds.

    Attributes
    ----------
    rho : ndarray, p x p
        Polychoric correlation matrix (smoothed if it was not positive definite).
    tau : ndarray, p x (C - 1)
        Thresholds per item (``psych::polychoric()$tau``), ``+-inf`` for unused top/bottom
        categories.
    names : list of str or None
    smoothed : bool
        True if :func:`smooth_correlation` was applied.
    """

    def __init__(
        self, rho: np.ndarray, tau: np.ndarray, names: list[str] | None, smoothed: bool
    ) -> None:
        self.rho = rho
        self.tau = tau
        self.names = names
        self.smoothed = smoothed

    def to_frame(self) -> pd.DataFrame:
        """The correlation matrix as a labelled DataFrame."""
        return pd.DataFrame(self.rho, index=self.names, columns=self.names)


def _thresholds(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Global thresholds per item: ``qnorm`` of cumulative marginal proportions (psych)."""
    p = codes.shape[1]
    tau = np.empty((p, n_categories - 1))
    for j in range(p):
        col = codes[:, j]
        col = col[col >= 0]
        freq = np.bincount(col, minlength=n_categories)[:n_categories].astype(float)
        cum = np.cumsum(freq) / freq.sum()
        tau[j] = norm_ppf(cum[:-1])
    return tau


def _cell_probabilities(tau_x: np.ndarray, tau_y: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Cell probabilities of the discretised bivariate normal, batched over pairs.

    ``tau_x``, ``tau_y``: (m, C-1); ``rho``: (m,). Returns (m, C, C).
    """
    m, c1 = tau_x.shape
    hx = np.clip(tau_x, -_THRESHOLD_CLIP, _THRESHOLD_CLIP)
    hy = np.clip(tau_y, -_THRESHOLD_CLIP, _THRESHOLD_CLIP)
    big = np.full((m, 1), _THRESHOLD_CLIP)
    ax = np.concatenate([-big, hx, big], axis=1)  # (m, C+1)
    ay = np.concatenate([-big, hy, big], axis=1)
    cdf = bivariate_normal_cdf(ax[:, :, None], ay[:, None, :], rho[:, None, None])
    cdf[:, 0, :] = 0.0
    cdf[:, :, 0] = 0.0
    cdf[:, -1, 1:] = special.ndtr(ay[:, 1:])
    cdf[:, 1:, -1] = special.ndtr(ax[:, 1:])
    cdf[:, -1, -1] = 1.0
    cells = cdf[:, 1:, 1:] - cdf[:, :-1, 1:] - cdf[:, 1:, :-1] + cdf[:, :-1, :-1]
    return np.maximum(cells, 1e-300)


def _negative_log_likelihood(
    tables: np.ndarray, tau_x: np.ndarray, tau_y: np.ndarray, rho: np.ndarray
) -> np.ndarray:
    cells = _cell_probabilities(tau_x, tau_y, rho)
    return -np.sum(tables * np.log(cells), axis=(1, 2))


def _golden_section(
    tables: np.ndarray, tau_x: np.ndarray, tau_y: np.ndarray
) -> np.ndarray:
    """Minimise the negative log-likelihood in rho for every pair at once (golden section)."""
    m = tables.shape[0]
    invphi = (np.sqrt(5.0) - 1.0) / 2.0
    lo = np.full(m, -_RHO_BOUND)
    hi = np.full(m, _RHO_BOUND)
    c = hi - invphi * (hi - lo)
    d = lo + invphi * (hi - lo)
    fc = _negative_log_likelihood(tables, tau_x, tau_y, c)
    fd = _negative_log_likelihood(tables, tau_x, tau_y, d)
    for _ in range(_GOLDEN_ITERATIONS):
        left = fc < fd
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        new_c = hi - invphi * (hi - lo)
        new_d = lo + invphi * (hi - lo)
        # reuse one evaluation per pair, compute the other
        c_next = np.where(left, new_c, d)
        d_next = np.where(left, c, new_d)
        f_eval_point = np.where(left, c_next, d_next)
        f_new = _negative_log_likelihood(tables, tau_x, tau_y, f_eval_point)
        fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        c, d = c_next, d_next
    return (lo + hi) / 2.0


def bivariate_normal_pdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray | float) -> np.ndarray:
    """Standard bivariate normal density :math:`\\phi_2(h, k; \\rho)` (broadcasting)."""
    rho = np.asarray(rho, dtype=float)
    one = 1.0 - rho * rho
    q = (h * h - 2.0 * rho * h * k + k * k) / one
    return np.exp(-0.5 * q) / (2.0 * np.pi * np.sqrt(one))


def padded_bounds(tau: np.ndarray) -> np.ndarray:
    """Category bounds ``[-c, tau_1, ..., tau_{C-1}, +c]`` per row (``c`` = the clip)."""
    t = np.clip(tau, -_THRESHOLD_CLIP, _THRESHOLD_CLIP)
    big = np.full((t.shape[0], 1), _THRESHOLD_CLIP)
    return np.concatenate([-big, t, big], axis=1)


def cell_model(tau_x: np.ndarray, tau_y: np.ndarray, rho: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Cell probabilities and their derivatives in rho, batched over pairs.

    ``tau_x``, ``tau_y``: (m, C-1) thresholds, padded with ``+inf`` (or any value >= the clip)
    for items with fewer categories, whose extra cells then have probability 0. Returns
    ``pi`` (m, C, C), floored at lavaan's ``eps^(2/3)``, and ``dpi`` = d pi / d rho, the
    four-corner sum of bivariate normal densities at the thresholds (Olsson 1979, eq. 8).
    """
    pi = np.maximum(_cell_probabilities(tau_x, tau_y, rho), PI_FLOOR)
    bx = padded_bounds(tau_x)
    by = padded_bounds(tau_y)
    dens = bivariate_normal_pdf(bx[:, :, None], by[:, None, :], rho[:, None, None])
    dens[:, [0, -1], :] = 0.0
    dens[:, :, [0, -1]] = 0.0
    dpi = dens[:, 1:, 1:] - dens[:, :-1, 1:] - dens[:, 1:, :-1] + dens[:, :-1, :-1]
    return pi, dpi


def _two_by_two(tables: np.ndarray, rho: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """lavaan's special cases of 2 x 2 tables; returns the adjusted tables (in place flags).

    Two empty cells: rho = +-1 (fixed); one empty cell: 0.5 added to it and its diagonal
    partner, 0.5 taken from the two others (margins kept; lavaan ``zero.add = c(0.5, 0)``,
    ``zero.keep.margins = TRUE``); ``ad = bc``: rho = 0 (fixed).
    """
    t = tables[:, :2, :2].copy()
    zero = t == 0
    nz = zero.sum(axis=(1, 2))
    two = nz == 2
    rho[two] = np.where(t[two, 0, 0] > 0, 1.0, -1.0)
    fixed[two] = True
    one = nz == 1
    on_diag = zero[:, 0, 0] | zero[:, 1, 1]
    sign = np.where(on_diag, 1.0, -1.0)[:, None, None] * np.array([[0.5, -0.5], [-0.5, 0.5]])
    t = np.where(one[:, None, None], t + sign, t)
    indep = ~fixed & (t[:, 0, 0] * t[:, 1, 1] == t[:, 0, 1] * t[:, 1, 0])
    rho[indep] = 0.0
    fixed[indep] = True
    out = tables.copy()
    out[:, :2, :2] = t
    return out


def polychoric_two_step(
    tables: np.ndarray,
    tau_x: np.ndarray,
    tau_y: np.ndarray,
    *,
    binary: np.ndarray | None = None,
    start: np.ndarray | None = None,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> np.ndarray:
    """Two-step polychoric correlations of many item pairs, as lavaan (``lav_bvord``).

    Parameters
    ----------
    tables
        (m, C, C) contingency tables (counts) of the m pairs; categories beyond an item's own
        number are empty.
    tau_x, tau_y
        (m, C-1) thresholds of the row and column item of each pair (fixed: step one),
        padded with ``+inf`` beyond an item's own categories.
    binary
        (m,) True where both items are binary (the 2 x 2 rules below apply).
    start
        Starting values (default: 0).

    Returns
    -------
    ndarray (m,)

    Notes
    -----
    Maximises :math:`\\ell(\\rho) = \\sum_{ab} n_{ab} \\log \\pi_{ab}(\\rho)` over
    :math:`|\\rho| \\le 0.999` (lavaan's nlminb bounds) by Fisher scoring, all pairs at once:
    :math:`\\rho \\leftarrow \\rho + \\ell'(\\rho) / I(\\rho)` with
    :math:`\\ell' = \\sum n_{ab} \\pi'_{ab}/\\pi_{ab}` and
    :math:`I = N \\sum \\pi'^2_{ab}/\\pi_{ab}`, halving a step that lowers the likelihood,
    until the step is below ``tol``. Unlike ``psych::polychoric`` there is no continuity
    correction for general tables; 2 x 2 tables follow lavaan: one empty cell gets 0.5 with the
    margins kept, two empty cells give +-1, ``ad = bc`` gives 0.

    References
    ----------
    Olsson, U. (1979). Psychometrika 44, 443-460. Rosseel, Y. lavaan 0.6,
    ``lav_bvord_cor_twostep_fit``.
    """
    m = tables.shape[0]
    rho = np.zeros(m) if start is None else np.clip(start, -0.99, 0.99).astype(float)
    fixed = np.zeros(m, dtype=bool)
    if binary is not None and binary.any():
        sub = np.flatnonzero(binary)
        r_sub, f_sub = rho[sub], fixed[sub]
        adjusted = _two_by_two(tables[sub], r_sub, f_sub)
        tables = tables.copy()
        tables[sub] = adjusted
        rho[sub], fixed[sub] = r_sub, f_sub
    n = tables.sum(axis=(1, 2))
    active = ~fixed

    def loglik(idx: np.ndarray, r: np.ndarray) -> np.ndarray:
        pi, _ = cell_model(tau_x[idx], tau_y[idx], r)
        return np.sum(tables[idx] * np.log(pi), axis=(1, 2))

    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        r = rho[idx]
        pi, dpi = cell_model(tau_x[idx], tau_y[idx], r)
        grad = np.sum(tables[idx] * dpi / pi, axis=(1, 2))
        info = n[idx] * np.sum(dpi * dpi / pi, axis=(1, 2))
        step = grad / np.maximum(info, 1e-300)
        new = np.clip(r + step, -LAVAAN_RHO_BOUND, LAVAAN_RHO_BOUND)
        old_ll = np.sum(tables[idx] * np.log(pi), axis=(1, 2))
        for _half in range(30):
            worse = loglik(idx, new) < old_ll - 1e-12 * np.abs(old_ll)
            if not worse.any():
                break
            new = np.where(worse, (new + r) / 2.0, new)
        rho[idx] = new
        active[idx] = np.abs(new - r) > tol
    return rho


def polychoric_result(
    data: Any, *, correct: float = 0.0, smooth: bool = True, max_categories: int = 8
) -> PolychoricResult:
    """Polychoric correlation matrix with thresholds; see :func:`polychoric_matrix`."""
    arr, names = _as_array(data)
    observed = arr[~np.isnan(arr)]
    if observed.size == 0:
        raise DataError("the data contain no observed responses")
    if np.any(observed != np.round(observed)):
        raise DataError("polychoric correlations need integer-coded ordinal responses")
    low = int(observed.min())
    n_categories = int(observed.max()) - low + 1
    if n_categories > max_categories:
        raise DataError(
            f"{n_categories} response categories found; polychoric correlations are for ordinal "
            f"items with at most {max_categories} categories (psych's max.cat)",
        )
    if n_categories < 2:
        raise DegenerateDataError("every response is the same; correlations are undefined")
    codes = np.where(np.isnan(arr), -1, arr - low).astype(int)
    p = arr.shape[1]
    for j in range(p):
        col = codes[:, j][codes[:, j] >= 0]
        if col.size == 0 or np.all(col == col[0]):
            label = names[j] if names else str(j)
            raise DegenerateDataError(
                f"item {label} has a single observed category; its polychoric correlations "
                "are undefined",
                hint="drop constant items",
            )
    tau = _thresholds(codes, n_categories)

    iu, ju = np.triu_indices(p, k=1)
    c = n_categories
    tables = np.empty((iu.size, c, c))
    for idx, (i, j) in enumerate(zip(iu, ju, strict=True)):
        both = (codes[:, i] >= 0) & (codes[:, j] >= 0)
        flat = codes[both, i] * c + codes[both, j]
        tables[idx] = np.bincount(flat, minlength=c * c).reshape(c, c)
    totals = tables.sum(axis=(1, 2))
    if np.any(totals == 0):
        raise DegenerateDataError("some item pairs have no respondent answering both")
    tables = tables / totals[:, None, None]
    if correct > 0:
        # zero cells get correct / total (the table is not renormalised), as psych's
        # non-global path does.
        tables = np.where(tables == 0, (correct / totals)[:, None, None], tables)
    rho_pairs = _golden_section(tables, tau[iu], tau[ju])
    rho = np.eye(p)
    rho[iu, ju] = rho_pairs
    rho[ju, iu] = rho_pairs
    smoothed = False
    if smooth:
        rho, smoothed = smooth_correlation(rho, return_flag=True)
    return PolychoricResult(rho=rho, tau=tau, names=names, smoothed=smoothed)


def polychoric_matrix(
    data: Any, *, correct: float = 0.0, smooth: bool = True, max_categories: int = 8
) -> np.ndarray:
    """Polychoric correlation matrix, as ``psych::polychoric(x)$rho`` (psych 2.2.9).

    Parameters
    ----------
    data
        Respondents x items of integer-coded ordinal responses (DataFrame or array); ``NaN``
        is missing (each pair uses the respondents answering both).
    correct
        Continuity correction: empty cells of each pair's contingency table get
        ``correct / n``. Default 0, which is what psych 2.2.9 effectively does: its
        ``correct = 0.5`` default is applied only in the ``global = FALSE`` path, while the
        default ``global = TRUE`` path (reproduced here) uses the uncorrected table.
    smooth
        Smooth a non-positive-definite result with :func:`smooth_correlation` (psych default).
    max_categories
        Refuse items with more categories (psych's ``max.cat = 8``).

    Returns
    -------
    ndarray, p x p

    Notes
    -----
    Two-step estimator (Olsson 1979), as psych with ``global = TRUE``:

    1. thresholds of each item from its own marginal proportions,
       :math:`\\tau_{j,c} = \\Phi^{-1}(\\sum_{c' \\le c} p_{j,c'})`, using every answer to that
       item; categories span the range of the whole data set.
    2. for each pair, :math:`\\rho` maximises
       :math:`\\sum_{ab} p_{ab} \\log \\pi_{ab}(\\rho)` where :math:`p_{ab}` are the cell
       proportions (empty cells set to ``correct / n``) and :math:`\\pi_{ab}` the bivariate normal
       cell probabilities. psych uses ``optimize`` (Brent, tolerance ~1e-4) on (-1, 1); here all
       pairs are solved together by a vectorised golden-section search to ~1e-12, so results
       agree with psych within its optimiser tolerance.

    Deliberate difference: psych switches to per-pair thresholds (``global = FALSE``) when
    items have different numbers of response alternatives; here thresholds are always global
    (an item that never uses a category gets a repeated threshold, i.e. an empty category).

    Raises
    ------
    DataError
        Non-integer codes or more than ``max_categories`` categories.
    DegenerateDataError
        An item with a single observed category.

    Warns
    -----
    DegenerateDataWarning
        When the matrix is not positive definite and was smoothed.

    References
    ----------
    Olsson, U. (1979). Maximum likelihood estimation of the polychoric correlation coefficient.
    Psychometrika, 44, 443-460. Revelle, W. psych::polychoric.
    """
    return polychoric_result(
        data, correct=correct, smooth=smooth, max_categories=max_categories
    ).rho


def smooth_correlation(
    corr: np.ndarray, *, eig_tol: float = 1e-12, return_flag: bool = False
) -> Any:
    """Make a correlation matrix positive definite, as ``psych::cor.smooth``.

    If the smallest eigenvalue is below machine epsilon, eigenvalues below ``eig_tol`` are set
    to ``100 * eig_tol``, all eigenvalues rescaled to sum to ``p``, the matrix rebuilt as
    :math:`V \\Lambda V'` and rescaled to unit diagonal (``cov2cor``), with a
    :class:`~empathy_metrics.errors.DegenerateDataWarning`.

    Returns the matrix (and, with ``return_flag=True``, whether it was smoothed).
    """
    r = np.asarray(corr, dtype=float)
    values, vectors = np.linalg.eigh(r)
    smoothed = False
    if values.min() < np.finfo(float).eps:
        warnings.warn(
            "the correlation matrix was not positive definite; it was smoothed as "
            "psych::cor.smooth does",
            DegenerateDataWarning,
            stacklevel=2,
        )
        values = np.where(values < eig_tol, 100 * eig_tol, values)
        values = values * r.shape[0] / values.sum()
        r = (vectors * values) @ vectors.T
        d = np.sqrt(np.diag(r))
        r = r / np.outer(d, d)
        r = (r + r.T) / 2
        np.fill_diagonal(r, 1.0)
        smoothed = True
    return (r, smoothed) if return_flag else r
