"""Modification indices and score tests for releasing equality constraints (lavaan
``modindices`` and ``lavTestScore(univariate = TRUE)``), complete data, expected information.

For a candidate parameter :math:`\\gamma` fixed in the fitted model (a cross-loading, a
residual covariance, a fixed value) or a group's copy of an equality-constrained parameter,
with :math:`s` the score :math:`\\partial\\ell/\\partial\\gamma` per respondent at the
estimates and the unit expected information partitioned into the model block
:math:`I_{22}` and the candidate :math:`I_{11}`, :math:`I_{12}`,

.. math:: MI = N\\,s^2 / V, \\qquad V = I_{11} - I_{12} I_{22}^{-1} I_{21}, \\qquad
          EPC = s / V

(Sörbom 1989; Saris, Satorra & Sörbom 1987). A group's copy of a shared parameter is
reparametrised as shared value plus a deviation in that group, so the deviation's derivatives
are the shared parameter's derivatives within the group; the statistic equals lavaan's
univariate score test for the ``==`` constraint. Candidates with :math:`V` below
:math:`\\epsilon^{1/3}` (not identified, e.g. a marker loading) are left out, as lavaan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .estimate import Estimate, chol_logdet_inv

__all__ = ["Candidate", "modification_indices", "release_tests", "score_tests",
           "standardized_epc", "candidate_name"]

_V_MIN = np.finfo(float).eps ** (1.0 / 3.0)


@dataclass
class Candidate:
    """A direction to test: its derivatives of Sigma and mu in each group it touches."""

    kind: str
    group: int
    row: int
    col: int
    d_sigma: dict[int, np.ndarray]
    d_mu: dict[int, np.ndarray]


def _group_terms(est: Estimate, g: int):
    """Sigma^-1, W = S + dd' - Sigma style gradient matrix, Sigma^-1 d, weight."""
    s = est.structure
    st = est.groups[g]
    if st.missing:
        raise InputError("modification indices and score tests need complete data",
                         hint="fit with missing='listwise' to screen parameters")
    sigma, mu = s.implied(est.theta, g)
    _, sinv = chol_logdet_inv(sigma)
    d = st.mean - mu if s.meanstructure else np.zeros(s.p)
    gmat = sinv - sinv @ (st.cov + np.outer(d, d)) @ sinv
    return sinv, gmat, sinv @ d, st.n / est.n


def score_tests(est: Estimate, candidates: list[Candidate]) -> list[tuple[float, float]]:
    """``(MI, EPC)`` for each candidate (``(nan, nan)`` when not identified)."""
    s = est.structure
    q = s.q
    terms = [_group_terms(est, g) for g in range(s.G)]
    jac = [s.jacobian(est.theta, g) for g in range(s.G)]
    i22 = est.info if est.information == "expected" else None
    if i22 is None:  # MLR/FIML keep the observed information; score tests use the expected
        from .estimate import discrepancy

        i22 = discrepancy(s, est.groups, est.theta, est.robust["const"],
                          derivatives=2)[2] / 2.0
    i22_inv = np.linalg.inv(i22)
    out = []
    for cand in candidates:
        score = 0.0
        i11 = 0.0
        i12 = np.zeros(q)
        for g, dsig in cand.d_sigma.items():
            sinv, gmat, sid, w = terms[g]
            dmu = cand.d_mu.get(g, np.zeros(s.p))
            # dF/dgamma = w [tr(G D) - 2 (Sigma^-1 d)' dmu]; score of l per N = -dF/2
            score += -0.5 * w * (float(np.sum(gmat * dsig)) - 2.0 * float(sid @ dmu))
            a = sinv @ dsig
            i11 += w * (0.5 * float(np.sum(a * a.T)) + float(dmu @ sinv @ dmu))
            d_sig, d_mu, cols = jac[g]
            m_b = sinv @ d_sig  # k x p x p
            tr = np.einsum("ij,kji->k", a, m_b)
            i12[cols] += w * (0.5 * tr + d_mu.T @ sinv @ dmu)
        v = i11 - float(i12 @ i22_inv @ i12)
        if not v > _V_MIN:
            out.append((math.nan, math.nan))
            continue
        out.append((est.n * score * score / v, score / v))
    return out


def _unit(p: int, i: int, k: int) -> np.ndarray:
    m = np.zeros((p, p))
    m[i, k] = 1.0
    m[k, i] = 1.0
    return m


def modification_indices(est: Estimate) -> list[Candidate]:
    """Candidates of lavaan's ``modindices``: every fixed loading, residual (co)variance and
    factor (co)variance entry (free ones are not candidates), per group, with the mean
    structure also the fixed latent means."""
    s = est.structure
    out = []
    for g in range(s.G):
        free = s.free_of(g)
        lam, phi, _, _, alpha = s.matrices(est.theta, g)
        lp = lam @ phi
        for j in range(s.m):
            for i in range(s.p):
                if ("lambda", i, j) in free:
                    continue
                dsig = np.outer(np.eye(s.p)[i], lp[:, j])
                out.append(Candidate("lambda", g, i, j, {g: dsig + dsig.T},
                                     {g: np.eye(s.p)[i] * alpha[j]}))
        for i in range(s.p):
            for k in range(i + 1):
                if ("theta", i, k) not in free:
                    out.append(Candidate("theta", g, i, k, {g: _unit(s.p, i, k)}, {}))
        for j in range(s.m):
            for k in range(j + 1):
                if ("phi", j, k) not in free:
                    a = np.outer(lam[:, j], lam[:, k])
                    out.append(Candidate("phi", g, j, k, {g: a + a.T if j != k else a}, {}))
        if s.meanstructure:
            for j in range(s.m):
                if ("alpha", j, 0) not in free:
                    out.append(Candidate("alpha", g, j, 0, {g: np.zeros((s.p, s.p))},
                                         {g: lam[:, j].copy()}))
    return out


def release_tests(est: Estimate, kind: str) -> list[Candidate]:
    """One candidate per group (after the first) and shared entry of ``kind`` (``"lambda"``
    or ``"nu"``): the group's deviation from the common value (lavaan's constraint
    ``group 1 == group g``)."""
    s = est.structure
    owners: dict[int, list[int]] = {}
    for prm in s.params:
        if prm.kind == kind:
            owners.setdefault(prm.free, []).append(prm.group)
    out = []
    for g in range(1, s.G):
        d_sig, d_mu, cols = s.jacobian(est.theta, g)
        local = {int(c): i for i, c in enumerate(cols)}
        for prm in (s.params[k] for k in s.by_group[g]):
            if prm.kind != kind or len(set(owners[prm.free])) < 2:
                continue
            a = local[prm.free]
            out.append(Candidate(kind, g, prm.row, prm.col, {g: d_sig[a].copy()},
                                 {g: d_mu[:, a].copy()}))
    return out


def standardized_epc(est: Estimate, cand: Candidate, epc: float) -> float:
    """lavaan's ``sepc.all`` (with ``cov.std = TRUE``): the EPC in the completely
    standardised metric of the fitted model."""
    s = est.structure
    lam, phi, th, _, _ = s.matrices(est.theta, cand.group)
    sigma, _ = s.implied(est.theta, cand.group)
    sd_lv = np.sqrt(np.maximum(np.diag(phi), 0.0))
    if cand.kind == "lambda":
        return epc * sd_lv[cand.col] / math.sqrt(sigma[cand.row, cand.row])
    if cand.kind == "theta":
        i, k = cand.row, cand.col
        denom = th[i, i] if i == k else math.sqrt(max(th[i, i] * th[k, k], 0.0))
        return epc / denom if denom > 0 else math.nan
    if cand.kind == "phi":
        denom = sd_lv[cand.row] * sd_lv[cand.col]
        return epc / denom if denom > 0 else math.nan
    return epc / sd_lv[cand.row] if sd_lv[cand.row] > 0 else math.nan


def candidate_name(est: Estimate, cand: Candidate) -> tuple[str, str, str]:
    """``(lhs, op, rhs)`` of a candidate as lavaan names it."""
    spec = est.structure.spec
    if cand.kind == "lambda":
        return spec.factors[cand.col], "=~", spec.observed[cand.row]
    if cand.kind == "theta":
        return spec.observed[cand.col], "~~", spec.observed[cand.row]
    if cand.kind == "phi":
        return spec.factors[cand.col], "~~", spec.factors[cand.row]
    if cand.kind == "nu":
        return spec.observed[cand.row], "~1", ""
    return spec.factors[cand.row], "~1", ""
