"""Parameter layout of a CFA of ordered items under lavaan's delta parameterization.

Each ordered item :math:`y_i` with :math:`K_i` categories is the discretised version of a
latent response :math:`y_i^*` cut at thresholds :math:`\\tau_{i1} < \\dots < \\tau_{i,K_i-1}`;
the factor model holds for :math:`y^*`. In group :math:`g`, with scaling factors
:math:`\\delta_i` (lavaan's ``~*~``; :math:`1/\\delta_i` is the SD of :math:`y_i^*`),
intercepts :math:`\\nu`, latent means :math:`\\alpha`, :math:`M = \\Lambda\\Phi\\Lambda' +
\\Theta` and :math:`\\mu = \\nu + \\Lambda\\alpha`, the model-implied sample statistics are

.. math:: \\tau^*_{ik} = \\delta_i(\\tau_{ik} - \\mu_i), \\qquad
          \\rho^*_{ij} = \\delta_i\\delta_j M_{ij} \\quad (i > j),

the thresholds and polychoric correlations of the standardised :math:`y^*`. The residual
variances are not parameters: :math:`\\theta_{ii} = 1/\\delta_i^2 - (\\Lambda\\Phi
\\Lambda')_{ii}` (lavaan ``parameterization = "delta"``). The moment vector is ordered as
lavaan's ``WLS.obs``: thresholds item by item, then the correlations column-wise below the
diagonal (``vech(R, diagonal = FALSE)``).

Single group (lavaan's ``cfa(..., ordered = )`` defaults): :math:`\\nu = 0`, :math:`\\alpha
= 0`, :math:`\\delta = 1`, thresholds free. Several groups follow Wu & Estabrook (2016) as
``semTools::measEq.syntax(ID.cat = "Wu.Estabrook.2016", ID.fac = "std.lv")``:

* configural: everything per group, :math:`\\nu = 0`, :math:`\\delta = 1`,
  :math:`\\alpha = 0`, unit factor variances;
* ``"thresholds"`` equal: intercepts and scaling factors free in groups after the first;
* ``+ "loadings"``: factor variances free in groups after the first;
* ``+ "intercepts"``: intercepts 0 in every group, latent means free after the first.

Reference: Muthen B (1984). A general structural equation model with dichotomous, ordered
categorical, and continuous latent variable indicators. *Psychometrika* 49:115-132. Wu H,
Estabrook R (2016). Identification of confirmatory factor analysis models of different levels
of invariance for ordered categorical outcomes. *Psychometrika* 81:1014-1045. lavaan 0.6
``lav_model_implied``, ``computeDelta``; semTools ``measEq.syntax``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from .structure import KINDS, Structure
from .syntax import ModelSpec

__all__ = ["OrdinalStructure"]


class OrdinalStructure(Structure):
    """Delta-parameterised layout of ``spec`` for ordered items in ``n_groups`` groups.

    Parameters
    ----------
    spec
        The model. Residual variances of the items cannot be fixed or labelled (they are not
        parameters); residual covariances can.
    n_thresholds
        Thresholds per item (categories - 1), in ``spec.observed`` order, the same in every
        group.
    n_groups, equal, partial
        As :class:`~empathy_metrics._sem.structure.Structure`, with ``equal`` also accepting
        ``"thresholds"`` and ``partial`` entries ``("nu", i, 0)`` (intercepts released).
    """

    kinds = KINDS + ("tau", "delta")
    _EQUAL_KIND = {**Structure._EQUAL_KIND, "thresholds": "tau"}

    def __init__(self, spec: ModelSpec, n_thresholds: Sequence[int], n_groups: int = 1, *,
                 equal: tuple[str, ...] = (), partial: frozenset = frozenset()) -> None:
        for key in list(spec.fixed) + list(spec.labels) + list(spec.free):
            if key[1] == "~~" and key[0] == key[2] and key[0] in spec.observed:
                raise InputError(
                    f"'{key[0]} ~~ {key[2]}': the residual variance of an ordered item is not "
                    "a parameter under WLSMV (delta parameterization: it is 1 minus the "
                    "explained variance)",
                    hint="remove that line, or use estimator 'ml'/'mlr' for continuous items")
        self.n_th = [int(k) for k in n_thresholds]
        if len(self.n_th) != len(spec.observed) or min(self.n_th) < 1:
            raise InputError("every ordered item needs at least two categories")
        self.kmax = max(self.n_th)
        super().__init__(spec, n_groups, meanstructure=True, equal=equal, partial=partial)
        p = self.p
        self.th_item = np.repeat(np.arange(p), self.n_th)
        self.th_k = np.concatenate([np.arange(k) for k in self.n_th])
        self.th_offset = np.concatenate([[0], np.cumsum(self.n_th)[:-1]]).astype(int)
        cols = [(i, j) for j in range(p) for i in range(j + 1, p)]
        self.corr_i = np.array([c[0] for c in cols], dtype=int)
        self.corr_j = np.array([c[1] for c in cols], dtype=int)
        self.n_tau = int(sum(self.n_th))

    # layout ------------------------------------------------------------------------------

    def _layout_group(self, g: int) -> None:
        eq_th = "thresholds" in self.equal
        eq_int = "intercepts" in self.equal
        self._layout_loadings(g)
        self._layout_residuals(g, variances=False)
        self._layout_factors(g)
        for i, n in enumerate(self.n_th):
            for k in range(n):
                self._entry("tau", g, i, k, None, None)
        for i in range(self.p):
            free_nu = g > 0 and eq_th and (not eq_int or ("nu", i, 0) in self.partial)
            self._entry("nu", g, i, 0, None, None if free_nu else 0.0)
            self._entry("delta", g, i, 0, None, None if (g > 0 and eq_th) else 1.0)
        for j in range(self.m):
            self._entry("alpha", g, j, 0, None, None if (g > 0 and eq_int) else 0.0)

    def _equal(self, kind: str, r: int, c: int) -> bool:
        if kind == "nu":  # intercepts: fixed at 0, or free per group (Wu & Estabrook)
            return False
        return super()._equal(kind, r, c)

    def _empty_base(self) -> dict[str, np.ndarray]:
        base = super()._empty_base()
        base["tau"] = np.zeros((self.p, self.kmax))
        base["delta"] = np.ones(self.p)
        return base

    @property
    def n_moments(self) -> int:
        return self.G * (self.n_tau + self.p * (self.p - 1) // 2)

    # implied moments -----------------------------------------------------------------------

    def scales(self, theta: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        """Thresholds (``p x kmax``, unused cells 0) and scaling factors of group ``g``."""
        return self._filled("tau", theta, g), self._filled("delta", theta, g)

    def residual_variances(self, theta: np.ndarray, g: int) -> np.ndarray:
        """:math:`\\theta_{ii} = 1/\\delta_i^2 - (\\Lambda\\Phi\\Lambda')_{ii}`."""
        lam, phi, _, _, _ = self.matrices(theta, g)
        _, delta = self.scales(theta, g)
        return 1.0 / delta**2 - np.einsum("ij,jk,ik->i", lam, phi, lam)

    def implied_stats(self, theta: np.ndarray, g: int) -> np.ndarray:
        """Model-implied thresholds and correlations of group ``g`` (lavaan's WLS.est)."""
        sigma, mu = self.implied(theta, g)
        tau, delta = self.scales(theta, g)
        ti, tk = self.th_item, self.th_k
        th = delta[ti] * (tau[ti, tk] - mu[ti])
        ci, cj = self.corr_i, self.corr_j
        return np.concatenate([th, delta[ci] * delta[cj] * sigma[ci, cj]])

    def stats_jacobian(self, theta: np.ndarray, g: int) -> np.ndarray:
        """:math:`\\partial\\sigma_g/\\partial\\theta'` (moments x all ``q`` parameters),
        analytic (the chain rule through :math:`M`, :math:`\\mu`, :math:`\\tau`,
        :math:`\\delta`)."""
        sigma, mu = self.implied(theta, g)
        tau, delta = self.scales(theta, g)
        d_sig, d_mu, cols = self.jacobian(theta, g)
        ti, tk, ci, cj = self.th_item, self.th_k, self.corr_i, self.corr_j
        nt = self.n_tau
        out = np.zeros((nt + len(ci), self.q))
        out[:nt, cols] = -delta[ti, None] * d_mu[ti, :]
        out[nt:, cols] = (delta[ci] * delta[cj])[:, None] * d_sig[:, ci, cj].T
        ix = self._index[g]
        r, c, f = ix["tau"]
        np.add.at(out, (self.th_offset[r] + c, f), delta[r])
        r, _, f = ix["delta"]
        for i, a in zip(r, f, strict=True):
            rows = np.flatnonzero(ti == i)
            out[rows, a] += tau[i, tk[rows]] - mu[i]
            hit = np.flatnonzero(ci == i)
            out[nt + hit, a] += delta[cj[hit]] * sigma[i, cj[hit]]
            hit = np.flatnonzero(cj == i)
            out[nt + hit, a] += delta[ci[hit]] * sigma[ci[hit], i]
        return out

    # starting values -----------------------------------------------------------------------

    def start_ordinal(self, corrs: Sequence[np.ndarray], thresholds: Sequence[np.ndarray]
                      ) -> np.ndarray:
        """Loadings and factor covariances from one-factor eigen solutions of each group's
        polychoric matrix, thresholds at the sample thresholds, :math:`\\nu = \\alpha = 0`,
        :math:`\\delta = 1`; averaged over groups for shared parameters."""
        sums = np.zeros(self.q)
        counts = np.zeros(self.q)
        for g in range(self.G):
            lam, phi, _ = self._start_group(g, corrs[g])
            for k in self.by_group[g]:
                prm = self.params[k]
                if prm.kind == "lambda":
                    v = lam[prm.row, prm.col]
                elif prm.kind == "phi":
                    v = phi[prm.row, prm.col]
                elif prm.kind == "tau":
                    v = thresholds[g][self.th_offset[prm.row] + prm.col]
                elif prm.kind == "delta":
                    v = 1.0
                else:  # residual covariances, intercepts, latent means
                    v = 0.0
                sums[prm.free] += v
                counts[prm.free] += 1
        return sums / np.maximum(counts, 1)
