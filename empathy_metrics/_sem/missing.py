"""Missing data for full-information ML: patterns and the saturated (H1) model by EM.

The casewise normal log-likelihood (Arbuckle 1996; lavaan ``missing = "ml"``) of a row with
observed variables :math:`o` is

.. math:: \\ell_i = -\\tfrac12\\left[p_o\\log 2\\pi + \\log|\\Sigma_{oo}|
          + (y_{io}-\\mu_o)'\\Sigma_{oo}^{-1}(y_{io}-\\mu_o)\\right].

Rows with the same pattern share :math:`\\Sigma_{oo}^{-1}`, so a pattern contributes
:math:`-\\tfrac{n_k}2[p_o\\log2\\pi + \\log|\\Sigma_{oo}| + \\mathrm{tr}(S_k\\Sigma_{oo}^{-1})
+ (\\bar y_k-\\mu_o)'\\Sigma_{oo}^{-1}(\\bar y_k-\\mu_o)]` with the pattern's mean
:math:`\\bar y_k` and covariance :math:`S_k` (divided by :math:`n_k`).

The saturated model (free :math:`\\mu`, :math:`\\Sigma`) is fitted by the EM algorithm
(Dempster, Laird & Rubin 1977; Little & Rubin 2002, section 11.2), as lavaan's
``lav_mvnorm_missing_h1_estimate_moments``; the chi-square of a model is
:math:`2(\\ell_{H1} - \\ell_{H0})`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.linalg
from scipy import sparse

from ..errors import DegenerateDataError
from .samples import Block

__all__ = ["pattern_blocks", "em_moments", "block_loglik", "Patterns", "pack", "pattern_terms",
           "pattern_loglik"]


def pattern_blocks(values: np.ndarray) -> list[Block]:
    """Rows grouped by their pattern of observed columns (largest pattern first)."""
    observed = ~np.isnan(values)
    if observed.shape[1] <= 63:  # each row as an integer (first column most significant):
        # the same lexicographic order as np.unique(axis=0), without sorting row records
        weights = 1 << np.arange(observed.shape[1] - 1, -1, -1, dtype=np.int64)
        codes, inverse = np.unique(observed @ weights, return_inverse=True)
        keys = (codes[:, None] & weights) != 0
    else:
        keys, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    blocks = []
    for k, key in enumerate(keys):
        obs = np.flatnonzero(key)
        rows = values[inverse == k][:, obs]
        mean = rows.mean(axis=0)
        c = rows - mean
        cov = c.T @ c / rows.shape[0]
        blocks.append(Block(None if len(obs) == values.shape[1] else obs, rows.shape[0], mean,
                            (cov + cov.T) / 2.0, rows))
    blocks.sort(key=lambda b: -b.n)
    return blocks


@dataclass
class Patterns:
    """The blocks packed for batched linear algebra: every array zero-padded to ``p``
    variables (``B`` patterns).

    ``pair`` is 1 where both variables of a covariance are observed, ``fill`` the identity on
    the missing part of the diagonal, so that :math:`\\Sigma\\circ\\text{pair} + \\text{fill}`
    is block diagonal :math:`\\mathrm{diag}(\\Sigma_{oo}, I)` up to a permutation: its
    Cholesky factor, log-determinant and inverse are those of :math:`\\Sigma_{oo}` (padded).
    """

    n: np.ndarray  # (B,) rows per pattern
    n_obs: np.ndarray  # (B,) observed variables per pattern
    mask: np.ndarray  # (B, p) observed
    pair: np.ndarray  # (B, p, p) 0/1
    fill: np.ndarray  # (B, p, p)
    mean: np.ndarray  # (B, p) pattern means, 0 where missing
    cov: np.ndarray  # (B, p, p) pattern covariances (divided by n), 0 where missing
    root: np.ndarray  # (R,) patterns whose Sigma_oo is inverted directly
    parent: np.ndarray  # (B,) position in ``root`` of the pattern's root
    drop: np.ndarray  # (B, k) variables of the root not observed in the pattern (padded)
    dmask: np.ndarray  # (B, k) 1 for the entries of ``drop`` in use, 0 for padding
    full: np.ndarray  # patterns whose S_k is used as it is (rank above LOW_RANK)
    low: np.ndarray  # patterns with 0 < rank S_k <= LOW_RANK
    factor: np.ndarray  # (len(low), p, r) F_k with S_k = F_k F_k' (padded)
    #: the last :func:`pattern_terms` result and its key (a Newton step's Hessian and the
    #: next model's start gradient are evaluated where the last gradient was)
    last: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def total(self) -> int:
        return int(self.n.sum())


def pack(blocks: list[Block], p: int) -> Patterns:
    """Pack ``blocks`` (:func:`pattern_blocks`) into :class:`Patterns`."""
    nb = len(blocks)
    mask = np.zeros((nb, p), dtype=bool)
    mean = np.zeros((nb, p))
    cov = np.zeros((nb, p, p))
    for k, b in enumerate(blocks):
        o = np.arange(p) if b.obs is None else b.obs
        mask[k, o] = True
        mean[k, o] = b.mean
        cov[k][np.ix_(o, o)] = b.cov
    pair = (mask[:, :, None] & mask[:, None, :]).astype(float)
    fill = np.eye(p) * (~mask)[:, None, :]
    return Patterns(np.array([b.n for b in blocks], dtype=float), mask.sum(axis=1), mask,
                    pair, fill, mean, cov, *_roots(mask), *_spread_factors(blocks, p))


#: Patterns whose covariance matrix has at most this rank (fewer than ``LOW_RANK + 2``
#: rows) enter :math:`K S K` through a factor :math:`S = FF'` (:func:`pattern_terms`).
LOW_RANK = 8


def _spread_factors(blocks: list[Block], p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patterns by the rank of their covariance :math:`S_k` (at most ``n_k - 1``): those
    above ``LOW_RANK``, those below with a factor :math:`F_k` (``p x r``, zero-padded;
    :math:`S_k = F_kF_k'` from the eigen-decomposition), and none for single rows
    (:math:`S_k = 0`). Longitudinal data have many single-row patterns."""
    rank = np.array([min(b.n - 1, len(b.mean)) for b in blocks])
    full = np.flatnonzero(rank > LOW_RANK)
    low = np.flatnonzero((rank > 0) & (rank <= LOW_RANK))
    factor = np.zeros((len(low), p, max(rank[low], default=0)))
    for j, k in enumerate(low):
        b, r = blocks[k], rank[k]
        o = np.arange(p) if b.obs is None else b.obs
        val, vec = np.linalg.eigh(b.cov)
        factor[j][np.ix_(o, np.arange(r))] = vec[:, -r:] * np.sqrt(np.clip(val[-r:], 0, None))
    return full, low, factor


#: A pattern whose observed variables are those of another pattern less at most this many
#: gets its :math:`\Sigma_{oo}^{-1}` from that pattern's inverse (:func:`pattern_terms`).
MAX_DROP = 4


def _roots(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Roots and parents for :func:`pattern_terms`: patterns in decreasing order of observed
    variables; each becomes a root unless a root observes all its variables and at most
    ``MAX_DROP`` more (the one with fewest more is its parent). Longitudinal data: a root
    per set of occasions, the patterns with skipped items below it."""
    order = np.argsort(-mask.sum(axis=1), kind="stable")
    roots: list[int] = []
    parent = np.zeros(len(mask), dtype=int)
    extra: list[np.ndarray] = [np.zeros(0, dtype=int)] * len(mask)
    for b in order:
        cand = mask[roots]
        more = (cand & ~mask[b]).sum(axis=1)
        ok = ~(mask[b] & ~cand).any(axis=1) & (more <= MAX_DROP)
        if ok.any():
            j = int(np.flatnonzero(ok)[np.argmin(more[ok])])
            parent[b], extra[b] = j, np.flatnonzero(mask[roots[j]] & ~mask[b])
        else:
            parent[b] = len(roots)
            roots.append(int(b))
    k = max(len(e) for e in extra)
    drop = np.zeros((len(mask), k), dtype=int)
    dmask = np.zeros((len(mask), k))
    for b, e in enumerate(extra):
        drop[b, :len(e)] = e
        dmask[b, :len(e)] = 1.0
    return np.array(roots, dtype=int), parent, drop, dmask


@dataclass
class PatternTerms:
    """Per pattern at :math:`(\\mu, \\Sigma)`, padded with zeros: :math:`\\log|\\Sigma_{oo}|`,
    :math:`K = \\Sigma_{oo}^{-1}`, the residual mean :math:`d = \\bar y - \\mu_o`,
    :math:`v = Kd` and (computed when first used) :math:`C = K(S + dd')K`, or only the
    weighted sum :math:`\\sum_k w_kC_k` (:meth:`c_sum`): a log-likelihood needs neither."""

    logdet: np.ndarray
    inv: np.ndarray
    resid: np.ndarray
    v: np.ndarray
    pat: Patterns = field(repr=False)

    def _spread(self):
        """:math:`KSK` of the full-rank patterns and :math:`KF` of the low-rank ones (single
        rows: :math:`S = 0`)."""
        pat = self.pat
        ksk = self.inv[pat.full] @ pat.cov[pat.full] @ self.inv[pat.full]
        kf = self.inv[pat.low] @ pat.factor
        return ksk, kf

    @cached_property
    def c(self) -> np.ndarray:
        c = self.v[:, :, None] * self.v[:, None, :]
        ksk, kf = self._spread()
        c[self.pat.full] += ksk
        c[self.pat.low] += kf @ kf.transpose(0, 2, 1)
        return c

    def c_sum(self, w: np.ndarray) -> np.ndarray:
        """:math:`\\sum_k w_kC_k` without the per-pattern :math:`C_k`."""
        pat = self.pat
        ksk, kf = self._spread()
        kfw = kf * np.sqrt(w[pat.low])[:, None, None]  # weights are counts (>= 0)
        kfw = kfw.transpose(1, 0, 2).reshape(kf.shape[1], -1)
        return ((self.v.T * w) @ self.v + np.einsum("b,bij->ij", w[pat.full], ksk)
                + kfw @ kfw.T)


def pattern_terms(pat: Patterns, mu: np.ndarray, sigma: np.ndarray,
                  meanstructure: bool = True) -> PatternTerms | None:
    """:class:`PatternTerms` of every pattern by batched LAPACK (no loop in Python); ``None``
    when some :math:`\\Sigma_{oo}` is not positive definite. Without a mean structure the
    residual means are 0.

    Only the roots' :math:`\\Sigma_{OO}` (:func:`_roots`) are factored and inverted; a pattern
    observing :math:`o = O\\setminus m` of its root's variables follows from the root's
    inverse :math:`P = \\Sigma_{OO}^{-1}` by the partitioned inverse (Schur complement):

    .. math:: \\Sigma_{oo}^{-1} = P_{oo} - P_{om}P_{mm}^{-1}P_{mo}, \\qquad
              \\log|\\Sigma_{oo}| = \\log|\\Sigma_{OO}| + \\log|P_{mm}|

    (:math:`P_{mm}^{-1}` is the Schur complement of :math:`\\Sigma_{oo}`; Magnus & Neudecker
    1999, ch. 1), :math:`O(p^2|m|)` per pattern instead of :math:`O(p^3)`. A principal
    submatrix of a positive definite matrix is positive definite, so checking the roots
    suffices. The result at the last ``(mu, sigma)`` is kept on ``pat`` and returned again
    for the same arguments (the terms are not modified by their users)."""
    key = (meanstructure, mu.tobytes(), sigma.tobytes())
    if pat.last is not None and pat.last[0] == key:
        return pat.last[1]
    terms = _pattern_terms(pat, mu, sigma, meanstructure)
    pat.last = (key, terms)
    return terms


def _pattern_terms(pat: Patterns, mu: np.ndarray, sigma: np.ndarray,
                   meanstructure: bool) -> PatternTerms | None:
    """:func:`pattern_terms` without the cache."""
    root_st = sigma * pat.pair[pat.root] + pat.fill[pat.root]
    try:
        chol = np.linalg.cholesky(root_st)
    except np.linalg.LinAlgError:
        return None
    logdet = (2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1))[pat.parent]
    inv = (np.linalg.inv(root_st) - pat.fill[pat.root])[pat.parent]
    if pat.drop.shape[1]:
        try:
            inv, logdet = _downdate(pat, inv, logdet)
        except np.linalg.LinAlgError:  # rounding: some P_mm not numerically PD
            return None
    inv = inv + inv.transpose(0, 2, 1)
    inv *= 0.5
    resid = (pat.mean - mu) * pat.mask if meanstructure else np.zeros_like(pat.mean)
    v = np.einsum("bij,bj->bi", inv, resid)
    return PatternTerms(logdet, inv, resid, v, pat)


def _downdate(pat: Patterns, inv: np.ndarray, logdet: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Each pattern's :math:`\\Sigma_{oo}^{-1}` and :math:`\\log|\\Sigma_{oo}|` from its
    root's (``inv``, ``logdet`` per pattern): :func:`pattern_terms`, batched with the dropped
    variables padded (a zero column of :math:`P_{om}` and a unit diagonal of :math:`P_{mm}`
    change nothing; roots drop none)."""
    nb, p = pat.mask.shape
    rows = np.arange(nb)[:, None]
    p_om = inv[rows[:, :, None], np.arange(p)[None, :, None], pat.drop[:, None, :]]
    p_om *= pat.dmask[:, None, :]
    k = pat.drop.shape[1]
    p_mm = p_om[rows, pat.drop] * pat.dmask[:, :, None] + np.eye(k) * (1.0 - pat.dmask)[:, None]
    chol = np.linalg.cholesky(p_mm)
    logdet = logdet + 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    # P_om P_mm^-1 P_mo = V V' with V = P_om L^-T (P_mm = LL'); contiguous operands keep
    # the batched products in BLAS
    v = np.ascontiguousarray(p_om) @ np.ascontiguousarray(np.linalg.inv(chol).transpose(0, 2, 1))
    out = v @ np.ascontiguousarray(v.transpose(0, 2, 1))
    np.subtract(inv, out, out=out)  # in place: fresh 1 MB temporaries cost page faults
    out *= pat.pair
    return out, logdet


def pattern_loglik(pat: Patterns, terms: PatternTerms | None) -> float:
    """:math:`\\sum_k\\ell_k` (module docstring) from :func:`pattern_terms`."""
    if terms is None:
        return -math.inf
    quad = np.einsum("bij,bij->b", pat.cov, terms.inv) + np.einsum("bi,bi->b", terms.resid,
                                                                    terms.v)
    return float(-0.5 * pat.n @ (pat.n_obs * math.log(2 * math.pi) + terms.logdet + quad))


def block_loglik(blocks: list[Block], mean: np.ndarray, cov: np.ndarray) -> float:
    """Casewise normal log-likelihood of every block at ``mean``, ``cov``."""
    pat = pack(blocks, len(mean))
    return pattern_loglik(pat, pattern_terms(pat, mean, cov))


def _duplication(p: int) -> sparse.csr_matrix:
    """The duplication matrix :math:`D` (``p^2 x p(p+1)/2``): :math:`\\mathrm{vec}\\,\\Sigma
    = D\\,\\mathrm{vech}\\,\\Sigma` (Magnus & Neudecker 1999)."""
    r, c = np.tril_indices(p)
    k = np.arange(len(r))
    rows = np.concatenate([r * p + c, (c * p + r)[r != c]])
    cols = np.concatenate([k, k[r != c]])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(p * p, len(r)))


def _saturated_gradient(a: np.ndarray, b: np.ndarray, dup: sparse.csr_matrix) -> np.ndarray:
    """:math:`\\partial\\ell/\\partial(\\mu, \\mathrm{vech}\\,\\Sigma)` from
    :math:`\\partial\\ell/\\partial\\Sigma` (``a``) and :math:`\\partial\\ell/\\partial\\mu`
    (``b``)."""
    return np.concatenate([b, dup.T @ a.reshape(-1)])


def _newton_step(pat: Patterns, mean: np.ndarray, cov: np.ndarray, ll: float,
                 terms: PatternTerms, factor: tuple | None = None) -> tuple | None:
    """One Newton step on the saturated log-likelihood in :math:`(\\mu,
    \\mathrm{vech}\\,\\Sigma)` with the analytic Hessian of :mod:`.hessian` (a Fisher-scoring
    step on the expected information when the Hessian is not positive definite; step halved
    until the log-likelihood increases); ``None`` when no step increases it.

    With ``factor`` (the Cholesky factor of an earlier step's Hessian) a chord step: the
    same Hessian with the current gradient, no new Hessian. Returns ``(mean, cov, loglik,
    terms, factor)``."""
    from .hessian import _moment_terms, saturated_ss

    p = len(mean)
    dup = _duplication(p)
    step = None
    if factor is not None:
        a, b = _moment_terms(pat, terms, True, first_only=True)
        step = scipy.linalg.cho_solve(factor, _saturated_gradient(a, b, dup))
    for expected in (False, True):
        if step is not None:
            break
        a, b, _, h_ms, h_mm = _moment_terms(pat, terms, True, expected=expected, ss=False)
        cross = np.asarray(dup.T @ h_ms.T).T  # p x p*
        h_vv = saturated_ss(pat, terms, expected=expected)  # symmetric
        hess = np.block([[h_mm, cross], [cross.T, h_vv]])
        try:
            factor = scipy.linalg.cho_factor(hess)
        except np.linalg.LinAlgError:
            continue  # not positive definite (far from the optimum): Fisher scoring
        step = scipy.linalg.cho_solve(factor, _saturated_gradient(a, b, dup))
    if step is None:
        return None
    r, c = np.tril_indices(p)
    t = 1.0
    while t > 1e-4:
        new_mean = mean + t * step[:p]
        new_cov = cov.copy()
        new_cov[r, c] += t * step[p:]
        new_cov[c, r] = new_cov[r, c]
        new_terms = pattern_terms(pat, new_mean, new_cov)
        new_ll = pattern_loglik(pat, new_terms)
        if math.isfinite(new_ll) and new_ll >= ll:
            return new_mean, new_cov, new_ll, new_terms, factor
        t /= 2.0
    return None


def _em_step(pat: Patterns, mean: np.ndarray, cov: np.ndarray, terms: PatternTerms
             ) -> tuple[np.ndarray, np.ndarray]:
    """One EM iteration on the pattern statistics (no pass over the rows).

    The E-step's expected complete-data sums (conditional means :math:`\\mu +
    \\Sigma K_k d_k`, conditional covariance :math:`\\Sigma - \\Sigma K_k\\Sigma` plus the
    pattern's own spread carried over by the regression :math:`\\Sigma K_k`) summed over the
    patterns give the M-step in closed form:

    .. math:: \\mu' = \\mu + \\Sigma u/N, \\qquad
              \\Sigma' = \\Sigma + \\Sigma\\left[(W - \\bar K)/N - uu'/N^2\\right]\\Sigma

    with :math:`u = \\sum_k n_k K_k d_k`, :math:`W = \\sum_k n_k K_k(S_k + d_kd_k')K_k`,
    :math:`\\bar K = \\sum_k n_k K_k` (:class:`PatternTerms`), i.e. the gradient of the
    log-likelihood scaled by :math:`\\Sigma` (Little & Rubin 2002, section 11.2)."""
    n = pat.total
    u = pat.n @ terms.v
    g = ((terms.c_sum(pat.n) - np.einsum("b,bij->ij", pat.n, terms.inv)) / n
         - np.outer(u, u) / n ** 2)
    new = cov + cov @ g @ cov
    return mean + cov @ u / n, (new + new.T) / 2.0


def _nearly_singular(cov: np.ndarray) -> bool:
    """The correlation matrix of ``cov`` has an eigenvalue below 1e-7: the saturated ML
    estimate does not exist (e.g. fewer complete respondents than variables at the last
    occasion) and EM is drifting towards a singular matrix."""
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    return bool(np.linalg.eigvalsh(cov / np.outer(sd, sd))[0] < 1e-7)


#: EM iterations switch to Newton steps once the log-likelihood changes by less than this
#: (relative): EM is slow near the optimum when much is missing, Newton is fast there; the
#: accelerated EM below reaches 1e-6 in a few dozen cheap steps, after which two or three
#: Newton steps finish (a Newton step from further away often fails and costs more).
NEWTON_BELOW = 1e-6

#: A chord step (the last Hessian reused) must cut the change of the log-likelihood to at
#: most this fraction of the previous change; otherwise the next step gets a fresh Hessian.
CHORD_RATIO = 0.1


def _start_moments(pat: Patterns) -> tuple[np.ndarray, np.ndarray]:
    """Available-case means and pairwise covariances (about those means), when positive
    definite; otherwise the available-case variances on the diagonal."""
    counts = pat.n @ pat.mask
    mean = pat.n @ pat.mean / counts
    dev = (pat.mean - mean) * pat.mask
    spread = pat.cov + dev[:, :, None] * dev[:, None, :]
    together = np.einsum("b,bij->ij", pat.n, pat.pair)
    cross = np.einsum("b,bij->ij", pat.n, spread)
    cov = np.divide(cross, together, out=np.zeros_like(cross), where=together > 0)
    if np.all(together > 0) and not _nearly_singular(cov):
        return mean, cov
    return mean, np.diag(np.diagonal(cov).copy())


def _accelerated_em(pat: Patterns, mean: np.ndarray, cov: np.ndarray, terms: PatternTerms
                    ) -> tuple[np.ndarray, np.ndarray, float, PatternTerms | None]:
    """Two EM steps and a SQUAREM extrapolation (Varadhan & Roland 2008, scheme S3):
    with :math:`r = x_1 - x_0`, :math:`v = x_2 - 2x_1 + x_0` and
    :math:`\\alpha = \\min(-\\|r\\|/\\|v\\|, -1)`, the point
    :math:`x_0 - 2\\alpha r + \\alpha^2 v` is kept when its log-likelihood is at least that
    of :math:`x_2` (and its covariance matrix is not near singular), else :math:`x_2`. Same
    fixed point as EM (the ML estimate), in far fewer steps when much information is
    missing. Returns the new moments, log-likelihood and pattern terms."""
    m1, c1 = _em_step(pat, mean, cov, terms)
    t1 = pattern_terms(pat, m1, c1)
    if t1 is None:
        return m1, c1, -math.inf, None
    m2, c2 = _em_step(pat, m1, c1, t1)
    t2 = pattern_terms(pat, m2, c2)
    ll2 = pattern_loglik(pat, t2)
    r = np.concatenate([m1 - mean, (c1 - cov).ravel()])
    v = np.concatenate([m2 - 2 * m1 + mean, (c2 - 2 * c1 + cov).ravel()])
    norm_v = float(np.sqrt(v @ v))
    if norm_v == 0.0 or not math.isfinite(ll2):
        return m2, c2, ll2, t2
    alpha = min(-float(np.sqrt(r @ r)) / norm_v, -1.0)
    m3 = mean - 2 * alpha * (m1 - mean) + alpha ** 2 * (m2 - 2 * m1 + mean)
    c3 = cov - 2 * alpha * (c1 - cov) + alpha ** 2 * (c2 - 2 * c1 + cov)
    c3 = (c3 + c3.T) / 2.0
    if alpha == -1.0 or _nearly_singular(c3):
        return m2, c2, ll2, t2
    t3 = pattern_terms(pat, m3, c3)
    ll3 = pattern_loglik(pat, t3)
    if math.isfinite(ll3) and ll3 >= ll2:
        return m3, c3, ll3, t3
    return m2, c2, ll2, t2


def em_moments(blocks: list[Block], p: int, n: int, *, max_iter: int = 10000,
               tol: float = 1e-12, pat: Patterns | None = None
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """ML mean vector and covariance matrix under missing data (:func:`_em_moments`), with
    BLAS limited to one thread (the matrices are small). ``pat``: the blocks already packed
    (:func:`pack`)."""
    from .estimate import _blas_single_thread

    with _blas_single_thread():
        return _em_moments(blocks, p, n, max_iter=max_iter, tol=tol,
                           pat=pack(blocks, p) if pat is None else pat)


def _em_moments(blocks: list[Block], p: int, n: int, *, max_iter: int,
                tol: float, pat: Patterns) -> tuple[np.ndarray, np.ndarray, float]:
    """ML mean vector and covariance matrix under missing data: EM, finished by Newton.

    Starts from the available-case means and pairwise covariances (:func:`_start_moments`)
    and iterates EM, accelerated by SQUAREM (:func:`_accelerated_em`; each EM step works on
    the pattern statistics, :func:`_em_step`), until the log-likelihood changes by less than
    ``NEWTON_BELOW`` (relative), then takes Newton steps
    on :math:`(\\mu, \\mathrm{vech}\\,\\Sigma)` with the analytic Hessian (quadratic
    convergence where EM converges linearly, at the rate of the fraction of missing
    information); when a Newton step fails EM continues. Stops when the log-likelihood changes
    by less than ``tol`` (relative). The optimum is the same as lavaan's EM
    (``lav_mvnorm_missing_h1_estimate_moments``); only the path differs.

    Returns
    -------
    mean, cov, loglik
    """
    mean, cov = _start_moments(pat)
    terms = pattern_terms(pat, mean, cov)
    ll_old, change_old = -math.inf, math.inf
    newton, below, rel, factor = False, NEWTON_BELOW, math.inf, None
    for _ in range(max_iter):
        step, chord = None, False
        if newton and factor is not None:  # chord step; a fresh Hessian if it fails
            step = _newton_step(pat, mean, cov, ll_old, terms, factor)
            chord = step is not None
        if newton and step is None:
            step = _newton_step(pat, mean, cov, ll_old, terms)
        if step is None:
            if newton:  # Newton failed here: more EM steps before the next attempt
                below = rel / 10.0
            mean, cov, ll, terms = _accelerated_em(pat, mean, cov, terms)
            factor = None
        else:
            mean, cov, ll, terms, factor = step
        if not math.isfinite(ll) or _nearly_singular(cov):
            raise DegenerateDataError(
                "the EM estimate of the covariance matrix under missing data is not positive "
                "definite (or tends to a singular matrix)",
                hint="some items are answered together too rarely, or fewer respondents "
                     "answered everything than there are variables; drop items or occasions")
        change = abs(ll - ll_old)
        rel = change / max(1.0, abs(ll))
        # a chord step converges linearly: a small change may only mean slow contraction
        # (then it does not count, and the Hessian is refreshed)
        slow = chord and change > CHORD_RATIO * change_old
        if rel <= tol and not slow:
            return mean, cov, ll
        if slow:
            factor = None
        # once a Newton step has succeeded, Newton continues (a large first change only
        # means EM had stalled far from the optimum); EM again only after a failed step
        newton = step is not None or rel <= below
        ll_old, change_old = ll, change
    raise DegenerateDataError(
        f"the EM algorithm for the saturated model did not converge in {max_iter} iterations",
        hint="too much missing data for full-information ML; use listwise deletion")
