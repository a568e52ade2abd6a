"""Three classical tests the trend tables need, without importing ``scipy.stats``.

The one-sample t test, the least-squares line and the Kruskal–Wallis test, with the formulas
of ``scipy.stats.ttest_1samp``, ``linregress`` and ``kruskal`` (and of R ``t.test``,
``lm``/``summary.lm`` and ``kruskal.test``); their p values come from
:mod:`empathy_metrics._distributions`. tests/test_distributions.py checks them against
``scipy.stats`` (relative difference ≤ 1e-12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._distributions import chi2_sf, t_sf

__all__ = ["KruskalWallis", "LineFit", "OneSampleT", "kruskal_wallis", "line_fit",
           "one_sample_t"]


@dataclass(frozen=True)
class OneSampleT:
    """One-sample t test of ``mean = mu``: statistic, two-sided p and df."""

    statistic: float
    pvalue: float
    df: int


def one_sample_t(x: np.ndarray, mu: float = 0.0) -> OneSampleT:
    """Two-sided one-sample t test (R ``t.test(x, mu = mu)``; paired: ``x`` = differences).

    Notes
    -----
    ``t = (x̄ − μ) / (s / √n)`` with the sample standard deviation ``s`` (divisor ``n − 1``),
    ``df = n − 1``, ``p = 2 · P(T_df > |t|)``. Needs ``n ≥ 2``; ``s = 0`` gives ``t = ±inf``
    or NaN, as in ``scipy.stats.ttest_1samp``.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    mean = x.mean()
    # s² as scipy computes it (mean squared deviation · n/(n − 1)): same bits as ttest_1samp
    var = np.mean((x - mean) ** 2) * (n / (n - 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (mean - mu) / np.sqrt(var / n)
    return OneSampleT(float(t), float(2 * t_sf(abs(t), n - 1)), n - 1)


@dataclass(frozen=True)
class LineFit:
    """Least-squares line ``y = intercept + slope · x`` with the slope's SE and two-sided p."""

    slope: float
    intercept: float
    rvalue: float
    pvalue: float
    stderr: float


def line_fit(x: np.ndarray, y: np.ndarray) -> LineFit:
    """Simple linear regression of ``y`` on ``x`` (R ``summary(lm(y ~ x))``, slope row).

    Notes
    -----
    With the biased (divisor ``n``) moments ``s_xx``, ``s_xy``, ``s_yy``:
    ``b = s_xy / s_xx``, ``r = s_xy / √(s_xx s_yy)`` (clipped to ``[−1, 1]``),
    ``SE(b) = √((1 − r²) s_yy / s_xx / (n − 2))``, ``t = r √((n − 2) / ((1 − r)(1 + r)))``
    and ``p = 2 · P(T_{n−2} > |t|)`` — the computation of ``scipy.stats.linregress``,
    including its ``1e-20`` guard against ``r = ±1``. Needs ``n ≥ 3`` and two distinct ``x``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    sxx, sxy, _, syy = np.cov(x, y, bias=True).flat
    if sxx == 0.0 or syy == 0.0:
        r = np.nan if sxy == 0 else 0.0
    else:
        r = min(max(sxy / np.sqrt(sxx * syy), -1.0), 1.0)
    slope = sxy / sxx
    df = n - 2
    tiny = 1.0e-20
    t = r * np.sqrt(df / ((1.0 - r + tiny) * (1.0 + r + tiny)))
    return LineFit(slope=float(slope), intercept=float(y.mean() - slope * x.mean()),
                   rvalue=float(r), pvalue=float(2 * t_sf(abs(t), df)),
                   stderr=float(np.sqrt((1 - r**2) * syy / sxx / df)))


@dataclass(frozen=True)
class KruskalWallis:
    """Kruskal–Wallis rank-sum test: tie-corrected ``H``, its df and p."""

    statistic: float
    pvalue: float
    df: int


def kruskal_wallis(*samples: np.ndarray) -> KruskalWallis:
    """Kruskal–Wallis test that ``k ≥ 2`` samples come from one distribution (R ``kruskal.test``).

    Notes
    -----
    All ``N`` values are ranked together (ties get their average rank); with ``R_i`` the rank
    sum of sample ``i`` (size ``n_i``) and ``t_j`` the sizes of the tie groups,
    ``H = [12 / (N(N + 1)) · Σ R_i² / n_i − 3(N + 1)] / [1 − Σ (t_j³ − t_j) / (N³ − N)]``,
    referred to χ² with ``k − 1`` df (Kruskal & Wallis 1952; Hollander & Wolfe 1999, §6.1).
    """
    arrays = [np.asarray(s, dtype=float) for s in samples]
    sizes = [a.size for a in arrays]
    data = np.concatenate(arrays)
    total = data.size
    df = len(arrays) - 1
    if np.isnan(data).any():
        return KruskalWallis(np.nan, np.nan, df)
    _, inverse, counts = np.unique(data, return_inverse=True, return_counts=True)
    tie_counts = counts.astype(float)
    # average rank of a value = ranks below it + (its count + 1) / 2
    ranks = (np.cumsum(tie_counts) - (tie_counts - 1) / 2)[inverse]
    ties = 1 - np.sum(tie_counts**3 - tie_counts) / (total**3 - total)
    bounds = np.cumsum([0, *sizes])
    ssbn = sum(ranks[bounds[i]:bounds[i + 1]].sum() ** 2 / sizes[i] for i in range(len(sizes)))
    h = (12.0 / (total * (total + 1)) * ssbn - 3 * (total + 1)) / ties
    return KruskalWallis(float(h), float(chi2_sf(h, df)), df)
