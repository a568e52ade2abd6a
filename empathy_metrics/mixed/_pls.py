"""Penalised least squares and the profiled deviance of a linear mixed model (lme4's method).

Model ``y = Xβ + Zb + ε`` with ``b = Λθ u``, ``u ~ N(0, σ²I)``, ``ε ~ N(0, σ²I)``, random effects
grouped by one factor (the respondent): each group ``i`` has ``q`` = 1 (intercept) or 2
(intercept and slope) random effects with the same ``q × q`` lower-triangular relative
covariance factor ``T(θ)``, so ``Λθ`` is block diagonal and every matrix of the penalised least
squares (PLS) problem that involves ``Z`` splits into ``q × q`` blocks, one per group. Those
blocks are handled as stacked arrays (closed-form 1×1 and 2×2 Cholesky factors), so one
evaluation costs O(m q² p + p³) for ``m`` groups and ``p`` fixed effects, whatever the number of
observations: the data enter only through per-group cross-products computed once.

For a given θ (Bates et al. 2015, sections 3.2–3.6):

* ``L_i L_i' = T' Z_i'Z_i T + I``; ``c_u,i = L_i⁻¹ T' Z_i'y``; ``R_ZX,i = L_i⁻¹ T' Z_i'X``;
* ``R_X' R_X = X'X − Σ R_ZX,i' R_ZX,i``; ``β̂ = (R_X'R_X)⁻¹ (X'y − Σ R_ZX,i' c_u,i)``;
* ``r²(θ) = y'y − ‖c_u‖² − ‖c_β‖²`` with ``c_β = R_X'⁻¹ (X'y − Σ R_ZX,i' c_u,i)`` (the penalised
  residual sum of squares, minimised over β and u);
* ML deviance ``log|L|² + n (1 + log(2π r²/n))``; REML criterion
  ``log|L|² + log|R_X|² + (n−p) (1 + log(2π r²/(n−p)))`` (lme4 ``REMLcrit``).

The gradient of the criterion in θ is analytic (differentiating ``log|A_i|``,
``log|R_X'R_X|`` and, by the envelope theorem, ``r²`` with β and u held at their optimum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BlockStats", "PLSResult", "block_stats", "theta_to_T", "evaluate"]

_LOG_2PI = float(np.log(2 * np.pi))


Mat = list  # a q × q matrix whose entries are per-group arrays (m,) or numbers


@dataclass(frozen=True)
class BlockStats:
    """Per-group cross-products of ``Z``, ``X`` and ``y`` (``y`` shifted by its mean).

    Stored as a structure of arrays, which keeps every per-group operation a fast 1-D numpy
    loop: ``ztz[a][b]`` (m,) = Σ z_a z_b, ``ztx[a]`` (m, p) = Σ z_a x, ``zty[a]`` (m,) = Σ z_a y;
    ``xtx`` (p, p), ``xty`` (p,), ``yty``. ``shift`` was subtracted from ``y`` (absorbed by the
    intercept, column 0 of ``X``).
    """

    ztz: Mat
    ztx: list
    zty: list
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    n: int
    shift: float

    @property
    def m(self) -> int:
        return self.zty[0].shape[0]

    @property
    def q(self) -> int:
        return len(self.zty)

    @property
    def p(self) -> int:
        return self.xtx.shape[0]


def block_stats(y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray,
                m: int) -> BlockStats:
    """Cross-products per group by ``np.bincount`` (one pass over the data per column pair).

    ``X`` must have the intercept in column 0; ``Z`` is ``(n, q)``; ``groups`` are codes 0..m-1.
    """
    shift = float(y.mean())
    yc = y - shift
    n, p = X.shape
    q = Z.shape[1]

    def gsum(w: np.ndarray) -> np.ndarray:
        return np.bincount(groups, weights=w, minlength=m)

    ztz: Mat = [[None] * q for _ in range(q)]
    ztx, zty = [], []
    for a in range(q):
        za = Z[:, a]
        for b in range(a + 1):
            ztz[a][b] = ztz[b][a] = gsum(za * Z[:, b])
        ztx.append(np.column_stack([gsum(za * X[:, c]) for c in range(p)]))
        zty.append(gsum(za * yc))
    return BlockStats(ztz=ztz, ztx=ztx, zty=zty, xtx=X.T @ X, xty=X.T @ yc,
                      yty=float(yc @ yc), n=int(n), shift=shift)


def theta_to_T(theta: np.ndarray, q: int) -> np.ndarray:
    """The relative covariance factor: lower-triangular ``T``, θ its column-wise lower triangle
    (lme4's order: ``θ = (T11, T21, T22)`` for ``q = 2``)."""
    T = np.zeros((q, q))
    k = 0
    for col in range(q):
        for row in range(col, q):
            T[row, col] = theta[k]
            k += 1
    return T


def _theta_positions(q: int) -> list[tuple[int, int]]:
    return [(row, col) for col in range(q) for row in range(col, q)]


def _mm(A: Mat, B: Mat) -> Mat:
    """Product of q × q matrices of per-group arrays (entries may also be plain numbers)."""
    q = len(A)
    return [[sum(A[a][k] * B[k][c] for k in range(q)) for c in range(q)] for a in range(q)]


def _tr(A: Mat) -> Mat:
    return [list(row) for row in zip(*A, strict=True)]


def _col(v: Any, r: np.ndarray) -> Any:
    """Per-group vector ``v`` (m,) shaped to scale ``r`` ((m,) or (m, p))."""
    return v if r.ndim == 1 else v[:, None]


@dataclass
class PLSResult:
    """The solution of the PLS problem at one θ and the pieces of the deviance."""

    theta: np.ndarray
    beta: np.ndarray          # fixed effects on the original y scale
    beta_c: np.ndarray        # fixed effects of the mean-shifted y
    u: list                   # spherical random effects, u[a] (m,)
    lx: np.ndarray            # lower Cholesky factor of R_X'R_X
    ldL2: float
    ldRX2: float
    pwrss: float
    L: tuple                  # per-group Cholesky factors (l11,) or (l11, l21, l22)
    A: Mat                    # T'G_iT + I
    T: np.ndarray

    def criterion(self, n: int, reml: bool) -> float:
        """REML criterion (``reml``) or ML deviance at this θ, profiled over β and σ."""
        p = self.beta.size
        if reml:
            nmp = n - p
            return self.ldL2 + self.ldRX2 + nmp * (1 + _LOG_2PI + np.log(self.pwrss / nmp))
        return self.ldL2 + n * (1 + _LOG_2PI + np.log(self.pwrss / n))

    def sigma(self, n: int, reml: bool) -> float:
        """Residual SD: ``sqrt(r²/(n−p))`` (REML) or ``sqrt(r²/n)`` (ML), as lme4 ``sigma()``."""
        return float(np.sqrt(self.pwrss / (n - self.beta.size if reml else n)))

    def unscaled_vcov(self) -> np.ndarray:
        """``(R_X'R_X)⁻¹``; times σ² it is lme4's ``vcov()`` of the fixed effects."""
        inv = np.linalg.inv(self.lx)
        return inv.T @ inv


def _chol(A: Mat) -> tuple:
    """Cholesky factors of the per-group 1×1 or 2×2 SPD matrices (closed form)."""
    if len(A) == 1:
        return (np.sqrt(A[0][0]),)
    l11 = np.sqrt(A[0][0])
    l21 = A[1][0] / l11
    l22 = np.sqrt(A[1][1] - l21 * l21)
    return l11, l21, l22


def _fsolve(L: tuple, r: list) -> list:
    """Solve ``L_i x_i = r_i``; ``r[a]`` is (m,) or (m, p)."""
    if len(L) == 1:
        return [r[0] / _col(L[0], r[0])]
    l11, l21, l22 = (_col(v, r[0]) for v in L)
    x0 = r[0] / l11
    return [x0, (r[1] - l21 * x0) / l22]


def _bsolve(L: tuple, r: list) -> list:
    """Solve ``L_i' x_i = r_i`` for per-group vectors ``r[a]`` (m,)."""
    if len(L) == 1:
        return [r[0] / L[0]]
    l11, l21, l22 = L
    x1 = r[1] / l22
    return [(r[0] - l21 * x1) / l11, x1]


def evaluate(theta: np.ndarray, st: BlockStats) -> PLSResult:
    """Solve the PLS problem at ``theta`` (see the module notes)."""
    q = st.q
    T = theta_to_T(theta, q)
    Tl = T.tolist()
    Tt = _tr(Tl)
    A = _mm(Tt, _mm(st.ztz, Tl))                       # T'G_iT
    for a in range(q):
        A[a][a] = A[a][a] + 1.0
    L = _chol(A)
    cu = _fsolve(L, [sum(Tt[a][b] * st.zty[b] for b in range(q)) for a in range(q)])
    rzx = _fsolve(L, [sum(Tt[a][b] * st.ztx[b] for b in range(q)) for a in range(q)])
    M = st.xtx - sum(r.T @ r for r in rzx)
    lx = np.linalg.cholesky(M)
    rhs = st.xty - sum(r.T @ c for r, c in zip(rzx, cu, strict=True))
    # small p x p triangular systems: LAPACK gesv is faster here than scipy's trtrs wrapper
    cb = np.linalg.solve(lx, rhs)
    beta_c = np.linalg.solve(lx.T, cb)
    u = _bsolve(L, [c - r @ beta_c for r, c in zip(rzx, cu, strict=True)])
    pwrss = st.yty - sum(float(c @ c) for c in cu) - float(cb @ cb)
    pwrss = max(pwrss, 1e-300 * max(st.yty, 1.0))
    ldL2 = 2.0 * float(sum(np.sum(np.log(L[k])) for k in ((0,) if q == 1 else (0, 2))))
    ldRX2 = 2.0 * float(np.sum(np.log(np.diag(lx))))
    beta = beta_c.copy()
    beta[0] += st.shift
    return PLSResult(theta=np.asarray(theta, float).copy(), beta=beta, beta_c=beta_c, u=u,
                     lx=lx, ldL2=ldL2, ldRX2=ldRX2, pwrss=pwrss, L=L, A=A, T=T)


def _inverse(A: Mat) -> Mat:
    """Per-group inverse of 1×1 or 2×2 matrices."""
    if len(A) == 1:
        return [[1.0 / A[0][0]]]
    a, b, c = A[0][0], A[1][0], A[1][1]
    det = a * c - b * b
    off = -b / det
    return [[c / det, off], [off, a / det]]


def gradient(res: PLSResult, st: BlockStats, reml: bool) -> np.ndarray:
    """Analytic gradient of the criterion in θ at the PLS solution ``res``.

    With ``E`` the derivative of ``T`` in one θ element (a single 1 at ``(a, b)``),
    ``A_i = T'G_iT + I`` and ``G_i = Z_i'Z_i``:

    * ``∂ log|L|² = 2 Σ_i (A_i⁻¹ T' G_i)_{ba}``;
    * ``∂ log|R_X|² = −Σ_i tr(∂B_i S_i)``, ``B_i = T A_i⁻¹ T'``, ``S_i = Z_i'X M⁻¹ X'Z_i``,
      ``tr(∂B_i S_i) = 2 (A_i⁻¹T'S_i)_{ba} − 2 (K_i T' G_i)_{ba}``, ``K_i = A_i⁻¹T'S_iTA_i⁻¹``;
    * ``∂ r² = −2 Σ_i w_ia u_ib`` with ``w_i = Z_i'(y − Xβ − Z_iTu_i)`` (envelope theorem).
    """
    q, n, p = st.q, st.n, st.p
    Tl = res.T.tolist()
    Tt = _tr(Tl)
    Ainv = _inverse(res.A)
    TtG = _mm(Tt, st.ztz)
    AiTtG = _mm(Ainv, TtG)
    GT = _mm(st.ztz, Tl)
    w = [st.zty[a] - st.ztx[a] @ res.beta_c - sum(GT[a][c] * res.u[c] for c in range(q))
         for a in range(q)]
    vinv = res.unscaled_vcov()
    zm = [zx @ vinv for zx in st.ztx]
    S = [[np.einsum("ij,ij->i", zm[a], st.ztx[b]) for b in range(q)] for a in range(q)]
    AiTtS = _mm(Ainv, _mm(Tt, S))
    KTtG = _mm(_mm(_mm(AiTtS, Tl), Ainv), TtG)
    g = np.empty(len(_theta_positions(q)))
    for k, (a, b) in enumerate(_theta_positions(q)):
        d_ldL = 2.0 * float(np.sum(AiTtG[b][a]))
        d_ldRX = -2.0 * (float(np.sum(AiTtS[b][a])) - float(np.sum(KTtG[b][a])))
        d_pw = -2.0 * float(w[a] @ res.u[b])
        if reml:
            g[k] = d_ldL + d_ldRX + (n - p) * d_pw / res.pwrss
        else:
            g[k] = d_ldL + n * d_pw / res.pwrss
    return g
