"""WLSMV: diagonally weighted least squares on thresholds and polychoric correlations, robust
standard errors and the mean-and-variance adjusted test (lavaan ``estimator = "WLSMV"``).

Input per group (:class:`OrdinalGroup`, the fields of
:class:`empathy_metrics._sem.ordinal_stats.OrdinalGroupStats`): ``n``, the sample statistics
:math:`s_g` (thresholds, then polychoric correlations), their asymptotic covariance
:math:`\\Gamma_g` (lavaan's NACOV, :math:`N_g` times the covariance matrix of :math:`s_g`) and
the DWLS weights :math:`w_g = 1/\\mathrm{diag}(\\Gamma_g)`.

Estimation
    Minimises :math:`F = \\sum_g \\tfrac{N_g-1}{N}(s_g - \\sigma_g)'W_g(s_g - \\sigma_g)`
    (lavaan's DWLS objective carries the factor :math:`(N_g-1)/N_g`),
    :math:`W_g = \\mathrm{diag}(w_g)`, :math:`\\sigma_g = \\sigma_g(\\theta)` from
    :class:`~empathy_metrics._sem.ordinal_model.OrdinalStructure`, by Gauss-Newton steps
    :math:`\\theta \\leftarrow \\theta + E_c^{-1}\\sum_g c_g\\Delta_g'W_g(s_g-\\sigma_g)`,
    :math:`c_g = (N_g-1)/N`, :math:`E_c = \\sum_g c_g\\Delta_g'W_g\\Delta_g`; below
    :math:`E = \\sum_g f_g \\Delta_g'W_g\\Delta_g`, :math:`f_g = N_g/N`,
    :math:`\\Delta_g = \\partial\\sigma_g/\\partial\\theta'` (analytic), halving a step that
    does not decrease :math:`F`. lavaan reports ``fmin`` = :math:`F/2`; the test statistic
    is :math:`T = NF = \\sum_g (N_g-1)(s_g-\\hat\\sigma_g)'W_g(s_g-\\hat\\sigma_g)`.
Standard errors (``se = "robust.sem"``; lavaan ``lav_model_nvcov_robust_sem``)
    :math:`\\mathrm{Var}(\\hat\\theta) = \\tfrac1{N-G} E^{-1}\\big[\\sum_g f_g\\Delta_g'W_g
    \\Gamma_g W_g\\Delta_g\\big]E^{-1}`.
Test (``test = "scaled.shifted"``; Asparouhov & Muthen 2010; lavaan
``lav_test_satorra_bentler``)
    With :math:`V = \\oplus_g f_g W_g`, :math:`\\Gamma = \\oplus_g \\Gamma_g/f_g`,
    :math:`\\Delta` the stacked :math:`\\Delta_g` and
    :math:`U = V - V\\Delta E^{-1}\\Delta'V`: :math:`a = \\sqrt{df/\\mathrm{tr}[(U\\Gamma)^2]}`,
    :math:`b = df - a\\,\\mathrm{tr}(U\\Gamma)`, :math:`T_{scaled} = aT + b` on ``df``
    degrees of freedom; lavaan's scaling factor is :math:`1/a`, its shift :math:`b`.
Independence (baseline) model
    Thresholds free, correlations 0: :math:`T_b = \\sum_g (N_g-1)\\sum_c w_c r_c^2` over the
    correlations; :math:`U` is :math:`V` restricted to the correlations, so
    :math:`\\mathrm{tr}(U\\Gamma)` = number of correlations and
    :math:`\\mathrm{tr}[(U\\Gamma)^2] = \\sum_g\\|W_{rg}\\Gamma_{rg}\\|_F^2`.

Assumptions: the latent responses are multivariate normal (which is what the polychoric
correlations assume); complete cases; independent respondents.

References: Muthen B, du Toit SHC, Spisic D (1997). Robust inference using weighted least
squares and quadratic estimating equations in latent variable modeling with categorical and
continuous outcomes. Unpublished technical report. Asparouhov T, Muthen B (2010). Simple
second order chi-square correction. Mplus technical appendix. Rosseel Y (2012). lavaan. *J Stat
Softw* 48(2) (``lav_model_estimate``, ``lav_model_vcov``, ``lav_test_satorra_bentler``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .._distributions import chi2_sf
from ..errors import DegenerateDataError, InputError
from .estimate import Estimate
from .ordinal_model import OrdinalStructure
from .syntax import ModelSpec

__all__ = ["OrdinalGroup", "OrdinalEstimate", "fit_dwls", "baseline_dwls", "satorra_2000"]


class OrdinalGroup(Protocol):
    """What the estimator needs of one group's ordinal sample statistics."""

    label: Any
    n: int
    stats_vector: np.ndarray
    gamma: np.ndarray
    wls_weights: np.ndarray
    corr: np.ndarray
    thresholds: list[np.ndarray]


@dataclass
class OrdinalEstimate(Estimate):
    """A DWLS fit: :class:`~empathy_metrics._sem.estimate.Estimate` with ``fmin`` = :math:`F`
    (so :math:`T = N F`), ``loglik`` NaN, and in ``robust`` the scaled-shifted test
    (``trace_ug``, ``trace_ug2``, ``a``, ``shift``, ``chisq_scaled``)."""

    @property
    def missing(self) -> bool:
        return False


def _n_thresholds(groups: list[OrdinalGroup], p: int) -> list[int]:
    n_th = [len(t) for t in groups[0].thresholds]
    if len(n_th) != p:
        raise InputError("the ordinal statistics do not match the model's items")
    return n_th


def fit_dwls(spec: ModelSpec, groups: list[OrdinalGroup], *, equal: tuple[str, ...] = (),
             partial: frozenset = frozenset(), max_iter: int = 500,
             tol: float = 1e-9) -> OrdinalEstimate:
    """WLSMV fit of ``spec`` (see the module docstring).

    Raises
    ------
    InputError
        More free parameters than sample statistics (df < 0).
    DegenerateDataError
        No convergence, or a singular information matrix (model not identified).
    """
    from .estimate import _blas_single_thread

    with _blas_single_thread():
        structure = OrdinalStructure(spec, _n_thresholds(groups, len(spec.observed)),
                                     len(groups), equal=equal, partial=partial)
        if structure.n_moments - structure.q < 0:
            raise InputError(
                f"the model has {structure.q} free parameters but the data give only "
                f"{structure.n_moments} thresholds and correlations (df < 0): not identified",
                hint="add indicators, remove residual covariances or fix parameters")
        theta, f, it = _optimise(structure, groups, max_iter=max_iter, tol=tol)
        n = sum(st.n for st in groups)
        est = OrdinalEstimate(structure, groups, theta, np.zeros((structure.q,) * 2), f,
                              math.nan, True, it, [], estimator="wlsmv",
                              information="expected")
        jac = [structure.stats_jacobian(theta, g) for g in range(len(groups))]
        e_inv = _information_inverse(structure, groups, jac)
        est.info = np.linalg.inv(e_inv)
        est.vcov = _robust_vcov(groups, jac, e_inv, n)
        est.robust.update(scaled_shifted(groups, jac, e_inv, n * f, est.df))
        est.warnings = _admissibility(est)
        return est


def _objective(structure: OrdinalStructure, groups: list[OrdinalGroup], theta: np.ndarray,
               n: int) -> float:
    return sum((st.n - 1) / n * float(st.wls_weights @ np.square(
        st.stats_vector - structure.implied_stats(theta, g))) for g, st in enumerate(groups))


def _optimise(structure: OrdinalStructure, groups: list[OrdinalGroup], *, max_iter: int,
              tol: float) -> tuple[np.ndarray, float, int]:
    """Gauss-Newton with step halving; converged when the largest gradient element of
    :math:`F` is below ``tol`` (or :math:`F` stops changing with gradient < 1e-6)."""
    n = sum(st.n for st in groups)
    n_tau = structure.n_tau
    theta = structure.start_ordinal([st.corr for st in groups],
                                    [st.stats_vector[:n_tau] for st in groups])
    f = _objective(structure, groups, theta, n)
    for it in range(1, max_iter + 1):
        info = np.zeros((structure.q, structure.q))
        score = np.zeros(structure.q)
        for g, st in enumerate(groups):
            jac = structure.stats_jacobian(theta, g)
            wj = st.wls_weights[:, None] * jac
            resid = st.stats_vector - structure.implied_stats(theta, g)
            info += (st.n - 1) / n * jac.T @ wj
            score += (st.n - 1) / n * wj.T @ resid
        if it == 1:
            _check_identified(info)
        grad = -2.0 * score
        if np.max(np.abs(grad)) < tol:
            return theta, f, it
        step = np.linalg.lstsq(info, score, rcond=None)[0]
        t = 1.0
        while True:
            cand = theta + t * step
            f_new = _objective(structure, groups, cand, n)
            if math.isfinite(f_new) and f_new <= f + 1e-14 * max(f, 1.0):
                break
            t /= 2.0
            if t < 1e-10:
                if np.max(np.abs(grad)) < 1e-6:
                    return theta, f, it
                raise _not_converged(it)
        change = f - f_new
        theta, f = cand, f_new
        if change <= 1e-16 * max(f, 1.0) and np.max(np.abs(grad)) < 1e-6:
            return theta, f, it
    raise _not_converged(max_iter)


def _not_converged(it: int) -> DegenerateDataError:
    return DegenerateDataError(
        f"the WLSMV estimation did not converge after {it} iterations",
        hint="the model may not fit these data (check the items and factors); categories "
             "with very few answers make the polychoric correlations unstable: collapse "
             "rare categories with their neighbours")


def _check_identified(info: np.ndarray) -> None:
    eig = np.linalg.eigvalsh(info)
    if not np.isfinite(eig).all() or eig[0] <= max(eig[-1], 1.0) * 1e-11:
        raise DegenerateDataError(
            "the model is not identified (its information matrix is singular)",
            hint="check that every factor has at least two indicators of its own and a fixed "
                 "loading or variance")


def _information_inverse(structure: OrdinalStructure, groups: list[OrdinalGroup],
                         jac: list[np.ndarray]) -> np.ndarray:
    """:math:`E^{-1}`, :math:`E = \\sum_g f_g\\Delta_g'W_g\\Delta_g`."""
    n = sum(st.n for st in groups)
    info = sum(st.n / n * (j.T @ (st.wls_weights[:, None] * j))
               for st, j in zip(groups, jac, strict=True))
    _check_identified(info)
    inv = np.linalg.inv(info)
    return (inv + inv.T) / 2.0


def _robust_vcov(groups: list[OrdinalGroup], jac: list[np.ndarray], e_inv: np.ndarray,
                 n: int) -> np.ndarray:
    """Sandwich :math:`E^{-1}[\\sum_g f_g\\Delta_g'W_g\\Gamma_gW_g\\Delta_g]E^{-1}/(N-G)`
    (lavaan divides by ``ntotal - ngroups`` for estimators other than ML)."""
    meat = np.zeros_like(e_inv)
    for st, j in zip(groups, jac, strict=True):
        wd = st.wls_weights[:, None] * j
        meat += st.n / n * wd.T @ st.gamma @ wd
    vcov = e_inv @ meat @ e_inv / (n - len(groups))
    return (vcov + vcov.T) / 2.0


def scaled_shifted(groups: list[OrdinalGroup], jac: list[np.ndarray], e_inv: np.ndarray,
                   chisq: float, df: int) -> dict[str, float]:
    """The mean-and-variance adjusted (scaled-shifted) statistic (module docstring)."""
    n = sum(st.n for st in groups)
    fg = np.array([st.n / n for st in groups])
    v_all = np.concatenate([f * st.wls_weights for f, st in zip(fg, groups, strict=True)])
    delta = np.vstack(jac)
    vd = v_all[:, None] * delta
    u = np.diag(v_all) - vd @ e_inv @ vd.T
    sizes = [len(st.wls_weights) for st in groups]
    gamma = np.zeros((sum(sizes), sum(sizes)))
    at = 0
    for f, st, k in zip(fg, groups, sizes, strict=True):
        gamma[at:at + k, at:at + k] = st.gamma / f
        at += k
    ug = u @ gamma
    tr1 = float(np.sum(u * gamma))
    tr2 = float(np.sum(ug * ug.T))
    return _adjust(chisq, df, tr1, tr2)


def _adjust(chisq: float, df: int, tr1: float, tr2: float) -> dict[str, float]:
    if df <= 0 or not tr2 > 0:
        nan = math.nan
        return {"trace_ug": tr1, "trace_ug2": tr2, "a": nan, "shift": nan,
                "scaling_factor": nan, "chisq_scaled": nan}
    a = math.sqrt(df / tr2)
    shift = df - a * tr1
    return {"trace_ug": tr1, "trace_ug2": tr2, "a": a, "shift": shift,
            "scaling_factor": 1.0 / a, "chisq_scaled": a * chisq + shift}


def baseline_dwls(groups: list[OrdinalGroup], n_tau: int) -> dict[str, float]:
    """Independence model: thresholds free, correlations 0 (module docstring); ``chisq``,
    ``df`` and the scaled-shifted ``chisq_scaled``."""
    x2 = 0.0
    df = 0
    tr1 = 0.0
    tr2 = 0.0
    for st in groups:
        w = st.wls_weights[n_tau:]
        r = st.stats_vector[n_tau:]
        x2 += (st.n - 1) * float(w @ np.square(r))
        df += len(r)
        wg = w[:, None] * st.gamma[n_tau:, n_tau:]
        tr1 += float(np.trace(wg))
        tr2 += float(np.sum(wg * wg.T))
    out = _adjust(x2, df, tr1, tr2)
    out.update(chisq=x2, df=df)
    return out


def pvalue(x2: float, df: float) -> float:
    return float(chi2_sf(x2, df)) if df > 0 else math.nan


def _admissibility(est: OrdinalEstimate) -> list[str]:
    """Negative residual variances of the latent responses (loadings beyond 1 in the
    standardised metric) and non-positive-definite factor covariance matrices."""
    out = []
    s = est.structure
    for g, st in enumerate(est.groups):
        where = "" if st.label is None else f" of group '{st.label}'"
        th = s.residual_variances(est.theta, g)
        neg = [s.spec.observed[i] for i in range(s.p) if th[i] < 0]
        if neg:
            out.append(f"negative residual variance{where} for {', '.join(neg)} (a Heywood "
                       "case: a standardised loading beyond 1): the solution is improper; "
                       "interpret with caution")
        _, phi, _, _, _ = s.matrices(est.theta, g)
        if s.m > 1 and np.linalg.eigvalsh(phi)[0] <= 0:
            out.append(f"the factor covariance matrix{where} is not positive definite "
                       "(a factor correlation at or beyond 1): factors may not be distinct")
    return out


def satorra_2000(free: OrdinalEstimate, restricted: OrdinalEstimate) -> dict[str, float]:
    """Scaled-shifted difference test of nested WLSMV fits (lavaan ``lavTestLRT``'s default
    for ``test = "scaled.shifted"``: ``lav_test_diff_Satorra2000`` with ``H1 = TRUE``,
    ``A.method = "delta"``).

    With :math:`\\Pi` the stacked Jacobian of the less restricted model (at its estimates),
    :math:`\\Pi_0` that of the restricted model (at its own), :math:`H = \\Pi^+\\Pi_0` and
    :math:`A` an orthonormal basis of the orthogonal complement of the columns of :math:`H`
    (the constraints, in the free model's parameters), :math:`P = E` (unit information of
    the free model), :math:`M = P^{-1}A'(AP^{-1}A')^+AP^{-1}`:
    :math:`\\mathrm{tr}_1 = \\sum_g f_g\\mathrm{tr}(W_g\\Gamma_gW_g\\Pi_gM\\Pi_g')`,
    :math:`\\mathrm{tr}_2 = \\mathrm{tr}[(U\\Gamma)^2]` with :math:`U = W\\Pi M\\Pi'W`,
    :math:`\\Gamma = \\oplus_g f_g\\Gamma_g`; then with :math:`m = df_0 - df_1`,
    :math:`a = \\sqrt{m/\\mathrm{tr}_2}`, :math:`b = m - a\\,\\mathrm{tr}_1`, the difference
    :math:`(T_0 - T_1)a + b` on :math:`m` df (Satorra 2000; Asparouhov & Muthen 2010).
    Returns ``chisq_diff``, ``df_diff``, ``pvalue``.
    """
    groups = free.groups
    n = free.n
    m = restricted.df - free.df
    diff = n * (restricted.fmin - free.fmin)
    if m <= 0:
        return {"chisq_diff": diff, "df_diff": int(m), "pvalue": math.nan}
    pi = [free.structure.stats_jacobian(free.theta, g) for g in range(len(groups))]
    pi0 = np.vstack([restricted.structure.stats_jacobian(restricted.theta, g)
                     for g in range(len(groups))])
    ginv_tol = math.sqrt(np.finfo(float).eps)  # MASS::ginv's tolerance
    h = np.linalg.pinv(np.vstack(pi), rcond=ginv_tol) @ pi0
    u_h, sv, _ = np.linalg.svd(h, full_matrices=True)
    rank = int(np.sum(sv > max(h.shape) * np.finfo(float).eps * sv[0]))
    a_mat = u_h[:, rank:].T
    p_inv = np.linalg.inv(free.info)
    apa = a_mat @ p_inv @ a_mat.T
    mid = p_inv @ a_mat.T @ np.linalg.pinv(apa, rcond=ginv_tol) @ a_mat @ p_inv
    fg = [st.n / n for st in groups]
    tr1 = 0.0
    blocks = []
    for f, st, j in zip(fg, groups, pi, strict=True):
        wj = st.wls_weights[:, None] * j
        tr1 += f * float(np.sum((wj @ mid @ wj.T) * st.gamma))
        blocks.append((wj, f * st.gamma))
    w_pi = np.vstack([b[0] for b in blocks])
    u = w_pi @ mid @ w_pi.T
    sizes = [len(st.wls_weights) for st in groups]
    ug = np.empty_like(u)
    at = 0
    for (_, gam), k in zip(blocks, sizes, strict=True):
        ug[:, at:at + k] = u[:, at:at + k] @ gam
        at += k
    tr2 = float(np.sum(ug * ug.T))
    a = math.sqrt(m / tr2)
    stat = diff * a + (m - a * tr1)
    return {"chisq_diff": stat, "df_diff": int(m), "pvalue": pvalue(max(stat, 0.0), m)}
