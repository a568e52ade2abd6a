"""Bootstrap intervals of Cronbach's alpha (percentile and BCa), all replicates of every scale at
once: alpha depends on the data only through column sums of a design matrix (item scores, their
squares and the scale totals' squares), so a block of resamples is one product of resample
counts with that matrix (:mod:`empathy_metrics._bootstrap`). Agrees with ``boot::boot`` +
``boot.ci`` and with ``psych::alpha(n.iter=)`` within Monte Carlo error.
"""

from __future__ import annotations

import numpy as np

from ._bootstrap import bca_limits, block_sizes, resample_counts
from .errors import InputError


def _alpha_from_sums(sums: np.ndarray, n: float, k: int) -> np.ndarray:
    """Alpha from the column sums of the design ``[x, sum_j x_j^2, t^2]`` (vectorised).

    ``sums[..., :k]`` are the item sums, ``sums[..., k]`` the sum of all squared item scores and
    ``sums[..., k + 1]`` the sum of squared totals; the total's sum is the sum of the item sums.
    The ``1/(n-1)`` factors of the variances cancel in alpha.
    """
    s1 = sums[..., :k]
    item_var = sums[..., k] - np.einsum("...j,...j->...", s1, s1) / n
    t1 = s1.sum(axis=-1)
    total_var = sums[..., k + 1] - t1 * t1 / n
    return k / (k - 1) * (1.0 - item_var / total_var)


def _alpha_design(rows: np.ndarray, scales: list[list[int]]
                  ) -> tuple[np.ndarray, list[list[int]]]:
    """One design for the scales of the same respondents, and each scale's columns in it.

    ``D = [x, (sum_j x_j^2, t^2) for each scale]``: the centred items (each column once, however
    many scales share it), then per scale the sum of its squared centred items and its squared
    total -- ``n x (p + 2m)`` for ``p`` items in ``m`` scales. A scale's own design
    ``[x_s, sum_j x_j^2, t_s^2]`` is the column selection returned for it.
    """
    union = sorted({i for idx in scales for i in idx})
    p, n = len(union), rows.shape[0]
    design = np.empty((n, p + 2 * len(scales)))
    for r in _chunks(n):  # copies of a chunk of rows only: no second n x p matrix
        design[r, :p] = rows[r][:, union]
    design[:, :p] -= design[:, :p].mean(axis=0)  # shift invariant; centring avoids cancellation
    pos = {item: j for j, item in enumerate(union)}
    cols = []
    for s, idx in enumerate(scales):
        j = [pos[i] for i in idx]
        for r in _chunks(n):
            xs = design[r][:, j]
            design[r, p + 2 * s] = np.einsum("ij,ij->i", xs, xs)
            t = xs.sum(axis=1)
            design[r, p + 2 * s + 1] = t * t
        cols.append(j + [p + 2 * s, p + 2 * s + 1])
    return design, cols


#: Rows per chunk of the design's row-wise work (bounded temporaries, same per-row results).
_CHUNK_ROWS = 1 << 16


def _chunks(n: int) -> list[slice]:
    """Slices of ``_CHUNK_ROWS`` consecutive rows covering ``0..n``."""
    return [slice(r0, min(n, r0 + _CHUNK_ROWS)) for r0 in range(0, n, _CHUNK_ROWS)]


def _alpha_replicates(design: np.ndarray, cols: list[list[int]], n_boot: int,
                      rng: np.random.Generator) -> np.ndarray:
    """``n_boot x len(cols)`` alpha replicates of every scale, on the same resamples.

    The resample counts of each block are drawn once and multiplied with the shared design
    (one matrix product), so several scales of the same respondents cost one draw.
    """
    from ._blas import single_thread_blas
    from ._progress import progress

    n = design.shape[0]
    reps = np.empty((n_boot, len(cols)))
    show = None if n * n_boot > 5e7 else False
    start = 0
    # single-threaded BLAS: a (b x n) @ (n x few) product gains little from threads and, on a
    # busy machine, loses up to 60x to oversubscription (measured on the 2-core reference box)
    with progress(n_boot, "Bootstrapping alpha", enabled=show) as bar, single_thread_blas():
        for b in block_sizes(n, n_boot):
            sums = resample_counts(rng, n, b) @ design
            for j, c in enumerate(cols):
                reps[start:start + b, j] = _alpha_from_sums(sums[:, c], float(n), len(c) - 2)
            start += b
            bar.update(b)
    return reps


def _alpha_interval(reps: np.ndarray, design: np.ndarray, cols: list[int], level: float,
                    method: str) -> tuple[float, float]:
    """Percentile or BCa (jackknife acceleration, closed form) limits from alpha replicates
    (``design[:, cols]`` is the scale's own design; only BCa reads it)."""
    a = 1.0 - level
    if method == "bootstrap":
        lo, hi = np.quantile(reps, [a / 2, 1 - a / 2])
        return float(lo), float(hi)
    own = design[:, cols]
    n, k = own.shape[0], own.shape[1] - 2
    total = own.sum(axis=0)
    estimate = float(_alpha_from_sums(total, float(n), k))
    jack = np.empty(n)
    for r in _chunks(n):  # jackknife: drop respondent i from the sums
        jack[r] = _alpha_from_sums(total[None, :] - own[r], float(n - 1), k)
    return bca_limits(reps, estimate, jack.mean() - jack, level)


def _check_boot(n_boot: int, method: str) -> None:
    if n_boot < 10:
        raise InputError(f"n_boot must be at least 10, got {n_boot}")
    if method not in ("bootstrap", "bca"):
        raise InputError(f"unknown bootstrap method {method!r}")


def bootstrap_alpha(
    items: np.ndarray,
    *,
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
    level: float = 0.95,
    method: str = "bootstrap",
) -> tuple[tuple[float, float], np.ndarray]:
    """Percentile (``method="bootstrap"``) or BCa (``"bca"``) bootstrap CI for alpha.

    Algorithm: alpha depends on the data only through the column sums of the design
    ``D = [x, sum_j x_j^2, t^2]`` (``x`` centred items, ``t`` the total), ``k + 2`` columns. A
    block of resamples is a matrix of resample counts ``W`` (``b x n``, each row multinomial
    ``(n; 1/n, ..., 1/n)``), and the replicate sums are one matrix product ``W @ D``; alpha of
    every replicate follows in closed form. No resampled data set is ever built and there is
    no Python loop over resamples, only over blocks (:mod:`empathy_metrics._bootstrap`: at most
    200 resamples, and at most 128 MB of counts, so the peak memory stays bounded -- 5
    resamples per block at 10^6 respondents; the results do not depend on the block size).
    Percentile CI: the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the replicates (R
    ``quantile`` type 7, as ``psych::alpha(n.iter=)``'s ``boot.ci``).

    BCa (Efron 1987; ``boot::boot.ci(type = "bca")`` with jackknife influence values): bias
    correction :math:`z_0 = \\Phi^{-1}(\\#\\{\\hat\\alpha^* < \\hat\\alpha\\}/B)` and
    acceleration from the jackknife (leave-one-out alphas from the sums, in closed form),
    :math:`a = \\sum d^3 / (6 (\\sum d^2)^{3/2})`, :math:`d = \\bar\\theta_{(.)} -
    \\theta_{(i)}`; the CI is the replicates' quantiles at
    :math:`\\Phi(z_0 + (z_0 + z_q)/(1 - a(z_0 + z_q)))`.

    Agreement with R (``tests/test_reliability.py``): percentile and BCa limits agree with
    ``psych::alpha(n.iter = 2000)`` and ``boot::boot.ci`` within Monte Carlo error.

    Parameters
    ----------
    items
        Complete-case respondents x items array.
    n_boot
        Number of resamples (at least 10).
    seed
        Seed or :class:`numpy.random.Generator`.
    level
        Confidence level.
    method
        ``"bootstrap"`` (percentile) or ``"bca"``.

    Returns
    -------
    (low, high), replicates
    """
    x = np.asarray(items, dtype=float)
    (ci, reps), = _bootstrap_alphas(x, [list(range(x.shape[1]))], n_boot=n_boot, seed=seed,
                                    level=level, method=method)
    return ci, reps


def _bootstrap_alphas(
    rows: np.ndarray, scales: list[list[int]], *, n_boot: int,
    seed: int | np.random.Generator | None, level: float = 0.95, method: str = "bootstrap",
) -> list[tuple[tuple[float, float], np.ndarray]]:
    """:func:`bootstrap_alpha` for several scales (column lists of ``rows``) of the same
    respondents, on one set of resamples (those each scale gets alone with the same seed)."""
    _check_boot(n_boot, method)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    design, cols = _alpha_design(rows, scales)
    reps = _alpha_replicates(design, cols, n_boot, rng)
    return [(_alpha_interval(reps[:, j], design, c, level, method), reps[:, j])
            for j, c in enumerate(cols)]

