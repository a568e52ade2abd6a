"""Closed-form internal-consistency coefficients on a covariance or correlation matrix, agreeing
with R ``psych::alpha`` (``raw_alpha``, ``std.alpha``, ``G6(smc)``, ``average_r``, ``r.drop``,
``alpha.drop``) and ``psych::alpha.ci`` (Feldt's interval).

Kernels: arrays in, numbers out; :func:`empathy_metrics.reliability.reliability` composes them.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._distributions import f_ppf
from .errors import DegenerateDataWarning


def _cov_to_corr(cov: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.diag(cov))
    r = cov / np.outer(sd, sd)
    np.fill_diagonal(r, 1.0)
    return r


def cronbach_alpha(cov: np.ndarray) -> float:
    """Cronbach's alpha from an item covariance matrix (``psych::alpha()$total$raw_alpha``).

    .. math::
        \\alpha = \\frac{k}{k-1}
                 \\left(1 - \\frac{\\operatorname{tr} C}{\\mathbf 1' C \\mathbf 1}\\right)

    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16, 297-334.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 2, 2], [2, 3, 3], [3, 3, 4], [4, 5, 4], [5, 5, 6]])
    >>> round(cronbach_alpha(np.cov(x, rowvar=False)), 4)  # In R: psych::alpha(x)$total
    0.9672
    """
    c = np.asarray(cov, dtype=float)
    k = c.shape[0]
    return float(k / (k - 1) * (1.0 - np.trace(c) / c.sum()))


def standardized_alpha(corr: np.ndarray) -> float:
    """Standardised alpha: :func:`cronbach_alpha` of the correlation matrix (``std.alpha``).

    Equals :math:`k \\bar r / (1 + (k-1)\\bar r)` with :math:`\\bar r` the average inter-item r.
    """
    return cronbach_alpha(corr)


def _smc(corr: np.ndarray) -> np.ndarray:
    """Squared multiple correlations :math:`1 - 1/\\operatorname{diag}(R^{-1})` (``psych::smc``)."""
    r = np.asarray(corr, dtype=float)
    try:
        inv = np.linalg.inv(r)
        if not np.all(np.isfinite(inv)) or np.linalg.cond(r) > 1e14:
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        warnings.warn(
            "the correlation matrix is singular (e.g. perfectly collinear items); squared "
            "multiple correlations use the pseudo-inverse as psych::smc does",
            DegenerateDataWarning,
            stacklevel=3,
        )
        inv = np.linalg.pinv(r)
    return np.clip(1.0 - 1.0 / np.diag(inv), 0.0, 1.0)


def guttman_lambda6(corr: np.ndarray) -> float:
    """Guttman's lambda 6 from squared multiple correlations (``psych::alpha`` ``G6(smc)``).

    .. math:: \\lambda_6 = 1 - \\frac{\\sum_i (1 - \\mathrm{smc}_i)}{\\mathbf 1' R \\mathbf 1}

    Guttman, L. (1945). A basis for analyzing test-retest reliability. Psychometrika, 10, 255-282.
    """
    r = np.asarray(corr, dtype=float)
    return float(1.0 - np.sum(1.0 - _smc(r)) / r.sum())


def average_inter_item_r(corr: np.ndarray) -> float:
    """Mean off-diagonal correlation :math:`(\\mathbf 1'R\\mathbf 1 - k)/(k(k-1))`."""
    r = np.asarray(corr, dtype=float)
    k = r.shape[0]
    return float((r.sum() - k) / (k * (k - 1)))


def corrected_item_total_r(cov: np.ndarray) -> np.ndarray:
    """Correlation of each item with the sum of the other items (``psych::alpha`` ``r.drop``).

    .. math::
        r_{i,-i} = \\frac{\\sum_j C_{ij} - C_{ii}}
                         {\\sqrt{C_{ii}\\,\\mathbf 1'C_{-i,-i}\\mathbf 1}}
    """
    c = np.asarray(cov, dtype=float)
    total = c.sum()
    col = c.sum(axis=0)
    diag = np.diag(c)
    rest_var = total - 2 * col + diag
    return (col - diag) / np.sqrt(diag * rest_var)


def alpha_if_item_deleted(cov: np.ndarray) -> np.ndarray:
    """Raw alpha of the remaining items when each item is dropped (``alpha.drop$raw_alpha``).

    For a 2-item scale the remaining "scale" is a single item, whose alpha is undefined: the
    values are NaN (``null`` in JSON) and :func:`reliability` records a note on the scale
    (psych reports ``C12/C22`` instead, a regression slope rather than a reliability).
    """
    c = np.asarray(cov, dtype=float)
    k = c.shape[0]
    if k < 3:
        return np.full(k, np.nan)
    total = c.sum()
    col = c.sum(axis=0)
    diag = np.diag(c)
    rest_sum = total - 2 * col + diag
    rest_trace = np.trace(c) - diag
    return (k - 1) / (k - 2) * (1.0 - rest_trace / rest_sum)


def feldt_ci(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt (1965) confidence interval for alpha (``psych::alpha.ci``, ``alpha()$feldt``).

    .. math::
        \\left[1 - (1-\\alpha) F_{1-a/2}(n-1, (n-1)(k-1)),\\;
              1 - (1-\\alpha) F_{a/2}(n-1, (n-1)(k-1))\\right]

    with ``a = 1 - level``. psych uses ``n`` = number of rows given to ``alpha()``; this package
    passes the number of listwise-complete respondents (as pingouin does), which is the same
    number when there are no missing data.
    """
    a = 1.0 - level
    df1 = n - 1
    df2 = (n - 1) * (k - 1)
    lo = 1.0 - (1.0 - alpha) * f_ppf(1 - a / 2, df1, df2)
    hi = 1.0 - (1.0 - alpha) * f_ppf(a / 2, df1, df2)
    return float(lo), float(hi)

