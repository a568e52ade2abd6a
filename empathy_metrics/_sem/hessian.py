"""Analytic observed information (Hessian of the ML discrepancy), complete data or FIML.

With :math:`m = (\\mu, \\mathrm{vec}\\,\\Sigma)` the model-implied moments and
:math:`J = \\partial m/\\partial\\theta`,

.. math:: -\\frac{\\partial^2\\ell}{\\partial\\theta\\,\\partial\\theta'}
          = J'\\Big(-\\frac{\\partial^2\\ell}{\\partial m\\,\\partial m'}\\Big)J
          - \\sum_k \\frac{\\partial\\ell}{\\partial m_k}
            \\frac{\\partial^2 m_k}{\\partial\\theta\\,\\partial\\theta'} .

Per block of rows with observed variables :math:`o`, :math:`n` rows, residual mean
:math:`d`, :math:`W = S + dd'` and :math:`C = \\Sigma^{-1}W\\Sigma^{-1}`:
:math:`\\partial\\ell/\\partial\\Sigma = -\\tfrac n2(\\Sigma^{-1} - C)`,
:math:`\\partial\\ell/\\partial\\mu = n\\Sigma^{-1}d`, and the negative second derivatives are
:math:`n\\Sigma^{-1}` (means), :math:`n(\\Sigma^{-1})_{jr}(\\Sigma^{-1}d)_s` (mean, covariance) and
:math:`\\tfrac n2[-\\Sigma^{-1}_{ur}\\Sigma^{-1}_{st} + C_{ur}\\Sigma^{-1}_{st}
+ C_{st}\\Sigma^{-1}_{ur}]` (covariances). For :math:`\\Sigma = \\Lambda\\Phi\\Lambda' + \\Theta`,
:math:`\\mu = \\nu + \\Lambda\\alpha` the only second derivatives of the moments are
:math:`\\partial^2\\Sigma/\\partial\\lambda_{ij}\\partial\\lambda_{kl} = \\phi_{jl}(e_ie_k' +
e_ke_i')`, those between a loading and a factor (co)variance, and
:math:`\\partial^2\\mu/\\partial\\lambda_{ij}\\partial\\alpha_j = e_i`. This replaces
finite differences of the gradient (lavaan differentiates numerically).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .missing import Patterns, PatternTerms, pattern_terms
from .rank2 import Rank2, rank2
from .samples import GroupStats
from .structure import Structure

__all__ = ["observed_hessian", "MAX_P"]

#: Above this many variables the p^4 moment Hessian is too large; use finite differences.
MAX_P = 40


def _moment_terms(pat: Patterns, terms: PatternTerms, meanstructure: bool, *,
                  expected: bool = False, first_only: bool = False, ss: bool = True):
    """dl/dSigma (p x p), dl/dmu (p), and -d2l/dm dm' blocks (ss: p^2 x p^2, ms: p^3, mm:
    p^2) from the per-pattern terms (:func:`.missing.pattern_terms`).

    The covariance-covariance block is returned in a form valid for contraction with
    *symmetric* directions :math:`A, B` (derivatives of a covariance matrix), which is all it
    is used for: with :math:`Y = 2C - \\Sigma^{-1}` the two Kronecker terms of the docstring
    sum to :math:`\\tfrac n2\\mathrm{tr}(A\\,Y B\\,\\Sigma^{-1})`, i.e. the matrix
    :math:`\\tfrac n2\\,\\Sigma^{-1}\\otimes Y` on :math:`\\mathrm{vec}\\,A`,
    :math:`\\mathrm{vec}\\,B`. Each pattern's :math:`\\Sigma_{oo}^{-1}`, :math:`Y` and
    :math:`\\Sigma_{oo}^{-1}d` are zero-padded to ``p`` variables and stacked, so the sum over
    the ``B`` patterns is one matrix product (``p^2 x B`` times ``B x p^2``).

    ``expected = True`` gives the expected information of the covariance-covariance and
    mean-mean blocks instead (:math:`Y = \\Sigma^{-1}`, the mean-covariance block 0): positive
    definite everywhere, for Fisher-scoring steps far from the optimum. The first
    derivatives are returned as they are (observed). ``first_only``: only those
    (``dl/dSigma, dl/dmu``); ``ss = False``: the covariance block is left out (``None``; see
    :func:`_contract_ss`).
    """
    nb, p = pat.mask.shape
    w = pat.n
    s2 = terms.inv.reshape(nb, p * p)
    v_all = terms.v
    a = -0.5 * ((w @ s2).reshape(p, p) - terms.c_sum(w))
    if first_only:
        return a, (w @ v_all if meanstructure else np.zeros(p))
    c2 = terms.c.reshape(nb, p * p)
    h_ss = None
    if ss:
        y2 = s2 if expected else 2.0 * c2 - s2
        g = ((s2 * (w / 2.0)[:, None]).T @ y2).reshape(p, p, p, p)  # [r,t,s,u] = S_rt Y_su
        h_ss = np.ascontiguousarray(g.transpose(0, 2, 1, 3)).reshape(p * p, p * p)
    if not meanstructure:
        return a, np.zeros(p), h_ss, np.zeros((p, p * p)), np.zeros((p, p))
    b = w @ v_all
    h_mm = (w @ s2).reshape(p, p)
    if expected:
        return a, b, h_ss, np.zeros((p, p * p)), h_mm
    h_ms = ((s2 * w[:, None]).T @ v_all).reshape(p, p * p)  # [j, (r, s)] = n S_jr v_s
    return a, b, h_ss, h_ms, h_mm


#: Rows of the covariance block formed at a time by :func:`_contract_ss`.
CHUNK = 8


def _contract_ss(pat: Patterns, terms: PatternTerms, dd: sparse.csr_matrix, *,
                 expected: bool = False) -> np.ndarray:
    """:math:`J' H_{ss} J` for the sparse Jacobian ``dd`` (``k x p^2``) without forming the
    ``p^2 x p^2`` block of :func:`_moment_terms`: the same matrix product, ``CHUNK`` values
    of the first index at a time, each chunk contracted with its columns of ``dd`` at once
    (a working set of a few MB instead of two 20 MB arrays at 40 variables). ``expected``:
    the expected-information block (:math:`Y = \\Sigma^{-1}`)."""
    nb, p = pat.mask.shape
    w = pat.n / 2.0
    y2 = (terms.inv if expected else 2.0 * terms.c - terms.inv).reshape(nb, p * p)
    ddc = dd.tocsc()
    x = np.zeros((dd.shape[0], p * p))
    for r0 in range(0, p, CHUNK):
        r1 = min(p, r0 + CHUNK)
        left = (terms.inv[:, r0:r1, :] * w[:, None, None]).reshape(nb, -1)  # [(r, t)]
        g = (left.T @ y2).reshape(r1 - r0, p, p, p)  # [r,t,s,u] = S_rt Y_su
        h = np.ascontiguousarray(g.transpose(0, 2, 1, 3)).reshape((r1 - r0) * p, p * p)
        x += ddc[:, r0 * p:r1 * p] @ h
    return np.asarray(dd @ x.T).T


def saturated_ss(pat: Patterns, terms: PatternTerms, *, expected: bool = False
                 ) -> np.ndarray:
    """:math:`D'H_{ss}D` (``p* x p*``, :math:`p^* = p(p+1)/2`) of the saturated model in
    :math:`\\mathrm{vech}\\,\\Sigma` (:math:`D` the duplication matrix), as
    :func:`_contract_ss` with the duplication matrix but from a ``p* x B x p*`` product.

    With :math:`T_{rtsu} = \\sum_k w_kS_{k,rt}Y_{k,su}` (:func:`_moment_terms`) the entry for
    :math:`\\sigma_{ij}, \\sigma_{tu}` sums :math:`T` over both orders of each pair, which
    regroups as :math:`c_{ij}c_{tu}(P_{(it),(ju)} + P_{(iu),(jt)})` with the symmetric
    :math:`P_{(rt),(su)} = \\sum_k w_k(S_{k,rt}Y_{k,su} + Y_{k,rt}S_{k,su})` (:math:`c = 1/2`
    for a variance): :math:`P` depends on unordered pairs only (:math:`S_k, Y_k` are
    symmetric), so it is one ``p* x B`` by ``B x p*`` product, half the :math:`p^4` block,
    and the entries are gathered from it."""
    p = pat.mask.shape[1]
    r, c = np.tril_indices(p)
    n = len(r)
    s = terms.inv
    y = s if expected else 2.0 * terms.c - s
    m = (s[:, r, c] * (pat.n / 2.0)[:, None]).T @ y[:, r, c]
    m += m.T
    vi = np.empty((p, p), dtype=np.intp)  # vech position of each (unordered) pair
    vi[r, c] = vi[c, r] = np.arange(n)
    flat = m.ravel()
    h = flat[vi[np.ix_(r, r)] * n + vi[np.ix_(c, c)]]
    h += flat[vi[np.ix_(r, c)] * n + vi[np.ix_(c, r)]]
    coef = np.where(r == c, 0.5, 1.0)
    h *= np.outer(coef, coef)
    return h


def _second_derivative_terms(structure: Structure, theta: np.ndarray, g: int, a: np.ndarray,
                             b: np.ndarray) -> np.ndarray:
    """:math:`\\sum_k (\\partial\\ell/\\partial m_k)\\,\\partial^2 m_k/\\partial\\theta^2`."""
    q = structure.q
    out = np.zeros((q, q))
    lam, phi, _, _, _ = structure.matrices(theta, g)
    ix = structure._index[g]
    lr, lc, lf = ix["lambda"]
    if not len(lf):
        return out
    # loading x loading: 2 phi_jl A_ik
    block = 2.0 * phi[np.ix_(lc, lc)] * a[np.ix_(lr, lr)]
    np.add.at(out, (lf[:, None], lf[None, :]), block)
    # loading (i,j) x factor (co)variance (k,l)
    pr, pc, pf = ix["phi"]
    if len(pf):
        al = a @ lam  # p x m
        val = 2.0 * ((lc[:, None] == pr[None, :]) * al[np.ix_(lr, pc)]
                     + ((lc[:, None] == pc[None, :]) & (pr != pc)[None, :])
                     * al[np.ix_(lr, pr)])
        np.add.at(out, (lf[:, None], pf[None, :]), val)
        np.add.at(out, (pf[None, :], lf[:, None]), val)
    # loading (i,j) x latent mean j: b_i
    ar, _, af = ix["alpha"]
    if len(af) and structure.meanstructure:
        val = (lc[:, None] == ar[None, :]) * b[lr][:, None]
        np.add.at(out, (lf[:, None], af[None, :]), val)
        np.add.at(out, (af[None, :], lf[:, None]), val)
    return out


#: Parameters whose blocks :func:`_structured_terms` forms at a time (working set ~1 MB at
#: 40 variables and ~80 patterns: fresh larger arrays cost page faults).
PARAM_CHUNK = 16


def _structured_terms(pat: Patterns, terms: PatternTerms, iu: np.ndarray, iv: np.ndarray,
                      coef: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:math:`J'H_{ss}J` and :math:`J'H_{sm}` (``n x n`` and ``n x p`` for the ``n``
    covariance entries of :class:`.rank2.Rank2` ``iu, iv, coef, e``) from the rank-2 form of
    the Jacobian, without the :math:`p^4` array of :func:`_contract_ss`.

    With :math:`A_a = c_a(g_ug_v' + g_vg_u')`, :math:`S_k = \\Sigma_{oo}^{-1}`,
    :math:`Y_k = 2C_k - S_k` (:func:`_moment_terms`) and :math:`w_k = n_k/2`,

    .. math:: X_a = \\sum_k w_k S_kA_aY_k = c_a\\sum_k w_k[(S_kg_u)(Y_kg_v)'
              + (S_kg_v)(Y_kg_u)'], \\qquad (J'H_{ss}J)_{ab} = \\mathrm{tr}(X_aA_b)
              = c_b[(G'X_aG)_{u_bv_b} + (G'X_aG)_{v_bu_b}],

    one ``p x 2B`` by ``2B x p`` product per entry (:math:`S_kG`, :math:`Y_kG` for all
    patterns first): :math:`p^2/2n` times fewer operations than the :math:`p^4` block (5x
    at 40 variables and 146 entries); and
    :math:`(J'H_{sm})_a = \\sum_k n_kS_kA_av_k = 2c_a\\sum_k w_k[S_kg_u(g_v'v_k) +
    S_kg_v(g_u'v_k)]` with :math:`v_k = S_kd_k`."""
    nb, p = pat.mask.shape
    s, y = terms.inv, 2.0 * terms.c - terms.inv
    ng = p + e.shape[1]
    sgt, ygt = np.empty((ng, p, nb)), np.empty((ng, p, nb))  # [j, t, k] = (S_k G)[t, j]
    sgt[:p], sgt[p:] = s.transpose(2, 1, 0), (s @ e).transpose(2, 1, 0)
    sgt *= pat.n / 2.0
    ygt[:p], ygt[p:] = y.transpose(2, 1, 0), (y @ e).transpose(2, 1, 0)
    vg = np.hstack([terms.v, terms.v @ e])  # [k, j] = g_j' v_k
    n = len(iu)
    h, cross = np.empty((n, n)), np.empty((n, p))
    for a0 in range(0, n, PARAM_CHUNK):
        u, v = iu[a0:a0 + PARAM_CHUNK], iv[a0:a0 + PARAM_CHUNK]
        left = np.concatenate([sgt[u], sgt[v]], axis=2)  # (c, p, 2B)
        x = left @ np.concatenate([ygt[v], ygt[u]], axis=2).transpose(0, 2, 1)
        xg = np.concatenate([x, x @ e], axis=2)  # X_a G
        z = np.concatenate([xg, e.T @ xg], axis=1)  # G' X_a G
        h[a0:a0 + len(u)] = z[:, iu, iv] + z[:, iv, iu]
        rv = np.concatenate([vg[:, v], vg[:, u]]).T[:, :, None]  # (c, 2B, 1)
        cross[a0:a0 + len(u)] = (left @ rv)[:, :, 0]
    return h * np.outer(coef, coef), 2.0 * coef[:, None] * cross


def _structured_block(r2: Rank2, structure: Structure, theta: np.ndarray, g: int,
                      pat: Patterns, terms: PatternTerms) -> np.ndarray:
    """Group ``g``'s :math:`J'(-\\partial^2\\ell/\\partial m\\partial m')J` (``q x q``, global
    parameter indices) by :func:`_structured_terms`; equal parameters (several entries of
    one free index) are summed."""
    q = structure.q
    h_ss, h_sm = _structured_terms(pat, terms, r2.iu, r2.iv, r2.coef, r2.e)
    out = np.zeros((q, q))
    r2.scatter(h_ss, out)
    if structure.meanstructure:
        _, d_mu_local, cols = structure.jacobian(theta, g, sigma=False)
        d_mu = np.zeros((len(d_mu_local), q))
        d_mu[:, cols] = d_mu_local
        cross = np.zeros((q, q))
        np.add.at(cross, r2.free, h_sm @ d_mu)
        h_mm = (pat.n @ terms.inv.reshape(len(pat.n), -1)).reshape(structure.p, structure.p)
        out += cross + cross.T + d_mu.T @ h_mm @ d_mu
    return out


def observed_hessian(structure: Structure, groups: list[GroupStats],
                     theta: np.ndarray) -> np.ndarray:
    """Hessian of :math:`F = -\\tfrac2N\\ell + c` at ``theta`` (``q x q``).

    For the factor model :math:`\\Sigma = \\Lambda\\Phi\\Lambda' + \\Theta` the moment part
    :math:`J'HJ` comes from the rank-2 form of the Jacobian (:mod:`.rank2`,
    :func:`_structured_block`); for other structures from the sparse Jacobian and
    :func:`_contract_ss`."""
    q = structure.q
    n_total = sum(st.n for st in groups)
    info = np.zeros((q, q))
    for g, st in enumerate(groups):
        sigma, mu = structure.implied(theta, g)
        p = len(mu)
        if not structure.meanstructure:
            mu = st.mean
        terms = pattern_terms(st.patterns, mu, sigma, structure.meanstructure)
        if terms is None:
            return np.full((q, q), np.nan)
        r2 = rank2(structure, theta, g)
        if r2 is not None:
            a, b = _moment_terms(st.patterns, terms, structure.meanstructure, first_only=True)
            info += _structured_block(r2, structure, theta, g, st.patterns, terms)
            info -= _second_derivative_terms(structure, theta, g, a, b)
            continue
        a, b, _, h_ms, h_mm = _moment_terms(st.patterns, terms, structure.meanstructure,
                                            ss=False)
        d_sig, d_mu, cols = structure.jacobian(theta, g)
        k = len(cols)
        # the Jacobian of Sigma is sparse (a loading touches one row and column)
        dd = sparse.csr_matrix(d_sig.reshape(k, p * p))
        first = _contract_ss(st.patterns, terms, dd)
        if structure.meanstructure:
            cross = d_mu.T @ np.asarray(dd @ h_ms.T).T
            first += cross + cross.T + d_mu.T @ h_mm @ d_mu
        info[np.ix_(cols, cols)] += first
        info -= _second_derivative_terms(structure, theta, g, a, b)
    return 2.0 / n_total * (info + info.T) / 2.0
