"""Asymptotic covariance (NACOV, Gamma) of thresholds and polychoric correlations.

Muthen's (1984) three-stage estimator as lavaan implements it (``muthen1984()``,
``lav_samplestats_step1/2``, ``lav_bvord_cor_scores``): the univariate probit thresholds
(stage 1) and the two-step polychoric correlations (stage 2) are the roots of stacked
estimating equations; their joint sampling covariance is the sandwich

.. math::
    W = B^{-1}\\, J\\, B^{-\\top}, \\qquad
    B = \\begin{pmatrix} A_{11} & 0 \\\\ A_{21} & A_{22} \\end{pmatrix},

with :math:`J = S^\\top S` the cross-product of the casewise scores :math:`S` (threshold scores
of the univariate likelihoods, then rho scores of the bivariate likelihoods),
:math:`A_{11}` the per-item diagonal blocks of :math:`J` (the items' information),
:math:`A_{22} = \\mathrm{diag}(\\sum_i s_{\\rho,i}^2)` and
:math:`A_{21}[\\rho_{kl}, \\tau] = \\sum_i s_{\\rho_{kl},i}\\, \\partial \\log \\pi_{kl}(y_i) /
\\partial \\tau` (the cross-derivative, in lavaan's outer-product form). lavaan's ``NACOV`` (what
``lavInspect(fit, "gamma")`` shows) is :math:`N W`; the DWLS weights are ``1 / diag(NACOV)``.

All scores of a pair depend on the case only through its cell, so they are computed per cell
for every pair at once and gathered to cases by indexing.

References
----------
Muthen, B. (1984). A general structural equation model with dichotomous, ordered categorical,
and continuous latent variable indicators. Psychometrika 49, 115-132.
Muthen, B., du Toit, S. H. C., & Spisic, D. (1997). Robust inference using weighted least
squares and quadratic estimating equations in latent variable modeling with categorical and
continuous outcomes. Unpublished manuscript.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ..correlation import PI_FLOOR, cell_model, padded_bounds
from ..errors import DegenerateDataError

__all__ = ["threshold_scores", "pair_cell_scores", "pair_tables", "nacov"]


def pair_tables(codes: np.ndarray, pairs: np.ndarray, c: int) -> np.ndarray:
    """(m, c, c) contingency tables of the item pairs; rows missing either item (-1) skipped."""
    ix, iy = pairs[:, 0], pairs[:, 1]
    m = ix.size
    both = (codes[:, ix] >= 0) & (codes[:, iy] >= 0)
    flat = (np.arange(m)[None, :] * c + codes[:, ix]) * c + codes[:, iy]
    return np.bincount(flat[both], minlength=m * c * c).reshape(m, c, c).astype(float)


def threshold_scores(codes: np.ndarray, tau: list[np.ndarray]) -> np.ndarray:
    """Casewise scores of the univariate probit likelihoods in the thresholds.

    For a case in category :math:`c` (0-based) of item :math:`j` (a missing answer, code -1,
    scores 0: lavaan's NA-ignoring cross-products under ``missing = "pairwise"``),
    :math:`\\partial \\log P(c) / \\partial \\tau_t = \\phi(\\tau_t)
    ([c = t] - [c = t + 1]) / P(c)` with :math:`P(c) = \\Phi(\\tau_{c+1}) - \\Phi(\\tau_c)`
    (0-based thresholds, :math:`\\tau_{-1} = -\\infty`, :math:`\\tau_{K-1} = \\infty`).
    Returns (n, sum of thresholds), items in order.
    """
    cols = []
    for j, t in enumerate(tau):
        c = codes[:, j]
        cdf = np.concatenate([[0.0], special.ndtr(t), [1.0]])
        prob = np.where(c >= 0, np.diff(cdf)[c], np.inf)
        k = np.arange(t.size)
        dens = np.exp(-0.5 * t * t) / np.sqrt(2.0 * np.pi)
        ind = (c[:, None] == k[None, :]).astype(float) - (c[:, None] == k[None, :] + 1)
        cols.append(ind * dens[None, :] / prob[:, None])
    return np.concatenate(cols, axis=1)


def pair_cell_scores(tau_x: np.ndarray, tau_y: np.ndarray, rho: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell rho scores and threshold cross-derivatives of the bivariate likelihoods.

    ``tau_x``, ``tau_y``: (m, C-1) padded thresholds of the row / column item of each pair.
    Returns ``pi`` (m, C, C); ``s_rho`` = :math:`\\pi'_{ab}/\\pi_{ab}` (m, C, C); ``gx``
    (m, C-1, C) with ``gx[t, b]`` = :math:`\\partial \\Phi_2(\\tau^x_t, \\beta^y_{b+1}) -
    \\Phi_2(\\tau^x_t, \\beta^y_b)` / :math:`\\partial \\tau^x_t` =
    :math:`\\phi(\\tau^x_t)[\\Phi((\\beta^y_{b+1} - \\rho\\tau^x_t)/r) -
    \\Phi((\\beta^y_b - \\rho\\tau^x_t)/r)]`, :math:`r = \\sqrt{1-\\rho^2}`, so that
    :math:`\\partial\\pi_{ab}/\\partial\\tau^x_t = g^x_{tb}([a = t] - [a = t+1])`; ``gy``
    likewise (m, C-1, C) for the column item.
    """
    pi, dpi = cell_model(tau_x, tau_y, rho)
    s_rho = np.where(pi > PI_FLOOR, dpi / pi, 0.0)
    r = np.sqrt(1.0 - rho * rho)[:, None, None]
    bx = padded_bounds(tau_x)
    by = padded_bounds(tau_y)

    def cross(t: np.ndarray, other: np.ndarray) -> np.ndarray:
        tc = t[:, :, None]
        z = (other[:, None, :] - rho[:, None, None] * tc) / r
        dens = np.exp(-0.5 * tc * tc) / np.sqrt(2.0 * np.pi)
        return dens * np.diff(special.ndtr(z), axis=2)

    return pi, s_rho, cross(bx[:, 1:-1], by), cross(by[:, 1:-1], bx)


#: Rows per block when accumulating the score cross-product (bounds memory for large n).
_CHUNK = 20_000


def _score_crossproduct(codes: np.ndarray, tau: list[np.ndarray], pairs: np.ndarray,
                        s_rho: np.ndarray) -> np.ndarray:
    """:math:`J = S^\\top S` of the casewise scores (thresholds, then rho), by row blocks."""
    ix, iy = pairs[:, 0], pairs[:, 1]
    cols = np.arange(ix.size)[None, :]
    k = sum(t.size for t in tau) + ix.size
    inner = np.zeros((k, k))
    for lo in range(0, codes.shape[0], _CHUNK):
        block = codes[lo:lo + _CHUNK]
        both = (block[:, ix] >= 0) & (block[:, iy] >= 0)
        sc_cor = np.where(both, s_rho[cols, block[:, ix], block[:, iy]], 0.0)
        sc = np.concatenate([threshold_scores(block, tau), sc_cor], axis=1)
        inner += sc.T @ sc
    return inner


def _a21_block(w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """:math:`\\sum_b g_{tb}(w_{tb} - w_{t+1,b})` for each pair and threshold ``t``."""
    return np.sum(g * (w[:, :-1, :] - w[:, 1:, :]), axis=2)


def nacov(codes: np.ndarray, tau: list[np.ndarray], pairs: np.ndarray, rho: np.ndarray,
          names: list[str]) -> np.ndarray:
    """lavaan's NACOV (``lavInspect(fit, "gamma")``) of (thresholds, correlations).

    Parameters
    ----------
    codes
        (n, p) 0-based category codes, -1 for a missing answer (pairwise: the scores of a
        missing answer are 0 and ``N`` counts every row).
    tau
        Per item thresholds (stage 1).
    pairs
        (m, 2) item indices (row item, column item) in the order of the correlations.
    rho
        (m,) polychoric correlations (stage 2).
    names
        Item names (error messages).

    Returns
    -------
    ndarray, (nth + m) x (nth + m)
        :math:`N B^{-1} J B^{-\\top}` (see the module docstring), thresholds first.
    """
    n, p = codes.shape
    n_th = np.array([t.size for t in tau])
    start = np.concatenate([[0], np.cumsum(n_th)])
    c = int(n_th.max()) + 1
    pad = np.full((p, c - 1), np.inf)
    for j, t in enumerate(tau):
        pad[j, : t.size] = t
    ix, iy = pairs[:, 0], pairs[:, 1]
    m = ix.size
    pi, s_rho, gx, gy = pair_cell_scores(pad[ix], pad[iy], rho)
    inner = _score_crossproduct(codes, tau, pairs, s_rho)
    nth = int(start[-1])

    # A21 from the cell counts: sum_cases s_rho * d log pi / d tau
    counts = pair_tables(codes, pairs, c)
    w = np.where(pi > PI_FLOOR, counts * s_rho / pi, 0.0)
    ax = _a21_block(w, gx)
    ay = _a21_block(np.swapaxes(w, 1, 2), gy)
    a21 = np.zeros((m, nth))
    rows = np.arange(m)
    for j in range(p):
        cols = np.arange(start[j], start[j + 1])
        for mask, block in ((ix == j, ax), (iy == j, ay)):
            if mask.any():
                a21[np.ix_(rows[mask], cols)] = block[mask][:, : n_th[j]]

    a11_inv = np.zeros((nth, nth))
    for j in range(p):
        sl = slice(start[j], start[j + 1])
        try:
            a11_inv[sl, sl] = np.linalg.inv(inner[sl, sl])
        except np.linalg.LinAlgError:
            raise DegenerateDataError(
                f"the threshold information of item {names[j]} is singular",
                column=names[j],
                hint="collapse its rarely used categories",
            ) from None
    a22 = np.diag(inner)[nth:]
    if np.any(~(a22 > 0)):
        k = int(np.flatnonzero(~(a22 > 0))[0])
        a, b = names[ix[k]], names[iy[k]]
        raise DegenerateDataError(
            f"the polychoric correlation of {a} and {b} carries no information (its scores "
            "are all zero)",
            hint="check their cross-table; collapse sparse categories or drop one item",
        )
    b_inv = np.zeros((nth + m, nth + m))
    b_inv[:nth, :nth] = a11_inv
    b_inv[nth:, nth:] = np.diag(1.0 / a22)
    b_inv[nth:, :nth] = -(a21 / a22[:, None]) @ a11_inv
    gamma = n * (b_inv @ inner @ b_inv.T)
    return (gamma + gamma.T) / 2.0
