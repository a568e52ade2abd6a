"""Full-information ML estimation: a complete-data start, then Newton steps.

Minimising the FIML discrepancy :math:`F = -\\tfrac2N(\\ell_{H0} - \\ell_{H1})` by Fisher
scoring needs, at every iteration, the expected information of every missing-data pattern
(:math:`\\sum_k n_k\\,\\mathrm{tr}(\\Sigma_{k}^{-1}\\Delta_a\\Sigma_k^{-1}\\Delta_b)` over the
patterns :math:`k`): for a wide longitudinal model (40 variables, ~200 parameters, ~80
patterns) that is tens of billions of operations per iteration. Two observations make it
cheap:

1. The ML fit of the same model to the EM (saturated-model) moments :math:`\\hat\\mu,
   \\hat\\Sigma` *as if they were complete-data moments* is close to the FIML estimate (the
   two coincide when nothing is missing, and differ only through how the missing-data
   patterns weight the misfit). That fit costs one block per group. It is the start.
2. From there Newton's method on :math:`F` with the analytic observed information
   (:mod:`.hessian`, one pair of matrix products over the patterns) converges
   quadratically, in a few steps, to the same optimum: the FIML estimate is defined by
   :math:`\\nabla F = 0`, not by the path taken, so the result is lavaan's (which uses
   quasi-Newton steps from its own start).

Steps are halved until :math:`F` does not increase; when the observed information is not
positive definite (far from the optimum) a Fisher-scoring step on the expected information
is taken instead. Near the optimum the last Hessian is reused (chord steps: a gradient
evaluation each, linear convergence at a rate of the Hessian's change, refreshed when a step
does not cut the gradient tenfold). Convergence: largest gradient element below ``tol``.

References: Arbuckle (1996), Full information estimation in the presence of incomplete data;
Jamshidian & Bentler (1999), ML estimation of mean and covariance structures with missing
data using the EM algorithm (the complete-data problem on EM moments); lavaan
``lav_model_estimate`` (``missing = "ml"``).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from .estimate import _blas_single_thread, _constant
from .samples import Block, GroupStats
from .structure import Structure

__all__ = ["complete_data_groups", "newton_fiml", "fit_nested", "embedding"]


def complete_data_groups(groups: list[GroupStats]) -> list[GroupStats]:
    """Each group's EM moments as if they were complete-data moments (one block)."""
    out = []
    for st in groups:
        p = len(st.mean)
        ll = -st.n / 2.0 * (p * math.log(2 * math.pi) + np.linalg.slogdet(st.cov)[1] + p)
        out.append(GroupStats(st.label, st.n, st.mean, st.cov,
                              [Block(None, st.n, st.mean, st.cov)], float(ll), missing=False))
    return out


def _step(structure: Structure, groups: list[GroupStats], theta: np.ndarray, const: float,
          grad: np.ndarray) -> tuple[np.ndarray, tuple | None]:
    """Newton step on the observed information (and its Cholesky factor), or a
    Fisher-scoring step (factor ``None``) when the observed information is not positive
    definite."""
    from .estimate import discrepancy, observed_information

    hess = observed_information(structure, groups, theta, const, grad=grad, central=False)
    try:
        factor = scipy.linalg.cho_factor(hess)
        return scipy.linalg.cho_solve(factor, grad), factor
    except np.linalg.LinAlgError:
        info = discrepancy(structure, groups, theta, const, derivatives=2)[2]
        try:
            return np.linalg.solve(info, grad), None
        except np.linalg.LinAlgError:
            return np.linalg.lstsq(info, grad, rcond=None)[0], None


def _cho(hess: np.ndarray | None) -> tuple | None:
    """Cholesky factor of ``hess`` (``None`` when absent or not positive definite)."""
    if hess is None:
        return None
    try:
        return scipy.linalg.cho_factor(hess)
    except np.linalg.LinAlgError:
        return None


#: Near the optimum (largest gradient element below this) the last Hessian is reused (chord
#: steps, each a gradient evaluation) while it keeps cutting the gradient tenfold per step.
CHORD_BELOW = 1e-4


def newton_fiml(structure: Structure, groups: list[GroupStats], theta: np.ndarray,
                const: float, *, max_iter: int, tol: float,
                first_hessian: np.ndarray | None = None
                ) -> tuple[np.ndarray, float, bool, int]:
    """Newton iterations on the FIML discrepancy from ``theta`` (chord steps with the last
    Hessian once the gradient is below ``CHORD_BELOW``). ``first_hessian``: used instead
    of the Hessian at ``theta`` for the first step (when positive definite).

    Returns
    -------
    theta, F, converged, iterations
    """
    from .estimate import discrepancy

    f, grad, _ = discrepancy(structure, groups, theta, const, derivatives=1)
    if grad is None:
        return theta, math.inf, False, 0
    factor = _cho(first_hessian)
    for it in range(1, max_iter + 1):
        size = np.max(np.abs(grad))
        if size < tol:
            return theta, f, True, it - 1
        chord = factor is not None and (size < CHORD_BELOW or it == 1)
        if chord:
            step = scipy.linalg.cho_solve(factor, grad)
        else:
            step, factor = _step(structure, groups, theta, const, grad)
        t = 1.0
        while True:
            cand = theta - t * step
            f_new, g_new, _ = discrepancy(structure, groups, cand, const, derivatives=1)
            if math.isfinite(f_new) and f_new <= f + 1e-12 * max(abs(f), 1.0):
                break
            t /= 2.0
            if t < 1e-10:
                break
        if t < 1e-10:
            if chord:  # a stale Hessian: take a fresh Newton step instead
                factor = None
                continue
            return theta, f, bool(size < 1e-7), it
        if chord and np.max(np.abs(g_new)) > 0.1 * size:
            factor = None  # converging too slowly: refresh the Hessian next time
        change = f - f_new
        theta, f, grad = cand, f_new, g_new
        if 0 <= change <= 1e-15 * max(abs(f), 1.0) and np.max(np.abs(grad)) < 1e-6:
            return theta, f, True, it
    return theta, f, bool(np.max(np.abs(grad)) < tol), max_iter


def embedding(union: Structure, structure: Structure) -> np.ndarray:
    """The 0/1 matrix :math:`A` (``union.q x structure.q``) with :math:`\\theta_U =
    A\\theta` for a model whose free entries are all free in ``union`` (equal parameters map
    to several entries), the other entries of ``union`` at the same fixed values."""
    out = np.zeros((union.q, structure.q))
    for g in range(structure.G):
        where = union.free_of(g)
        for entry, j in structure.free_of(g).items():
            out[where[entry], j] = 1.0
    return out


def fit_nested(specs: list, groups: list[GroupStats], union, *, estimator: str = "ml"
               ) -> list:
    """FIML fits of a sequence of models (e.g. configural, metric, scalar) whose free
    parameters are all entries of the model ``union`` (e.g. configural with free latent
    means), each fitted as :func:`.estimate.fit_model` would, with less work:

    * the Hessian :math:`H_U` of F in the union's parameters at each estimate gives that
      model's observed information exactly, :math:`A'H_UA` (:func:`embedding`; the chain
      rule for :math:`\\theta_U = A\\theta`, linear), for its standard errors;
    * the next model starts at the minimum of the quadratic expansion of F around the
      previous estimate (gradient :math:`g_U`) restricted to its parameters,
      :math:`\\theta_0 = (A'H_UA)^{-1}A'(H_U\\theta_U - g_U)`, with :math:`A'H_UA` as its
      first Newton matrix, instead of a complete-data fit and a fresh Hessian.

    The estimates are the minima of the same F (the start and path differ only).
    """
    from .estimate import discrepancy, fit_model, observed_information

    with _blas_single_thread():
        u = Structure(union, len(groups), meanstructure=True)
        const = _constant(groups, True)
        state: dict = {}

        def observed(structure: Structure, theta: np.ndarray) -> np.ndarray:
            a = embedding(u, structure)
            tu = a @ theta
            h = observed_information(u, groups, tu, const)
            state.update(theta=tu, hess=h)
            return a.T @ h @ a

        out = []
        for spec in specs:
            start = first = None
            grad = (discrepancy(u, groups, state["theta"], const, derivatives=1)[1]
                    if state else None)
            if grad is not None and np.isfinite(state["hess"]).all():
                a = embedding(u, Structure(spec, len(groups), meanstructure=True))
                first = a.T @ state["hess"] @ a
                try:
                    start = np.linalg.solve(first, a.T @ (state["hess"] @ state["theta"]
                                                          - grad))
                except np.linalg.LinAlgError:
                    start = first = None
            out.append(fit_model(spec, groups, meanstructure=True, estimator=estimator,
                                 start=start, first_hessian=first, observed=observed))
        return out
