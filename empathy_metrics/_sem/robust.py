"""MLR: Huber-White standard errors and the Yuan-Bentler scaled chi-square (lavaan
``estimator = "MLR"``: ``se = "robust.huber.white"``, ``test = "yuan.bentler.mplus"``,
``information = "observed"``), for complete data and FIML.

Casewise scores
    A row with observed variables :math:`o`, residual :math:`e = y_o - \\mu_o` and
    :math:`G = \\Sigma_{oo}^{-1}ee'\\Sigma_{oo}^{-1} - \\Sigma_{oo}^{-1}` has score
    :math:`s_a = \\tfrac12\\mathrm{tr}(G\\,\\partial\\Sigma/\\partial\\theta_a)
    + e'\\Sigma_{oo}^{-1}\\partial\\mu/\\partial\\theta_a`.
Standard errors
    :math:`\\mathrm{Var}(\\hat\\theta) = A^{-1} B A^{-1}` with :math:`A` the observed information
    (Hessian of :math:`-\\ell`, by finite differences of the analytic gradient) and
    :math:`B = \\sum_i s_i s_i'` (Huber 1967; White 1982).
Scaled test (Yuan & Bentler 2000, Mplus variant; lavaan ``lav_test_yb_mplus_trace``)
    :math:`c = [\\sum_g \\mathrm{tr}(A_{1g}^{-1}B_{1g}) - \\mathrm{tr}(A^{-1}B)]/df` with
    :math:`A_{1g}` the observed information of the saturated model (unstructured, at its ML
    estimates: the sample moments, or EM under FIML) and :math:`B_{1g}` the outer product of
    its casewise scores; ``chisq_scaled`` = :math:`\\chi^2/c`. The independence model's
    scaled statistic (for ``cfi_scaled``/``tli_scaled``) uses the same formula with its own
    :math:`A` and :math:`B` (it is linear in the saturated parameters, so its information is
    :math:`J'A_1J` at its estimates).
"""

from __future__ import annotations

import math

import numpy as np

from .estimate import Estimate, observed_information
from .samples import GroupStats

__all__ = ["robust_fit", "baseline_scaled"]


def _dup(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Duplication matrix ``vec -> vech`` coordinates (``p^2 x p*``) and vech indices."""
    rows, cols = np.tril_indices(p)
    dup = np.zeros((p * p, len(rows)))
    dup[rows * p + cols, np.arange(len(rows))] = 1.0
    dup[cols * p + rows, np.arange(len(rows))] = 1.0
    return dup, np.stack([rows, cols])


def _group_moment_scores(st: GroupStats, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Per row ``[vec(G)/2, Sigma^-1 e]`` embedded in all ``p`` variables (``n x (p^2+p)``)."""
    p = len(mu)
    out = []
    for b in st.blocks:
        o = np.arange(p) if b.obs is None else b.obs
        so = sigma[np.ix_(o, o)]
        sinv = np.linalg.inv(so)
        a = (b.data - mu[o]) @ sinv  # rows x po, Sigma^-1 e
        g = (a[:, :, None] * a[:, None, :] - sinv[None]) / 2.0
        z = np.zeros((b.n, p, p))
        z[:, o[:, None], o[None, :]] = g
        zm = np.zeros((b.n, p))
        zm[:, o] = a
        out.append(np.hstack([z.reshape(b.n, -1), zm]))
    return np.vstack(out)


def _saturated_information(st: GroupStats, mu: np.ndarray, sigma: np.ndarray,
                           dup: np.ndarray, meanstructure: bool) -> np.ndarray:
    """Observed information (Hessian of :math:`-\\ell`) of the saturated model at ``mu``,
    ``sigma`` in ``(mu, vech Sigma)`` coordinates, summed over the group's rows."""
    p = len(mu)
    h_mm = np.zeros((p, p))
    h_ms = np.zeros((p, p, p))
    h_ss = np.zeros((p, p, p, p))
    for b in st.blocks:
        o = np.arange(p) if b.obs is None else b.obs
        sinv = np.linalg.inv(sigma[np.ix_(o, o)])
        d = b.mean - mu[o]
        w = b.cov + np.outer(d, d)
        c = sinv @ w @ sinv
        v = sinv @ d
        h_mm[np.ix_(o, o)] += b.n * sinv
        h_ms[np.ix_(o, o, o)] += b.n * sinv[:, :, None] * v[None, None, :]
        local = (-np.einsum("ru,st->rstu", sinv, sinv) + np.einsum("ru,st->rstu", c, sinv)
                 + np.einsum("st,ru->rstu", c, sinv)) * (b.n / 2.0)
        h_ss[np.ix_(o, o, o, o)] += local
    a_ss = dup.T @ h_ss.reshape(p * p, p * p) @ dup
    if not meanstructure:
        return a_ss
    a_ms = h_ms.reshape(p, p * p) @ dup
    return np.block([[a_ss, a_ms.T], [a_ms, h_mm]])


def _sat_scores(z: np.ndarray, dup: np.ndarray, p: int, meanstructure: bool) -> np.ndarray:
    s = z[:, : p * p] @ dup
    return np.hstack([s, z[:, p * p:]]) if meanstructure else s


def _h1_trace(groups: list[GroupStats], meanstructure: bool) -> float:
    """:math:`\\sum_g\\mathrm{tr}(A_{1g}^{-1}B_{1g})` at the saturated estimates."""
    total = 0.0
    for st in groups:
        p = len(st.mean)
        dup, _ = _dup(p)
        a1 = _saturated_information(st, st.mean, st.cov, dup, meanstructure)
        s1 = _sat_scores(_group_moment_scores(st, st.mean, st.cov), dup, p, meanstructure)
        total += float(np.sum(np.linalg.solve(a1, s1.T) * s1.T))
    return total


def robust_fit(est: Estimate) -> None:
    """Replace ``est.vcov`` by the Huber-White sandwich and store the Yuan-Bentler scaling
    factor in ``est.robust`` (``scaling_factor``, ``trace_h1``, ``trace_h0``)."""
    s = est.structure
    for st in est.groups:
        if st.blocks[0].data is None:  # pragma: no cover - group_stats keeps the data
            raise ValueError("MLR needs the raw data")
    if est.information != "observed":
        est.info = observed_information(s, est.groups, est.theta, est.robust["const"]) / 2.0
        est.information = "observed"
    n = est.n
    meat = np.zeros((s.q, s.q))
    for g, st in enumerate(est.groups):
        sigma, mu = s.implied(est.theta, g)
        if not s.meanstructure:
            mu = st.mean
        d_sig, d_mu, cols = s.jacobian(est.theta, g)
        jac = np.vstack([d_sig.reshape(len(cols), -1).T, d_mu])
        scores = _group_moment_scores(st, mu, sigma) @ jac
        meat[np.ix_(cols, cols)] += scores.T @ scores
    a_inv = np.linalg.inv(n * est.info)
    vcov = a_inv @ meat @ a_inv
    est.vcov = (vcov + vcov.T) / 2.0
    trace_h0 = float(np.sum(a_inv * meat))
    trace_h1 = _h1_trace(est.groups, s.meanstructure)
    df = est.df
    c = (trace_h1 - trace_h0) / df if df > 0 else math.nan
    est.robust.update(trace_h1=trace_h1, trace_h0=trace_h0,
                      scaling_factor=c if (math.isfinite(c) and c > 0) else math.nan)


def baseline_scaled(est: Estimate) -> tuple[float, int]:
    """Scaled chi-square and df of the independence model (free variances, and means),
    fitted to the same data with the same estimator (lavaan ``baseline.chisq.scaled``)."""
    from .fit import baseline

    x2b, dfb = baseline(est.groups)
    meanstructure = est.structure.meanstructure
    trace_h0 = 0.0
    for st in est.groups:
        p = len(st.mean)
        dup, (rows, cols) = _dup(p)
        mu, var = _independence_estimates(st)
        sigma = np.diag(var)
        keep = np.flatnonzero(rows == cols)  # the variances among the vech elements
        if meanstructure:
            keep = np.concatenate([keep, len(rows) + np.arange(p)])
        a_full = _saturated_information(st, mu, sigma, dup, meanstructure)
        a0 = a_full[np.ix_(keep, keep)]
        s0 = _sat_scores(_group_moment_scores(st, mu, sigma), dup, p, meanstructure)[:, keep]
        trace_h0 += float(np.sum(np.linalg.solve(a0, s0.T) * s0.T))
    trace_h1 = est.robust.get("trace_h1")
    if trace_h1 is None:
        trace_h1 = _h1_trace(est.groups, meanstructure)
    c = (trace_h1 - trace_h0) / dfb
    return x2b / c, dfb


def _independence_estimates(st: GroupStats) -> tuple[np.ndarray, np.ndarray]:
    """ML means and variances of the independence model (available cases under FIML)."""
    p = len(st.mean)
    sums = np.zeros(p)
    sq = np.zeros(p)
    counts = np.zeros(p)
    for b in st.blocks:
        o = np.arange(p) if b.obs is None else b.obs
        sums[o] += b.data.sum(axis=0)
        sq[o] += (b.data ** 2).sum(axis=0)
        counts[o] += b.n
    mean = sums / counts
    return mean, sq / counts - mean ** 2
