"""Minimising the profiled criterion over θ and checking the result as lme4 does.

The optimiser is L-BFGS-B (``scipy.optimize.minimize``) with the analytic gradient of
:func:`._pls.gradient`, started at lme4's start (``T = I``) with lme4's bounds (diagonal of ``T``
≥ 0, off-diagonal free). lme4 (``lmerControl()``) uses derivative-free BOBYQA instead, which stops
at a deviance change of 1e-8 and so leaves θ accurate to about 1e-4 relative; with the exact
gradient the minimum is located to the precision of the criterion itself.

Checks after the fit, following lme4's ``optimizeLmer`` and ``checkConv``:

* boundary: a diagonal element of ``T`` within 1e-5 of zero is set to zero when that does not
  increase the criterion (``check.boundary``, ``boundary.tol = 1e-5``);
* singular fit: a diagonal element of ``T`` below 1e-4 (``isSingular(tol = 1e-4)``); the
  gradient checks are then skipped, as in lme4;
* gradient: ``max(min(|H⁻¹ᐟ² g|, |g|)) < 0.002`` (``check.conv.grad``) with ``g`` the gradient
  and ``H`` the Hessian of the criterion (here from central differences of the analytic gradient,
  lme4 uses differences of the criterion, step 1e-4);
* Hessian: no eigenvalue below −1e-6, none within 1e-6 of zero (``check.conv.hess``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from ._pls import BlockStats, PLSResult, evaluate, gradient

__all__ = ["OptimResult", "optimise", "SINGULAR_TOL"]

#: lme4 ``isSingular(tol = 1e-4)`` and ``check.conv.singular`` tolerance.
SINGULAR_TOL = 1e-4
#: lme4 ``lmerControl(boundary.tol = 1e-5)``.
BOUNDARY_TOL = 1e-5
#: lme4 ``check.conv.grad`` and ``check.conv.hess`` tolerances.
GRAD_TOL = 2e-3
HESS_TOL = 1e-6


@dataclass
class OptimResult:
    """θ at the optimum, the PLS solution there, and the convergence diagnosis."""

    theta: np.ndarray
    pls: PLSResult
    criterion: float
    singular: bool
    converged: bool
    n_evaluations: int
    messages: list[str] = field(default_factory=list)


def lower_bounds(q: int) -> np.ndarray:
    """0 for the diagonal elements of ``T``, −∞ for the others (lme4 ``getME(, "lower")``)."""
    return np.array([0.0 if row == col else -np.inf
                     for col in range(q) for row in range(col, q)])


def optimise(st: BlockStats, reml: bool, start: np.ndarray | None = None) -> OptimResult:
    """Minimise the REML criterion (or ML deviance) of ``st`` over θ and check the optimum."""
    q = st.q
    lower = lower_bounds(q)
    x0 = (np.array([1.0 if row == col else 0.0 for col in range(q) for row in range(col, q)])
          if start is None else np.asarray(start, float))
    cache: dict[bytes, PLSResult] = {}

    def pls(theta: np.ndarray) -> PLSResult:
        key = np.asarray(theta, float).tobytes()
        if key not in cache:
            if len(cache) > 8:
                cache.clear()
            cache[key] = evaluate(np.asarray(theta, float), st)
        return cache[key]

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        res = pls(theta)
        return res.criterion(st.n, reml), gradient(res, st, reml)

    bounds = [(0.0 if lo == 0 else None, None) for lo in lower]
    opt = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000, "maxls": 50})
    theta = np.asarray(opt.x, float)
    best = pls(theta).criterion(st.n, reml)
    theta, best = _snap_to_boundary(theta, best, lower, lambda t: pls(t).criterion(st.n, reml))
    res = pls(theta)
    singular = bool(np.any(theta[lower == 0] < SINGULAR_TOL))
    messages: list[str] = []
    converged = bool(np.isfinite(best))
    if not singular and converged:
        converged, messages = _check_convergence(theta, res, st, reml, lower)
    elif not converged:
        messages.append("the optimiser ended at a point where the likelihood is not finite")
    return OptimResult(theta=theta, pls=res, criterion=float(best), singular=singular,
                       converged=converged, n_evaluations=int(opt.nfev), messages=messages)


def _snap_to_boundary(theta: np.ndarray, fval: float, lower: np.ndarray,
                      crit: object) -> tuple[np.ndarray, float]:
    """lme4 ``check.boundary``: try each parameter within 1e-5 of its bound at the bound."""
    theta = theta.copy()
    near = np.flatnonzero((theta - lower > 0) & (theta - lower < BOUNDARY_TOL))
    for i in near:
        trial = theta.copy()
        trial[i] = lower[i]
        f = crit(trial)  # type: ignore[operator]
        if f < fval:
            theta, fval = trial, f
    return theta, fval


def _check_convergence(theta: np.ndarray, res: PLSResult, st: BlockStats, reml: bool,
                       lower: np.ndarray) -> tuple[bool, list[str]]:
    """lme4 ``checkConv``: scaled gradient below 0.002 and a positive definite Hessian."""
    g = gradient(res, st, reml)
    k = theta.size
    H = np.empty((k, k))
    for j in range(k):
        h = 1e-4 * max(abs(theta[j]), 1e-2)
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        H[:, j] = (gradient(evaluate(up, st), st, reml) - gradient(evaluate(dn, st), st, reml)) / (
            2 * h)
    H = (H + H.T) / 2
    messages: list[str] = []
    try:
        chol = np.linalg.cholesky(H)
        scgrad = np.linalg.solve(chol.T, g)  # R: solve(chol(H), g), chol(H) upper = chol.T
    except np.linalg.LinAlgError:
        scgrad = None
    if scgrad is None or not np.all(np.isfinite(scgrad)):
        messages.append("the optimiser did not converge: the curvature of the likelihood at "
                        "the estimate could not be evaluated")
    else:
        worst = float(np.max(np.minimum(np.abs(scgrad), np.abs(g))))
        if worst > GRAD_TOL:
            messages.append(f"the optimiser did not converge: the likelihood is still changing "
                            f"at the estimate (scaled gradient {worst:.2g} > {GRAD_TOL})")
    ev = np.linalg.eigvalsh(H)
    if np.any(ev < -HESS_TOL):
        messages.append("the optimiser did not converge: the estimate is a saddle point, not a "
                        "maximum of the likelihood")
    elif np.any(np.abs(ev) < HESS_TOL):
        messages.append("the variance parameters are not uniquely determined by the data "
                        "(flat likelihood)")
    return not messages, messages
