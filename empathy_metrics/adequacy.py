"""Sampling adequacy and sphericity: Kaiser-Meyer-Olkin (``psych::KMO``) and Bartlett's test
(``psych::cortest.bartlett``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._distributions import chi2_sf
from .errors import DegenerateDataError
from .extraction import (
    _as_correlation,
)


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
    return BartlettTest(chi2=chi2, df=df, p=float(chi2_sf(chi2, df)))

