"""Resampling machinery shared by the bootstrap intervals of alpha and omega.

A block of ``b`` ordinary (multinomial) bootstrap resamples of ``n`` respondents is a ``b x n``
matrix of resample counts; a statistic that depends on the data only through column sums of a
design matrix ``D`` is evaluated for a whole block by one product ``W @ D``. Blocks are sized
by a memory budget, and the draws do not depend on the block size (numpy's ``integers`` gives
the same stream whether asked for one block or several), so results depend on the seed only.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._distributions import norm_cdf, norm_ppf

__all__ = ["BLOCK_MAX", "MEMORY_BUDGET", "bca_limits", "block_sizes", "resample_counts"]

#: At most this many resamples per block.
BLOCK_MAX = 200
#: Bytes for one block of counts, at 24 bytes per respondent and resample (index draws and
#: float weights take 16; the block sizes, which the draws depend on, are kept as they were
#: with integer tallies too), so at 10^6 respondents a block holds 5 resamples.
MEMORY_BUDGET = 128 * 2**20


def block_sizes(n: int, n_boot: int, *, budget: int | None = None) -> Iterator[int]:
    """Sizes of successive blocks of resamples (``BLOCK_MAX`` or fewer, within the budget)."""
    limit = MEMORY_BUDGET if budget is None else budget
    size = int(max(1, min(BLOCK_MAX, limit // (24 * max(n, 1)))))
    for start in range(0, n_boot, size):
        yield min(size, n_boot - start)


def resample_counts(rng: np.random.Generator, n: int, b: int) -> np.ndarray:
    """``b`` x ``n`` matrix of how often each respondent is drawn in each of ``b`` resamples.

    Each row is one ordinary bootstrap resample of size ``n``: ``n`` uniform draws with
    replacement (one ``integers`` call for the block, so the stream depends on the block
    sizes only), tallied row by row with ``bincount`` straight into the float matrix (a
    tally row of ``n`` counts stays in the cache; no ``b·n`` offset indices or integer
    tallies are built).
    """
    # np.intp: bincount's native index type (an int32 input is converted first, 3x slower)
    idx = rng.integers(0, n, size=(b, n), dtype=np.intp)
    counts = np.empty((b, n))
    for row, draws in zip(counts, idx, strict=True):
        row[:] = np.bincount(draws, minlength=n)
    return counts


def bca_limits(reps: np.ndarray, estimate: float, influence: np.ndarray,
               level: float) -> tuple[float, float]:
    """BCa limits as ``boot::bca.ci``: bias ``z0`` from the replicates, acceleration from
    influence values ``l``, ``a = Σl³ / (6 (Σl²)^{3/2})`` (Efron 1987); the limits are the
    replicates' type-7 quantiles at ``Φ(z0 + (z0 + z_q)/(1 − a(z0 + z_q)))``. Non-finite
    replicates are left out."""
    ok = reps[np.isfinite(reps)]
    b = ok.size
    prop = min(max(float(np.mean(ok < estimate)), 1.0 / (b + 1)), b / (b + 1))
    z0 = norm_ppf(prop)
    d = influence - influence.mean()
    denom = 6.0 * np.sum(d * d) ** 1.5
    accel = float(np.sum(d**3) / denom) if denom > 0 else 0.0
    z = norm_ppf([(1 - level) / 2, (1 + level) / 2])
    adj = norm_cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    lo, hi = np.quantile(ok, adj)
    return float(lo), float(hi)
