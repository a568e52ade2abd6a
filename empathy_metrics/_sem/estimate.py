"""Maximum-likelihood estimation (complete data or FIML) by Fisher scoring and Newton steps.

The discrepancy minimised is :math:`F = -\\tfrac2N(\\ell_{H0} - \\ell_{H1})`, so that
:math:`\\chi^2 = N F` at the minimum. For complete data it is lavaan's

.. math:: F = \\sum_g \\frac{N_g}{N} \\left[\\log|\\Sigma_g| + \\mathrm{tr}(S_g\\Sigma_g^{-1})
          - \\log|S_g| - p + (\\bar y_g - \\mu_g)'\\Sigma_g^{-1}(\\bar y_g - \\mu_g)\\right]

(Joreskog 1969) with :math:`S_g` divided by :math:`N_g`; with missing data (FIML) each
pattern of observed items contributes the same expression over its observed rows and columns
and :math:`\\ell_{H1}` is the EM saturated model (:mod:`.missing`).

Fisher scoring (Gauss-Newton on the expected information, step halving when a step does not
decrease :math:`F`) with analytic derivatives, switching to Newton steps on the observed
information after ``NEWTON_AFTER`` iterations (analytic, :mod:`.hessian`, up to ``MAX_P``
variables; a finite-difference Hessian of the analytic gradient beyond, after
``NEWTON_AFTER_NUMERIC``): Fisher scoring converges linearly, slowly for a misfitting
model, Newton quadratically near the optimum. The optimum (gradient below ``tol``) is the
same; only the path differs.

Standard errors: the inverse expected information
:math:`\\mathcal I = \\sum_g \\tfrac{N_g}{2}[\\Delta_g'(\\Sigma_g^{-1}\\otimes\\Sigma_g^{-1})
\\Delta_g + 2\\Delta_{\\mu g}'\\Sigma_g^{-1}\\Delta_{\\mu g}]` for complete data (lavaan
``information = "expected"``), the inverse observed information (the Hessian of
:math:`-\\ell`, lavaan's default with ``missing = "ml"``) under FIML, and the sandwich under
MLR (:mod:`.robust`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.linalg import lapack

from ..errors import DegenerateDataError, InputError
from .hessian import MAX_P
from .rank2 import Rank2, rank2
from .samples import GroupStats
from .structure import Structure
from .syntax import ModelSpec

__all__ = ["Estimate", "fit_model", "discrepancy", "hessian", "observed_information",
           "chol_logdet_inv"]

_potrf = lapack.dpotrf
_potri = lapack.dpotri

#: Fisher-scoring iterations before switching to Newton steps (analytic observed information,
#: up to ``MAX_P`` variables: about the cost of the expected information).
NEWTON_AFTER = 3
#: The same beyond ``MAX_P`` variables, where the Hessian takes ``q`` gradient evaluations.
NEWTON_AFTER_NUMERIC = 20


@dataclass
class Estimate:
    """A fitted model: estimates, covariance matrix of the estimates, fit quantities.

    ``fmin`` is :math:`-\\tfrac2N(\\ell_{H0}-\\ell_{H1})` (lavaan's ``2 * fmin``), ``info``
    the information matrix per unit :math:`N` used for the standard errors (expected or
    observed), ``robust`` the MLR quantities (scaling factor, ...) when computed.
    """

    structure: Structure
    groups: list[GroupStats]
    theta: np.ndarray
    vcov: np.ndarray
    fmin: float
    loglik: float
    converged: bool
    iterations: int
    warnings: list[str]
    estimator: str = "ml"
    information: str = "expected"
    info: np.ndarray | None = None
    robust: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(sum(st.n for st in self.groups))

    @property
    def df(self) -> int:
        return self.structure.n_moments - self.structure.q

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.vcov), 0.0))

    @property
    def missing(self) -> bool:
        return any(st.missing for st in self.groups)


def chol_logdet_inv(sigma: np.ndarray) -> tuple[float, np.ndarray] | None:
    """``(log|Sigma|, Sigma^-1)`` via Cholesky (LAPACK ``potrf``/``potri``), ``None`` when
    ``Sigma`` is not positive definite."""
    c, info = _potrf(sigma, lower=True, clean=False)
    if info != 0:
        return None
    logdet = 2.0 * float(np.log(np.diagonal(c)).sum())
    inv, info = _potri(c, lower=True)
    if info != 0:
        return None
    inv = np.tril(inv)
    return logdet, inv + np.tril(inv, -1).T


def _constant(groups: list[GroupStats], meanstructure: bool) -> float:
    """:math:`\\tfrac1N(\\sum_b n_b p_b\\log2\\pi + 2\\ell_{H1})`, so that F is 0 at H1."""
    n_total = sum(st.n for st in groups)
    c = 0.0
    for st in groups:
        for b in st.blocks:
            po = len(b.mean)
            c += b.n * po * math.log(2 * math.pi)
        c += 2.0 * st.h1_loglik
    return c / n_total


def discrepancy(structure: Structure, groups: list[GroupStats], theta: np.ndarray,
                const: float, *, derivatives: int):
    """F; with ``derivatives >= 1`` its gradient, with ``derivatives == 2`` also the expected
    information (per unit N). Returns ``(inf, None, None)`` when an implied covariance matrix
    is not positive definite.

    The covariance part of the derivatives comes from the rank-2 form of
    :math:`\\partial\\Sigma/\\partial\\theta` (:mod:`.rank2`) for the factor model, from the
    dense Jacobian for other structures."""
    n_total = sum(st.n for st in groups)
    f = const
    q = structure.q
    grad = np.zeros(q) if derivatives else None
    info = np.zeros((q, q)) if derivatives == 2 else None
    for g, st in enumerate(groups):
        sigma, mu = structure.implied(theta, g)
        p = len(mu)
        if st.missing and derivatives < 2:
            part = _fiml_part(structure, st, theta, g, sigma, mu, n_total, derivatives)
            if part is None:
                return math.inf, None, None
            f += part[0]
            if derivatives:
                grad += part[1]
            continue
        if derivatives:
            r2 = rank2(structure, theta, g)
            d_sig_all, d_mu_all, cols = structure.jacobian(theta, g, sigma=r2 is None)
            # dF/dSigma and dF/dmu summed over the blocks, then one chain-rule contraction
            g_sig = np.zeros((p, p))
            g_mu = np.zeros(p)
        for b in st.blocks:
            if b.obs is None:
                s, m = sigma, mu
            else:
                s, m = sigma[b.ix], mu[b.obs]
            dec = chol_logdet_inv(s)
            if dec is None:
                return math.inf, None, None
            logdet, sinv = dec
            d = b.mean - m if structure.meanstructure else np.zeros(len(m))
            w = b.n / n_total
            sid = sinv @ d
            f += w * (logdet + float(np.sum(b.cov * sinv)) + float(d @ sid))
            if not derivatives:
                continue
            gmat = sinv - sinv @ (b.cov + np.outer(d, d)) @ sinv
            if b.obs is None:
                g_sig += w * gmat
                g_mu -= 2.0 * w * sid
            else:
                g_sig[b.ix] += w * gmat
                g_mu[b.obs] -= 2.0 * w * sid
            if derivatives == 2:
                _expected_block(info, b, sinv, w, r2, d_sig_all, d_mu_all, cols)
        if derivatives:
            grad[cols] += g_mu @ d_mu_all
            if r2 is None:
                grad[cols] += d_sig_all.reshape(len(cols), -1) @ g_sig.reshape(-1)
            else:
                grad += r2.gradient(g_sig, q)
    return f, grad, info


def _expected_block(info: np.ndarray, b, sinv: np.ndarray, w: float, r2: Rank2 | None,
                    d_sig_all: np.ndarray | None, d_mu_all: np.ndarray, cols: np.ndarray
                    ) -> None:
    """Add block ``b``'s expected information :math:`w[\\mathrm{tr}(\\Sigma^{-1}\\Delta_a
    \\Sigma^{-1}\\Delta_b) + 2\\Delta_{\\mu a}'\\Sigma^{-1}\\Delta_{\\mu b}]` (observed
    variables of the block) to ``info``: the trace by :meth:`.rank2.Rank2.trace_products`
    (``r2``) or from the dense Jacobian ``d_sig_all``."""
    d_mu = d_mu_all if b.obs is None else d_mu_all[b.obs]
    info[np.ix_(cols, cols)] += w * 2.0 * d_mu.T @ sinv @ d_mu
    if r2 is not None:
        if b.obs is not None:  # padded: the missing variables' rows and columns are 0
            full = np.zeros((len(d_mu_all), len(d_mu_all)))
            full[b.ix] = sinv
            sinv = full
        r2.scatter(w * r2.trace_products(sinv), info)
        return
    k = len(cols)
    d_sig = d_sig_all if b.obs is None else d_sig_all[:, b.obs][:, :, b.obs]
    m_a = sinv @ d_sig  # k x p x p
    tr = m_a.reshape(k, -1) @ m_a.transpose(0, 2, 1).reshape(k, -1).T
    info[np.ix_(cols, cols)] += w * tr


def _fiml_part(structure: Structure, st: GroupStats, theta: np.ndarray, g: int,
               sigma: np.ndarray, mu: np.ndarray, n_total: int, derivatives: int
               ) -> tuple[float, np.ndarray | None] | None:
    """One group's FIML contribution to F (and its gradient, length ``q``) from the batched
    per-pattern terms (:func:`.missing.pattern_terms`): the same sums as the block loop of
    :func:`discrepancy`, without a loop over the patterns in Python. ``None`` when some
    pattern's implied covariance matrix is not positive definite."""
    from .missing import pattern_terms

    pat = st.patterns
    terms = pattern_terms(pat, mu, sigma, structure.meanstructure)
    if terms is None:
        return None
    w = pat.n / n_total
    quad = (np.einsum("bij,bij->b", pat.cov, terms.inv)
            + np.einsum("bi,bi->b", terms.resid, terms.v))
    f = float(w @ (terms.logdet + quad))
    if not derivatives:
        return f, None
    g_sig = np.einsum("b,bij->ij", w, terms.inv) - terms.c_sum(w)
    g_mu = -2.0 * (w @ terms.v)
    r2 = rank2(structure, theta, g)
    d_sig_all, d_mu_all, cols = structure.jacobian(theta, g, sigma=r2 is None)
    grad = np.zeros(structure.q)
    grad[cols] += g_mu @ d_mu_all
    if r2 is None:
        grad[cols] += d_sig_all.reshape(len(cols), -1) @ g_sig.reshape(-1)
    else:
        grad += r2.gradient(g_sig, structure.q)
    return f, grad


def hessian(structure: Structure, groups: list[GroupStats], theta: np.ndarray,
            const: float, *, central: bool = False, grad: np.ndarray | None = None
            ) -> np.ndarray:
    """Hessian of F by finite differences of the analytic gradient (symmetrised)."""
    q = len(theta)
    hess = np.empty((q, q))
    if not central and grad is None:
        grad = discrepancy(structure, groups, theta, const, derivatives=1)[1]
    for a in range(q):
        h = (1e-5 if central else 1e-6) * max(1.0, abs(theta[a]))
        up = theta.copy()
        up[a] += h
        g_up = discrepancy(structure, groups, up, const, derivatives=1)[1]
        if central:
            down = theta.copy()
            down[a] -= h
            g_down = discrepancy(structure, groups, down, const, derivatives=1)[1]
            if g_up is None or g_down is None:
                return np.full((q, q), np.nan)
            hess[:, a] = (g_up - g_down) / (2 * h)
        else:
            if g_up is None:
                return np.full((q, q), np.nan)
            hess[:, a] = (g_up - grad) / h
    return (hess + hess.T) / 2.0


def observed_information(structure: Structure, groups: list[GroupStats], theta: np.ndarray,
                         const: float, grad: np.ndarray | None = None,
                         central: bool = True) -> np.ndarray:
    """Hessian of F: analytic (:mod:`.hessian`) up to ``MAX_P`` variables, otherwise finite
    differences of the analytic gradient."""
    from .hessian import MAX_P, observed_hessian

    if structure.p <= MAX_P:
        return observed_hessian(structure, groups, theta)
    return hessian(structure, groups, theta, const, central=central, grad=grad)


def _blas_single_thread():
    """Limit BLAS to one thread while fitting: the matrices are small (p <= ~100), and a
    multi-threaded BLAS on a busy machine is many times slower for them. A no-op when
    ``threadpoolctl`` is not installed; the library scan is done once per process
    (:func:`empathy_metrics._blas.single_thread_blas`; a fresh ``threadpool_limits`` scans
    the loaded libraries each time, ~2.5 ms)."""
    from .._blas import single_thread_blas

    return single_thread_blas()


def fit_model(spec: ModelSpec, groups: list[GroupStats], *, meanstructure: bool,
              equal: tuple[str, ...] = (), partial: frozenset = frozenset(),
              estimator: str = "ml", max_iter: int = 200, tol: float = 1e-10,
              start: np.ndarray | None = None, first_hessian: np.ndarray | None = None,
              observed: Callable[[Structure, np.ndarray], np.ndarray] | None = None
              ) -> Estimate:
    """ML fit of ``spec`` to the groups (BLAS limited to one thread), with standard errors
    (``estimator = "ml"``) or robust standard errors and the Yuan-Bentler scaled test
    (``"mlr"``, see :mod:`.robust`).

    Improper solutions are reported in ``Estimate.warnings`` (the caller warns). Under FIML,
    ``first_hessian`` (an approximation of the Hessian of F at ``start``) replaces the first
    Newton step's Hessian, and ``observed(structure, theta)`` the Hessian of F at the
    estimate for the standard errors (:func:`.fiml.fit_nested` passes both).

    Raises
    ------
    InputError
        The model has more free parameters than sample moments (negative df).
    DegenerateDataError
        No convergence, or the information matrix is singular (model not identified).
    """
    with _blas_single_thread():
        structure = Structure(spec, len(groups), meanstructure=meanstructure, equal=equal,
                              partial=partial)
        est = _optimise(structure, groups, max_iter=max_iter, tol=tol, start=start,
                        first_hessian=first_hessian)
        _standard_errors(est, observed)
        if estimator == "mlr":
            from .robust import robust_fit

            robust_fit(est)
        est.estimator = estimator
        est.warnings = _admissibility(est)
        return est


def _start(structure: Structure, groups: list[GroupStats], const: float) -> np.ndarray:
    theta = structure.start([st.cov for st in groups], [st.mean for st in groups])
    f = discrepancy(structure, groups, theta, const, derivatives=0)[0]
    if math.isfinite(f):
        return theta
    # safe start: uncorrelated factors and residual variances as large as the items'
    for prm in structure.params:
        if prm.kind == "phi" and prm.row != prm.col:
            theta[prm.free] = 0.0
        elif prm.kind == "theta":
            cov = groups[prm.group].cov
            theta[prm.free] = cov[prm.row, prm.row] if prm.row == prm.col else 0.0
    return theta


def _optimise(structure: Structure, groups: list[GroupStats], *, max_iter: int, tol: float,
              start: np.ndarray | None, first_hessian: np.ndarray | None = None) -> Estimate:
    """Fisher scoring :math:`\\theta \\leftarrow \\theta - \\mathcal I^{-1}\\nabla F` with step
    halving; Newton steps after ``NEWTON_AFTER`` iterations (``NEWTON_AFTER_NUMERIC`` above
    ``MAX_P`` variables) when the observed information is positive definite. Stops when the
    largest gradient element is below ``tol`` or F stops changing (relative 1e-15) with a
    gradient below 1e-6."""
    if structure.n_moments - structure.q < 0:
        raise InputError(
            f"the model has {structure.q} free parameters but the data give only "
            f"{structure.n_moments} variances, covariances and means (df < 0): not identified",
            hint="add indicators, remove residual covariances or fix parameters",
        )
    for st in groups:
        if chol_logdet_inv(st.cov) is None:
            raise DegenerateDataError(
                f"the sample covariance matrix{_group_text(st)} is not positive definite",
                hint="an item is constant or a linear combination of others; drop it",
            )
    const = _constant(groups, structure.meanstructure)
    if any(st.missing for st in groups):
        return _optimise_fiml(structure, groups, const, max_iter=max_iter, tol=tol,
                              start=start, first_hessian=first_hessian)
    theta = _start(structure, groups, const) if start is None else start.copy()
    f, grad, info = discrepancy(structure, groups, theta, const, derivatives=2)
    _check_identified(info)
    converged = False
    it = 0
    newton_after = NEWTON_AFTER if structure.p <= MAX_P else NEWTON_AFTER_NUMERIC
    for step_no in range(1, max_iter + 1):
        it = step_no
        step = None
        if step_no > newton_after:
            hess = observed_information(structure, groups, theta, const, grad=grad,
                                        central=False)
            try:
                np.linalg.cholesky(hess)
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                step = None
        if step is None:
            try:
                step = np.linalg.solve(info, grad)
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(info, grad, rcond=None)[0]
        t = 1.0
        while True:
            cand = theta - t * step
            f_new = discrepancy(structure, groups, cand, const, derivatives=0)[0]
            if math.isfinite(f_new) and f_new <= f + 1e-12 * max(abs(f), 1.0):
                break
            t /= 2.0
            if t < 1e-10:
                f_new = math.nan
                break
        if not math.isfinite(f_new):
            converged = bool(np.max(np.abs(grad)) < 1e-7)
            break
        _, g_new, i_new = discrepancy(structure, groups, cand, const, derivatives=2)
        change = f - f_new
        theta, f, grad, info = cand, f_new, g_new, i_new
        if np.max(np.abs(grad)) < tol or (0 <= change <= 1e-15 * max(abs(f), 1.0)
                                          and np.max(np.abs(grad)) < 1e-6):
            converged = True
            break
    return _finish(structure, groups, theta, f, converged, it, info, const)


def _optimise_fiml(structure: Structure, groups: list[GroupStats], const: float, *,
                   max_iter: int, tol: float, start: np.ndarray | None,
                   first_hessian: np.ndarray | None = None) -> Estimate:
    """FIML: start from the complete-data fit to the EM moments (to 1e-4: the Newton steps
    from there are the same), or from ``start`` when F is finite there, then Newton steps
    (:mod:`.fiml`)."""
    from .fiml import complete_data_groups, newton_fiml

    if start is not None and not math.isfinite(
            discrepancy(structure, groups, start, const, derivatives=0)[0]):
        start = first_hessian = None
    if start is None:
        start = _optimise(structure, complete_data_groups(groups), max_iter=max_iter,
                          tol=1e-4, start=None).theta
    theta, f, converged, it = newton_fiml(structure, groups, start, const,
                                          max_iter=max_iter, tol=tol,
                                          first_hessian=first_hessian)
    return _finish(structure, groups, theta, f, converged, it, None, const)


def _finish(structure: Structure, groups: list[GroupStats], theta: np.ndarray, f: float,
            converged: bool, it: int, info: np.ndarray | None, const: float) -> Estimate:
    """The :class:`Estimate` of a converged fit (an error otherwise)."""
    if not converged:
        raise DegenerateDataError(
            f"the maximum-likelihood estimation did not converge after {it} iterations",
            hint="the model may not fit these data at all (check the items and factors), or "
                 "the sample is too small",
        )
    n_total = sum(st.n for st in groups)
    h1 = sum(st.h1_loglik for st in groups)
    loglik = h1 - n_total * f / 2.0
    est = Estimate(structure, groups, theta, np.zeros((structure.q, structure.q)), f, loglik,
                   converged, it, [])
    est.info = None if info is None else info / 2.0
    est.robust["const"] = const
    return est


def _check_identified(info: np.ndarray | None) -> None:
    """An unidentified model has a singular information matrix at every parameter value."""
    if info is None:
        return
    eig = np.linalg.eigvalsh(info)
    if np.isfinite(eig).all() and eig[0] <= max(eig[-1], 1.0) * 1e-11:
        raise DegenerateDataError(
            "the model is not identified (its information matrix is singular)",
            hint="check that every factor has at least two indicators of its own, that each "
                 "factor has a fixed loading or variance, and that no two items are perfectly "
                 "collinear",
        )


def _standard_errors(est: Estimate, observed: Callable | None = None) -> None:
    """Inverse information: expected (complete data) or observed (FIML; MLR; from
    ``observed(structure, theta)`` when given)."""
    structure, groups = est.structure, est.groups
    if est.missing:
        hess = (observed_information(structure, groups, est.theta, est.robust["const"])
                if observed is None else observed(structure, est.theta))
        est.info = hess / 2.0
        est.information = "observed"
    full_info = est.n * est.info
    eig = np.linalg.eigvalsh(full_info)
    if not np.isfinite(eig).all() or eig[0] <= max(eig[-1], 1.0) * 1e-11:
        raise DegenerateDataError(
            "the model is not identified (its information matrix is singular)",
            hint="check that every factor has at least two indicators of its own, that each "
                 "factor has a fixed loading or variance, and that no two items are perfectly "
                 "collinear",
        )
    vcov = np.linalg.inv(full_info)
    est.vcov = (vcov + vcov.T) / 2.0


def _group_text(st: GroupStats) -> str:
    return "" if st.label is None else f" of group '{st.label}'"


def _admissibility(est: Estimate) -> list[str]:
    """Heywood cases and non-positive-definite factor covariance matrices, as messages."""
    out = []
    s = est.structure
    for g, st in enumerate(est.groups):
        lam, phi, th, _, _ = s.matrices(est.theta, g)
        where = _group_text(st)
        neg = [s.spec.observed[i] for i in range(s.p) if th[i, i] < 0]
        if neg:
            out.append(f"negative residual variance{where} for {', '.join(neg)} (a Heywood "
                       "case): the solution is improper; interpret with caution")
        negf = [s.spec.factors[j] for j in range(s.m) if phi[j, j] <= 0]
        if negf:
            out.append(f"non-positive factor variance{where} for {', '.join(negf)}: the "
                       "solution is improper")
        elif s.m > 1 and np.linalg.eigvalsh(phi)[0] <= 0:
            out.append(f"the factor covariance matrix{where} is not positive definite "
                       "(a factor correlation at or beyond 1): factors may not be distinct")
    return out
