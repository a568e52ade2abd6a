"""The derivatives of a factor model's covariance matrix in rank-2 form.

For :math:`\\Sigma = \\Lambda\\Phi\\Lambda' + \\Theta` every free entry :math:`e` of
:math:`\\Lambda`, :math:`\\Phi` or :math:`\\Theta` has

.. math:: \\frac{\\partial\\Sigma}{\\partial e} = c_e\\,(g_ug_v' + g_vg_u')

with :math:`g_u, g_v` columns of the basis :math:`G = [I_p, \\Lambda\\Phi, \\Lambda]`
(``p x (p + 2m)``):

* loading :math:`\\lambda_{ij}`: :math:`e_i(\\Lambda\\Phi)_j' + (\\Lambda\\Phi)_je_i'`;
* residual (co)variance :math:`\\theta_{ik}`: :math:`e_ie_k' + e_ke_i'`
  (:math:`c = 1/2` on the diagonal);
* factor (co)variance :math:`\\phi_{jl}`: :math:`\\Lambda_j\\Lambda_l' + \\Lambda_l\\Lambda_j'`
  (:math:`c = 1/2` on the diagonal).

Contractions with the ``k x p x p`` Jacobian then reduce to entries of :math:`G'MG`
(``(p + 2m)^2``) instead of sums over :math:`p^2` per parameter: for symmetric :math:`M`,
:math:`\\mathrm{tr}(M\\,\\partial\\Sigma/\\partial e) = 2c_e(G'MG)_{uv}`, and the expected
information's :math:`\\mathrm{tr}(S A_a S A_b)` is a product of two entries of
:math:`\\tilde S = G'SG` (:meth:`Rank2.trace_products`). The same numbers as the dense
Jacobian (reordered sums), without forming it. Magnus & Neudecker (1999), ch. 9 (the
differentials of :math:`\\Lambda\\Phi\\Lambda'`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .structure import KINDS, Structure

__all__ = ["Rank2", "rank2"]


@dataclass
class Rank2:
    """The covariance entries of one group in rank-2 form (module docstring).

    ``iu``, ``iv``: basis columns of each entry; ``coef``: :math:`c_e`; ``free``: the
    entries' free-parameter indices (several entries share one when parameters are held
    equal within the group: ``unique`` is then false); ``e``: :math:`E = [\\Lambda\\Phi,
    \\Lambda]`, so :math:`G = [I_p, E]`."""

    iu: np.ndarray
    iv: np.ndarray
    coef: np.ndarray
    free: np.ndarray
    unique: bool
    e: np.ndarray

    def basis_form(self, mat: np.ndarray) -> np.ndarray:
        """:math:`G'MG` for a ``p x p`` matrix :math:`M`."""
        p = len(mat)
        out = np.empty((p + self.e.shape[1],) * 2)
        out[:p, :p] = mat
        out[:p, p:] = mat @ self.e
        out[p:] = self.e.T @ out[:p]
        return out

    def gradient(self, mat: np.ndarray, q: int) -> np.ndarray:
        """:math:`\\mathrm{tr}(M\\,\\partial\\Sigma/\\partial\\theta_a)` for symmetric ``mat``,
        as a length-``q`` vector (0 for parameters that are not covariance entries)."""
        out = np.zeros(q)
        np.add.at(out, self.free, 2.0 * self.coef * self.basis_form(mat)[self.iu, self.iv])
        return out

    def trace_products(self, s: np.ndarray) -> np.ndarray:
        """:math:`\\mathrm{tr}(S A_aSA_b)` for symmetric ``s`` over the entries (``n x n``):
        with :math:`\\tilde S = G'SG`, :math:`P_{ab} = \\tilde S_{v_au_b}`,
        :math:`Q_{ab} = \\tilde S_{v_av_b}`, :math:`R_{ab} = \\tilde S_{u_au_b}`, it is
        :math:`2c_ac_b(P_{ab}P_{ba} + Q_{ab}R_{ab})`."""
        st = self.basis_form(s)
        rows_v, rows_u = st[self.iv], st[self.iu]
        p_ = rows_v[:, self.iu]
        prod = p_ * p_.T + rows_v[:, self.iv] * rows_u[:, self.iu]
        return 2.0 * np.outer(self.coef, self.coef) * prod

    def scatter(self, h: np.ndarray, out: np.ndarray) -> None:
        """Add the entries' ``n x n`` matrix ``h`` to ``out`` (``q x q``) at their
        free-parameter indices (summed over entries of one parameter)."""
        if self.unique:
            out[np.ix_(self.free, self.free)] += h
        else:
            np.add.at(out, (self.free[:, None], self.free[None, :]), h)


def rank2(structure: Structure, theta: np.ndarray, g: int) -> Rank2 | None:
    """Group ``g``'s :class:`Rank2` at ``theta``; ``None`` for structures with other kinds of
    parameters (e.g. :class:`.ordinal_model.OrdinalStructure`), which use the dense
    Jacobian. The index arrays are built once per structure and group."""
    if structure.kinds != KINDS:
        return None
    cache = structure.__dict__.setdefault("_rank2_index", {})
    if g not in cache:
        p, m = structure.p, structure.m
        ix = structure._index[g]
        lr, lc, lf = ix["lambda"]
        tr, tc, tf = ix["theta"]
        pr, pc, pf = ix["phi"]
        free = np.concatenate([lf, tf, pf]).astype(int)
        cache[g] = (np.concatenate([lr, tr, p + m + pr]).astype(int),
                    np.concatenate([p + lc, tc, p + m + pc]).astype(int),
                    np.concatenate([np.ones(len(lr)), np.where(tr == tc, 0.5, 1.0),
                                    np.where(pr == pc, 0.5, 1.0)]),
                    free, len(np.unique(free)) == len(free))
    iu, iv, coef, free, unique = cache[g]
    lam, phi, _, _, _ = structure.matrices(theta, g)
    return Rank2(iu, iv, coef, free, unique, np.hstack([lam @ phi, lam]))
