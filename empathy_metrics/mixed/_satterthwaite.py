"""Satterthwaite degrees of freedom for fixed-effect t-tests, as lmerTest computes them.

lmerTest (Kuznetsova, Brockhoff & Christensen 2017, J Stat Softw 82(13); R ``as_lmerModLT``,
``contest1D``) works on the variance parameters ``φ = (θ, σ)``:

* ``A = 2 H⁻¹``, ``H`` the Hessian of the deviance ``D(θ, σ)`` (REML or ML, *not* profiled over
  σ: ``log|L|² + r²(θ)/σ² + n log(2πσ²)``, plus ``log|R_X|² − p log(2πσ²)`` for REML), taken by
  numDeriv's ``hessian`` (Richardson extrapolation, ``d = 0.1``) and inverted on its positive
  eigenvalues (eigenvalues within 1e-8 of zero are dropped: a Moore–Penrose inverse);
* ``J_k = ∂ Var(β̂)/∂φ_k`` with ``Var(β̂) = σ² (R_X'R_X)⁻¹``, by numDeriv's ``jacobian``
  (Richardson, ``d = 1e-4``);
* for a contrast ``l``: ``ν = 2 (l'Var(β̂)l)² / (g'Ag)`` with ``g_k = l'J_k l``.

The numerical derivatives are reproduced step for step (numDeriv 2016.8, ``genD`` and
``jacobian``), so the df agree with lmerTest's to the precision of the derivatives.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._pls import BlockStats, PLSResult, evaluate

__all__ = ["satterthwaite_df", "numderiv_jacobian", "numderiv_hessian"]

_LOG_2PI = float(np.log(2 * np.pi))
_ZERO_TOL = float(np.sqrt(np.finfo(float).eps / 7e-7))  # numDeriv's zero.tol


def _steps(x: np.ndarray, d: float, eps: float = 1e-4) -> np.ndarray:
    return np.abs(d * x) + eps * (np.abs(x) < _ZERO_TOL)


def _richardson(a: np.ndarray) -> np.ndarray:
    """Richardson extrapolation over the first axis (r = 4 step halvings, v = 2)."""
    r = a.shape[0]
    for m in range(1, r):
        a = (a[1:r - m + 1] * 4.0**m - a[:r - m]) / (4.0**m - 1)
    return a[0]


def numderiv_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                      d: float = 1e-4, r: int = 4) -> np.ndarray:
    """numDeriv ``jacobian(method = "Richardson")``: (len(f), len(x))."""
    x = np.asarray(x, float)
    h0 = _steps(x, d)
    cols = []
    for i in range(x.size):
        h = h0.copy()
        a = []
        for _ in range(r):
            e = np.zeros_like(x)
            e[i] = h[i]
            a.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h[i]))
            h = h / 2
        cols.append(_richardson(np.array(a)))
    return np.column_stack(cols)


def numderiv_hessian(f: Callable[[np.ndarray], float], x: np.ndarray, d: float = 0.1,
                     r: int = 4) -> np.ndarray:
    """numDeriv ``hessian(method = "Richardson")`` via ``genD`` for a scalar function."""
    x = np.asarray(x, float)
    n = x.size
    f0 = f(x)
    h0 = _steps(x, d)
    hdiag = np.empty(n)
    for i in range(n):
        h = h0.copy()
        ha = []
        for _ in range(r):
            e = np.zeros(n)
            e[i] = h[i]
            ha.append((f(x + e) - 2 * f0 + f(x - e)) / h[i] ** 2)
            h = h / 2
        hdiag[i] = _richardson(np.array(ha))
    H = np.diag(hdiag)
    for i in range(n):
        for j in range(i):
            h = h0.copy()
            da = []
            for _ in range(r):
                e = np.zeros(n)
                e[i] += h[i]
                e[j] += h[j]
                da.append((f(x + e) - 2 * f0 + f(x - e) - hdiag[i] * h[i] ** 2
                           - hdiag[j] * h[j] ** 2) / (2 * h[i] * h[j]))
                h = h / 2
            H[i, j] = H[j, i] = _richardson(np.array(da))
    return H


def satterthwaite_df(st: BlockStats, reml: bool, theta: np.ndarray, sigma: float,
                     vcov: np.ndarray, tol: float = 1e-8) -> tuple[np.ndarray, list[str]]:
    """Satterthwaite df of each fixed effect (lmerTest ``summary()``), and warnings.

    Returns the df per coefficient and lmerTest's messages about the Hessian of the deviance
    in plain words (negative or near-zero eigenvalues).
    """
    cache: dict[bytes, PLSResult] = {}

    def pls(th: np.ndarray) -> PLSResult:
        key = th.tobytes()
        if key not in cache:
            cache[key] = evaluate(th, st)
        return cache[key]

    n, p = st.n, st.p

    def deviance(vp: np.ndarray) -> float:
        s2 = vp[-1] ** 2
        res = pls(np.ascontiguousarray(vp[:-1]))
        dev = res.ldL2 + res.pwrss / s2 + n * (_LOG_2PI + np.log(s2))
        if reml:
            dev += res.ldRX2 - p * (_LOG_2PI + np.log(s2))
        return float(dev)

    def covbeta(vp: np.ndarray) -> np.ndarray:
        return (vp[-1] ** 2 * pls(np.ascontiguousarray(vp[:-1])).unscaled_vcov()).ravel()

    varpar = np.append(np.asarray(theta, float), sigma)
    H = numderiv_hessian(deviance, varpar)
    evals, evecs = np.linalg.eigh(H)
    messages = []
    if np.any(evals < -tol):
        messages.append("the likelihood surface of the variance parameters is not at a maximum "
                        "(negative curvature): the Satterthwaite df are unreliable")
    if np.any(np.abs(evals) < tol):
        messages.append("some variance parameters are not determined by the data (flat "
                        "likelihood); the Satterthwaite df ignore them")
    pos = evals > tol
    a_mat = 2 * (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    jac = numderiv_jacobian(covbeta, varpar)          # (p*p, k)
    jac_diag = jac.reshape(p, p, -1)[np.arange(p), np.arange(p)]   # (p, k): d var(β_j) / dφ
    var = np.diag(vcov)
    denom = np.einsum("jk,kl,jl->j", jac_diag, a_mat, jac_diag)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = 2 * var**2 / denom
    return df, messages
