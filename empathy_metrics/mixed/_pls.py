"""Penalised least squares and the profiled deviance of a linear mixed model (lme4's method).

Model ``y = Xβ + Zb + ε`` with ``b = Λθ u``, ``u ~ N(0, σ²I)``, ``ε ~ N(0, σ²I)``, random effects
grouped by one factor (the respondent): each group ``i`` has ``q`` = 1 (intercept) or 2
(intercept and slope) random effects with the same ``q × q`` lower-triangular relative
covariance factor ``T(θ)``, so ``Λθ`` is block diagonal and every matrix of the penalised least
squares (PLS) problem that involves ``Z`` splits into ``q × q`` blocks, one per group. Those
blocks are handled as stacked arrays (closed-form 1×1 and 2×2 Cholesky factors).

Groups with the same ``Z_i'Z_i`` and ``Z_i'X_i`` (in repeated-measures data: the students seen
in the same years with the same subject-level covariates; at most 15 patterns of four years)
share every block except through ``Z_i'y``, and the criterion and its gradient are quadratic in
``Z_i'y``; so the data enter only through per-pattern sufficient statistics computed once in
one pass (group counts, ``Σ Z_i'y`` and ``Σ (Z_i'y)(Z_i'y)'``), and one evaluation costs
O(K q² p + p³) for ``K`` ≤ ``m`` patterns and ``p`` fixed effects, whatever the number of
observations. The same formulas with one pattern per group are lme4's per-group algebra.

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
    """Sufficient statistics of the data, per *pattern* of identical group blocks.

    Groups whose ``Z_i'Z_i`` and ``Z_i'X_i`` are equal (in repeated-measures data: the
    students seen in the same years, with the same subject-level covariates) share every
    matrix of the PLS problem except through ``Z_i'y``; the criterion and its gradient need,
    per pattern ``k``, only the number of groups ``w_k``, ``s1_k = Σ_i Z_i'y`` and
    ``s2_k = Σ_i (Z_i'y)(Z_i'y)'`` (see :func:`evaluate`). One evaluation then costs
    O(K q² p + p³) for ``K`` patterns, at most the number of groups ``m``.

    Stored as a structure of arrays over the patterns: ``ztz[a][b]`` (K,) = Σ z_a z_b of one
    group, ``ztx[a]`` (K, p) = Σ z_a x, ``s1[a]`` (K,), ``s2[a][b]`` (K,), ``w`` (K,);
    ``xtx`` (p, p), ``xty`` (p,), ``yty`` over all data. ``shift`` was subtracted from ``y``
    (absorbed by the intercept, column 0 of ``X``); ``m`` is the number of groups.
    """

    ztz: Mat
    ztx: list
    s1: list
    s2: Mat
    w: np.ndarray
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    n: int
    shift: float
    m: int

    @property
    def n_patterns(self) -> int:
        return self.w.shape[0]

    @property
    def q(self) -> int:
        return len(self.s1)

    @property
    def p(self) -> int:
        return self.xtx.shape[0]


def block_stats(y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray,
                m: int, *, compress: bool = True) -> BlockStats:
    """Cross-products per group by ``np.bincount`` (one pass over the data per column pair),
    then pooled over groups with identical ``Z_i'Z_i`` and ``Z_i'X_i`` (exact equality).

    ``X`` must have the intercept in column 0; ``Z`` is ``(n, q)``; ``groups`` are codes
    0..m-1. ``compress=False`` keeps one pattern per group (the same numbers, for checking).
    """
    shift = float(y.mean())
    yc = y - shift
    n, p = X.shape
    q = Z.shape[1]

    def gsum(v: np.ndarray) -> np.ndarray:
        return np.bincount(groups, weights=v, minlength=m)

    pairs = [(a, b) for a in range(q) for b in range(a + 1)]
    block = np.column_stack([gsum(Z[:, a] * Z[:, b]) for a, b in pairs]
                            + [gsum(Z[:, a] * X[:, c]) for a in range(q) for c in range(p)])
    zy = np.column_stack([gsum(Z[:, a] * yc) for a in range(q)])
    if compress:
        block, pattern = _unique_rows(block)
        k = block.shape[0]
        w = np.bincount(pattern, minlength=k).astype(float)

        def psum(v: np.ndarray) -> np.ndarray:
            return np.bincount(pattern, weights=v, minlength=k)
    else:
        w = np.ones(m)

        def psum(v: np.ndarray) -> np.ndarray:
            return v
    ztz: Mat = [[None] * q for _ in range(q)]
    s2: Mat = [[None] * q for _ in range(q)]
    for j, (a, b) in enumerate(pairs):
        ztz[a][b] = ztz[b][a] = np.ascontiguousarray(block[:, j])
        s2[a][b] = s2[b][a] = psum(zy[:, a] * zy[:, b])
    off = len(pairs)
    ztx = [np.ascontiguousarray(block[:, off + a * p: off + (a + 1) * p]) for a in range(q)]
    s1 = [psum(zy[:, a]) for a in range(q)]
    return BlockStats(ztz=ztz, ztx=ztx, s1=s1, s2=s2, w=w, xtx=X.T @ X, xty=X.T @ yc,
                      yty=float(yc @ yc), n=int(n), shift=shift, m=int(m))


def _unique_rows(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``block`` and each row's index among them (exact equality).

    Rows are keyed by one fixed linear combination of their entries (equal rows give equal
    keys) and the 1-D keys are sorted; the grouping is then checked entry by entry, and a key
    shared by different rows falls back to ``np.unique(axis=0)`` (a slower row sort).
    """
    weights = 1.0 + np.sqrt(np.arange(2, block.shape[1] + 2, dtype=float))
    keys, inverse = np.unique(block @ weights, return_inverse=True)
    inverse = inverse.ravel()
    first = np.empty(keys.size, dtype=np.intp)
    first[inverse[::-1]] = np.arange(inverse.size - 1, -1, -1)
    rows = block[first]
    if not np.array_equal(rows[inverse], block):
        rows, inverse = np.unique(block, axis=0, return_inverse=True)
        inverse = inverse.ravel()
    return rows, inverse


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
    lx: np.ndarray            # lower Cholesky factor of R_X'R_X
    ldL2: float
    ldRX2: float
    pwrss: float
    A: Mat                    # T'G_kT + I per pattern
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


def _trace(A: Mat) -> Any:
    return sum(A[a][a] for a in range(len(A)))


def evaluate(theta: np.ndarray, st: BlockStats) -> PLSResult:
    """Solve the PLS problem at ``theta`` (see the module notes), pattern by pattern.

    With ``P_k = L_k⁻¹T'`` shared by the ``w_k`` groups of pattern ``k``:
    ``Σ_i R_ZX,i'c_u,i = Σ_k R_ZX,k' P_k s1_k`` and
    ``‖c_u‖² = Σ_k tr(P_k s2_k P_k') = Σ_k tr(A_k⁻¹ T' s2_k T)``; ``log|L|²`` and
    ``Σ R_ZX,i'R_ZX,i`` are weighted by ``w_k``.
    """
    q, wt = st.q, st.w
    T = theta_to_T(theta, q)
    Tl = T.tolist()
    Tt = _tr(Tl)
    A = _mm(Tt, _mm(st.ztz, Tl))                       # T'G_kT
    for a in range(q):
        A[a][a] = A[a][a] + 1.0
    L = _chol(A)
    cs = _fsolve(L, [sum(Tt[a][b] * st.s1[b] for b in range(q)) for a in range(q)])
    rzx = _fsolve(L, [sum(Tt[a][b] * st.ztx[b] for b in range(q)) for a in range(q)])
    M = st.xtx - sum((r * wt[:, None]).T @ r for r in rzx)
    lx = np.linalg.cholesky(M)
    rhs = st.xty - sum(r.T @ c for r, c in zip(rzx, cs, strict=True))
    # small p x p triangular systems: LAPACK gesv is faster here than scipy's trtrs wrapper
    cb = np.linalg.solve(lx, rhs)
    beta_c = np.linalg.solve(lx.T, cb)
    cu2 = float(np.sum(_trace(_mm(_inverse(A), _mm(Tt, _mm(st.s2, Tl))))))
    pwrss = st.yty - cu2 - float(cb @ cb)
    pwrss = max(pwrss, 1e-300 * max(st.yty, 1.0))
    ldL2 = 2.0 * float(sum(wt @ np.log(L[k]) for k in ((0,) if q == 1 else (0, 2))))
    ldRX2 = 2.0 * float(np.sum(np.log(np.diag(lx))))
    beta = beta_c.copy()
    beta[0] += st.shift
    return PLSResult(theta=np.asarray(theta, float).copy(), beta=beta, beta_c=beta_c,
                     lx=lx, ldL2=ldL2, ldRX2=ldRX2, pwrss=pwrss, A=A, T=T)


def _inverse(A: Mat) -> Mat:
    """Per-group inverse of 1×1 or 2×2 matrices."""
    if len(A) == 1:
        return [[1.0 / A[0][0]]]
    a, b, c = A[0][0], A[1][0], A[1][1]
    det = a * c - b * b
    off = -b / det
    return [[c / det, off], [off, a / det]]


def _mv(A: Mat, v: list) -> list:
    return [sum(A[a][b] * v[b] for b in range(len(v))) for a in range(len(A))]


def _outer(x: list, y: list) -> Mat:
    return [[xa * yb for yb in y] for xa in x]


def _residual_cross(res: PLSResult, st: BlockStats, Ainv: Mat, Tl: Mat, Tt: Mat) -> Mat:
    """``C_ab = Σ_i w_ia u_ib`` summed over all groups, from the pattern statistics.

    Per group ``u_i = Q_k Z_i'y + a_k`` with ``Q_k = A_k⁻¹T'``, ``a_k = −Q_k Z_k'X β``, and
    ``w_i = Z_i'(y − Xβ − Z_iTu_i) = W_k Z_i'y + b_k`` with ``W_k = I − G_kTQ_k``,
    ``b_k = −Z_k'Xβ − G_kT a_k``; so ``Σ_{i∈k} w_i u_i' = W_k s2_k Q_k' + W_k s1_k a_k' +
    b_k (Q_k s1_k)' + w_k b_k a_k'``.
    """
    q = st.q
    Q = _mm(Ainv, Tt)
    hb = [zx @ res.beta_c for zx in st.ztx]
    a_k = [-v for v in _mv(Q, hb)]
    GT = _mm(st.ztz, Tl)
    GTQ = _mm(GT, Q)
    W = [[(1.0 if a == b else 0.0) - GTQ[a][b] for b in range(q)] for a in range(q)]
    gta = _mv(GT, a_k)
    b_k = [-hb[a] - gta[a] for a in range(q)]
    Ws1 = _mv(W, st.s1)
    Qs1 = _mv(Q, st.s1)
    first = _mm(_mm(W, st.s2), _tr(Q))
    return [[float(np.sum(first[a][b] + Ws1[a] * a_k[b] + b_k[a] * Qs1[b]
                          + st.w * b_k[a] * a_k[b])) for b in range(q)] for a in range(q)]


def gradient(res: PLSResult, st: BlockStats, reml: bool) -> np.ndarray:
    """Analytic gradient of the criterion in θ at the PLS solution ``res``.

    With ``E`` the derivative of ``T`` in one θ element (a single 1 at ``(a, b)``),
    ``A_i = T'G_iT + I`` and ``G_i = Z_i'Z_i``:

    * ``∂ log|L|² = 2 Σ_i (A_i⁻¹ T' G_i)_{ba}``;
    * ``∂ log|R_X|² = −Σ_i tr(∂B_i S_i)``, ``B_i = T A_i⁻¹ T'``, ``S_i = Z_i'X M⁻¹ X'Z_i``,
      ``tr(∂B_i S_i) = 2 (A_i⁻¹T'S_i)_{ba} − 2 (K_i T' G_i)_{ba}``, ``K_i = A_i⁻¹T'S_iTA_i⁻¹``;
    * ``∂ r² = −2 Σ_i w_ia u_ib`` with ``w_i = Z_i'(y − Xβ − Z_iTu_i)`` (envelope theorem),
      summed per pattern by :func:`_residual_cross`.

    The first two sums are over groups, i.e. over patterns weighted by their group counts.
    """
    q, n, p, wt = st.q, st.n, st.p, st.w
    Tl = res.T.tolist()
    Tt = _tr(Tl)
    Ainv = _inverse(res.A)
    TtG = _mm(Tt, st.ztz)
    AiTtG = _mm(Ainv, TtG)
    vinv = res.unscaled_vcov()
    zm = [zx @ vinv for zx in st.ztx]
    S = [[np.einsum("ij,ij->i", zm[a], st.ztx[b]) for b in range(q)] for a in range(q)]
    AiTtS = _mm(Ainv, _mm(Tt, S))
    KTtG = _mm(_mm(_mm(AiTtS, Tl), Ainv), TtG)
    cross = _residual_cross(res, st, Ainv, Tl, Tt)
    g = np.empty(len(_theta_positions(q)))
    for k, (a, b) in enumerate(_theta_positions(q)):
        d_ldL = 2.0 * float(wt @ AiTtG[b][a])
        d_ldRX = -2.0 * (float(wt @ AiTtS[b][a]) - float(wt @ KTtG[b][a]))
        d_pw = -2.0 * cross[a][b]
        if reml:
            g[k] = d_ldL + d_ldRX + (n - p) * d_pw / res.pwrss
        else:
            g[k] = d_ldL + n * d_pw / res.pwrss
    return g
