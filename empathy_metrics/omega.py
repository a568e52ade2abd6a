"""McDonald's omega as ``psych::omega``, and bootstrap intervals for it as MBESS ``ci.reliability``.

* :func:`schmid_leiman` -- ``psych::schmid``: factor solution, varimax then oblimin, a
  higher-order general factor, residualised group factors.
* :func:`omega` -- omega hierarchical / omega total (several factors) or the one-factor
  omega, with psych's ``flip=TRUE``; returns an :class:`Omega`.
* :func:`omega_coefficients` -- ``(omega_h, omega_total)`` only.
* :func:`bootstrap_omega` -- percentile and BCa intervals by resampling respondents.

Names: ``omega_h`` is only ever the general-factor share of a bifactor (Schmid-Leiman) model
with at least two group factors (psych's ``omega_h``). The share of a single common factor,
``(Σλ)² / 1'R1`` -- what psych prints as ``omega_h`` for ``nfactors = 1`` with the message
"Omega_h for 1 factor is not meaningful, just omega_t" -- is called ``omega_u``
(unidimensional omega), never ``omega_h``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._bootstrap import bca_limits, block_sizes, resample_counts
from .errors import InputError

__all__ = ["Omega", "SchmidLeiman", "bootstrap_omega", "omega", "omega_coefficients",
           "schmid_leiman"]


@dataclass
class SchmidLeiman:
    """Schmid-Leiman orthogonalised solution (``psych::schmid``).

    Attributes
    ----------
    general : ndarray (p,)
        Loadings on the general factor ``g``.
    group : ndarray (p, k)
        Residualised group-factor loadings ``sign(F)·sqrt(max(F² − (F·gl)², 0))``.
    communalities : ndarray (p,)
        ``h2``: communalities of the ``k``-factor solution (rotation invariant).
    uniquenesses : ndarray (p,)
        ``u2 = 1 − h2`` (psych). Equal to ``1 − g² − Σ group²`` only when the one higher-order
        factor reproduces the factor correlations exactly (``Φ = gl gl' + I − diag(gl²)``),
        which holds for 2 or 3 factors but not in general for 4 or more.
    higher_order : ndarray (k,)
        Loadings of the oblique factors on ``g`` (psych's ``gloading``).
    """

    general: np.ndarray
    group: np.ndarray
    communalities: np.ndarray
    uniquenesses: np.ndarray
    higher_order: np.ndarray


def schmid_leiman(corr: np.ndarray, n_factors: int, *, method: str = "minres") -> SchmidLeiman:
    """Schmid-Leiman transformation, as ``psych::schmid(R, nfactors, fm, rotate="oblimin")``.

    Algorithm (Schmid & Leiman 1957; psych 2.2.9): extract ``k`` factors (``fm=method``),
    rotate varimax and then oblimin (pattern ``F``, factor correlations ``Φ``). The oblique
    factors' loadings on ``g`` are, for ``k = 2``, ``(sqrt|φ₁₂|, sign(φ₁₂)·sqrt|φ₁₂|)`` (psych's
    ``option="equal"``), else the one-factor solution of ``Φ`` (same ``fm``). Then ``g = F gl``,
    group loadings ``sign(F)·sqrt(max(F² − (F·gl)², 0))`` and ``u2 = 1 − h2`` with ``h2`` the
    communalities of the factor solution.
    """
    from .extraction import fit_factors
    from .rotation import rotate

    r = np.asarray(corr, dtype=float)
    fit = fit_factors(r, n_factors, method, warn=False)
    orth = rotate(fit.loadings, "varimax").loadings
    rot = rotate(orth, "oblimin")
    f, phi = np.asarray(rot.loadings), np.asarray(rot.phi)
    if n_factors == 2:
        root = np.sqrt(abs(phi[0, 1]))
        gl = np.array([root, np.sign(phi[0, 1]) * root])
    else:
        gl = fit_factors(phi, 1, method, warn=False).loadings[:, 0]
    general = f @ gl
    resid = np.clip(f**2 - (f * gl) ** 2, 0.0, None)
    group = np.sign(f) * np.sqrt(resid)
    return SchmidLeiman(general=general, group=group, communalities=fit.communalities,
                        uniquenesses=np.diag(r) - fit.communalities, higher_order=gl)


@dataclass
class Omega:
    """Omega coefficients of one set of items (output of :func:`omega`).

    Attributes
    ----------
    omega_total
        ``(1'R1 − Σu2) / 1'R1`` (psych ``omega.tot``).
    omega_h
        ``(Σg)² / 1'R1`` of the Schmid-Leiman general factor; ``None`` for one factor.
    omega_u
        ``(Σλ)² / 1'R1`` of a single common factor; ``None`` for several factors.
    n_factors
        Factors extracted (group factors for ``omega_h``).
    flipped
        Indices of items reversed because they loaded negatively on the general factor.
    """

    omega_total: float
    omega_h: float | None
    omega_u: float | None
    n_factors: int
    flipped: list[int] = field(default_factory=list)


def omega(corr: np.ndarray, n_factors: int, *, method: str = "minres",
          flip: bool = True) -> Omega:
    """McDonald's omega as ``psych::omega(R, nfactors, fm = method, flip = flip)``.

    .. math::
        \\omega_h = \\frac{(\\sum_i g_i)^2}{\\mathbf 1'R\\mathbf 1}, \\qquad
        \\omega_t = \\frac{\\mathbf 1'R\\mathbf 1 - \\sum_i u^2_i}{\\mathbf 1'R\\mathbf 1},
        \\qquad u^2_i = 1 - h^2_i

    With ``n_factors >= 2``, ``g`` and ``u2`` come from :func:`schmid_leiman`. With one factor
    ``g`` is that factor's loadings and ``u2 = 1 − λ²``; the general share is then returned as
    ``omega_u`` (psych labels it ``omega_h`` but calls it "not meaningful"). psych computes
    ``u2`` as ``1 − h2`` for every number of factors; ``1 − g² − Σ group²`` equals it only
    when one higher-order factor reproduces the factor correlations exactly (2 or 3 factors),
    so with 4 or more group factors only ``1 − h2`` agrees with psych.

    ``flip=True`` (psych's default): items whose general-factor loading is negative are
    reversed (``R ← D R D``, ``D = diag(sign g)``) before ``1'R1`` is taken; their indices are
    in ``Omega.flipped``. Items keyed by an instrument normally all load positively.

    Two items: a one-factor model of two items is not identified; both loadings are taken
    equal, ``λ² = r₁₂``, giving ``omega_u = omega_t = 2r/(1+r)`` (standardised alpha).

    References
    ----------
    McDonald RP (1999). *Test Theory: A Unified Treatment*. Zinbarg RE, Revelle W, Yovel I,
    Li W (2005). Psychometrika 70:123-133. Revelle W, psych ``omega``/``schmid`` (2.2.9).
    """
    r = np.asarray(corr, dtype=float)
    p = r.shape[0]
    if p == 2:
        rr = max(r[0, 1], 0.0)
        value = 2 * rr / (1 + rr)
        return Omega(omega_total=value, omega_h=None, omega_u=value, n_factors=1)
    if n_factors == 1:
        from .extraction import fit_factors

        fit = fit_factors(r, 1, method, warn=False)
        g, u2 = fit.loadings[:, 0], fit.uniquenesses
    else:
        sl = schmid_leiman(r, n_factors, method=method)
        g, u2 = sl.general, sl.uniquenesses
    flipped: list[int] = []
    if flip and np.any(g < 0):
        key = np.where(g < 0, -1.0, 1.0)
        r = r * np.outer(key, key)
        g = g * key
        flipped = [int(i) for i in np.flatnonzero(key < 0)]
    total = r.sum()
    share = float(g.sum() ** 2 / total)
    return Omega(omega_total=float((total - np.sum(u2)) / total),
                 omega_h=share if n_factors > 1 else None,
                 omega_u=share if n_factors == 1 else None,
                 n_factors=int(n_factors), flipped=flipped)


def omega_coefficients(corr: np.ndarray, n_factors: int, *, method: str = "minres",
                       flip: bool = True) -> tuple[float | None, float]:
    """``(omega_h, omega_total)`` of :func:`omega`; ``omega_h`` is ``None`` for one factor."""
    res = omega(corr, n_factors, method=method, flip=flip)
    return res.omega_h, res.omega_total


# ---------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------


def _corr_from_sums(s1: np.ndarray, s2: np.ndarray, n: float) -> np.ndarray:
    """Correlation matrix from the sum vector ``s1`` and cross-product matrix ``s2``."""
    cov = s2 - np.outer(s1, s1) / n
    sd = np.sqrt(np.diag(cov))
    out = cov / np.outer(sd, sd)
    np.fill_diagonal(out, 1.0)
    return out


def _omega_pair(corr: np.ndarray, n_factors: int, flip: bool) -> tuple[float, float]:
    res = omega(corr, n_factors, flip=flip)
    general = res.omega_h if res.omega_h is not None else res.omega_u
    return res.omega_total, float("nan") if general is None else general


def bootstrap_omega(
    items: np.ndarray,
    n_factors: int,
    *,
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
    level: float = 0.95,
    method: str = "bootstrap",
    flip: bool = True,
) -> dict[str, Any]:
    """Percentile (``method="bootstrap"``) or BCa (``"bca"``) intervals for omega.

    The method is that of MBESS ``ci.reliability(data, type = "omega" or "hierarchical",
    interval.type = "perc" or "bca")``, which psych lacks: respondents (rows) are resampled
    with replacement (``boot::boot(stype = "i")``) and omega is recomputed on every resample
    with the same estimator as the point estimate (here :func:`omega`, i.e. psych's; MBESS fits
    a lavaan CFA instead, so its point estimates differ slightly). Resamples are the same
    multinomial counts as :func:`~empathy_metrics.reliability.bootstrap_alpha` draws for the
    same seed, so alpha and omega intervals come from the same resamples.

    Percentile limits are the ``(1 ∓ level)/2`` quantiles of the replicates (R ``quantile``
    type 7; ``boot.ci`` interpolates order statistics on the normal scale, a difference far
    below Monte Carlo error). BCa (Efron 1987; ``boot::boot.ci(type = "bca")``): bias
    ``z0 = Φ⁻¹(#{θ* < θ̂}/B)``; the acceleration ``a = Σl³ / (6 (Σl²)^{3/2})`` uses influence
    values ``l`` estimated as ``boot::empinf`` does for ``boot.ci``: by regressing the replicates
    on the resampling proportions (``type = "reg"``) when ``n_boot > n``, else by the
    leave-one-out jackknife (``n`` more fits; MBESS warns that BCa needs ``B > n``).

    Parameters
    ----------
    items
        Complete-case respondents x items array (keyed).
    n_factors
        As :func:`omega` (1: ``omega_u``; >= 2: ``omega_h``).
    n_boot, seed, level, method, flip
        Resamples (at least 10), seed, confidence level, ``"bootstrap"`` or ``"bca"``, and
        psych's ``flip``.

    Returns
    -------
    dict
        ``{"omega_total": (lo, hi), "omega_h" or "omega_u": (lo, hi), "replicates": B x 2}``.
        Replicates whose factor analysis fails are NaN and are left out of the quantiles.
    """
    from ._progress import progress

    x = np.asarray(items, dtype=float)
    n, k = x.shape
    if n_boot < 10:
        raise InputError(f"n_boot must be at least 10, got {n_boot}")
    if method not in ("bootstrap", "bca"):
        raise InputError(f"unknown bootstrap method {method!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    xc = x - x.mean(axis=0)
    cross = np.einsum("ij,ik->ijk", xc, xc).reshape(n, k * k)
    design = np.column_stack([xc, cross])
    reps = np.full((n_boot, 2), np.nan)
    keep_counts = method == "bca" and n_boot > n
    counts_all = np.empty((n_boot, n)) if keep_counts else None
    with progress(n_boot, "Bootstrapping omega", enabled=None if n_boot > 200 else False) as bar:
        start = 0
        for b in block_sizes(n, n_boot):
            counts = resample_counts(rng, n, b)
            if counts_all is not None:
                counts_all[start:start + b] = counts
            sums = counts @ design
            for i in range(b):
                reps[start + i] = _safe_pair(sums[i, :k], sums[i, k:].reshape(k, k), n,
                                             n_factors, flip)
            start += b
            bar.update(b)
    corr = _corr_from_sums(xc.sum(axis=0), xc.T @ xc, n)
    est = _omega_pair(corr, n_factors, flip)
    general = "omega_h" if n_factors > 1 and k > 2 else "omega_u"
    out: dict[str, Any] = {"replicates": reps}
    a = 1.0 - level
    if method == "bootstrap":
        for j, name in enumerate(("omega_total", general)):
            lo, hi = np.nanquantile(reps[:, j], [a / 2, 1 - a / 2])
            out[name] = (float(lo), float(hi))
        return out
    influence = _influence(reps, counts_all, x, n_factors, flip)
    for j, name in enumerate(("omega_total", general)):
        out[name] = bca_limits(reps[:, j], est[j], influence[:, j], level)
    return out


def _safe_pair(s1: np.ndarray, s2: np.ndarray, n: float, n_factors: int,
               flip: bool) -> tuple[float, float]:
    from .errors import DegenerateDataError

    try:
        with np.errstate(all="ignore"):
            corr = _corr_from_sums(s1, s2, n)
        if not np.all(np.isfinite(corr)):
            return float("nan"), float("nan")
        return _omega_pair(corr, n_factors, flip)
    except (DegenerateDataError, np.linalg.LinAlgError, ValueError):
        return float("nan"), float("nan")


def _influence(reps: np.ndarray, counts: np.ndarray | None, x: np.ndarray, n_factors: int,
               flip: bool) -> np.ndarray:
    """Influence values: ``boot::empinf(type="reg")`` from the replicates, else jackknife."""
    n, k = x.shape
    if counts is not None:
        ok = np.all(np.isfinite(reps), axis=1)
        design = np.column_stack([np.ones(ok.sum()), counts[ok, 1:] / n])
        beta, *_ = np.linalg.lstsq(design, reps[ok], rcond=None)
        infl = np.vstack([np.zeros((1, 2)), beta[1:]])
        return infl - infl.mean(axis=0)
    xc = x - x.mean(axis=0)
    s1, s2 = xc.sum(axis=0), xc.T @ xc
    jack = np.array([_safe_pair(s1 - xc[i], s2 - np.outer(xc[i], xc[i]), n - 1, n_factors,
                                flip) for i in range(n)])
    return (n - 1) * (np.nanmean(jack, axis=0) - jack)
