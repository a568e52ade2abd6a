"""Fit measures as lavaan's ``fitMeasures``: chi-square, CFI/TLI, RMSEA (+CI), SRMR, AIC/BIC,
and their scaled versions under MLR.

* ``chisq`` = :math:`N F = 2(\\ell_{H1}-\\ell_{H0})`, ``pvalue`` from :math:`\\chi^2_{df}`.
* CFI = :math:`1 - \\max(\\chi^2-df, 0)/\\max(\\chi^2-df, \\chi^2_b-df_b, 0)` and
  TLI = :math:`1 - [(\\chi^2-df)df_b]/[(\\chi^2_b-df_b)df]` against the independence model
  (free means and variances per group; Bentler 1990; Tucker & Lewis 1973). Under FIML the
  independence model is fitted by FIML too (its likelihood factors over the items, so it is
  closed form).
* RMSEA = :math:`\\sqrt{\\max(\\chi^2/(N df) - 1/N, 0)}\\sqrt{G}` with the 90 % interval from the
  noncentral :math:`\\chi^2` (Steiger & Lind 1980; lavaan's ``N``, not ``N-1``).
* SRMR: Bentler type as lavaan's default ``srmr`` (with a mean structure the standardised
  mean residuals are included); under FIML against the EM moments.
* AIC = :math:`-2\\ell + 2q`, BIC = :math:`-2\\ell + q\\log N`.
* MLR (``estimator = "mlr"``): ``chisq_scaled`` = :math:`\\chi^2/c` with the Yuan-Bentler
  (Mplus variant) scaling factor :math:`c` (lavaan ``test = "yuan.bentler.mplus"``);
  ``cfi_scaled``/``tli_scaled`` from the scaled statistics of the model and of the
  independence model (each with its own :math:`c`); ``rmsea_scaled`` and its CI use
  :math:`\\chi^2` on :math:`c\\,df` degrees of freedom, as lavaan's ``rmsea.scaled``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._distributions import chi2_cdf, chi2_sf, ncx2_cdf
from .estimate import Estimate
from .samples import GroupStats

__all__ = ["fit_measures", "fit_measures_wlsmv", "baseline", "rmsea_ci", "FIT_KEYS", "SCALED_KEYS"]

FIT_KEYS = ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci", "srmr", "aic", "bic")
SCALED_KEYS = ("chisq_scaled", "df_scaled", "pvalue_scaled", "scaling_factor", "cfi_scaled",
               "tli_scaled", "rmsea_scaled", "rmsea_ci_scaled")


def _root(f, a: float, b: float, xtol: float, max_iter: int = 100) -> float:
    """A root of ``f`` in ``[a, b]`` (``f(a)``, ``f(b)`` of opposite signs) to ``xtol`` by
    Brent's method: inverse quadratic or secant steps while they stay inside the bracket
    and shrink it fast enough, bisection otherwise (Brent 1973, *Algorithms for
    Minimization without Derivatives*, ch. 4; as ``scipy.optimize.brentq``, without
    importing ``scipy.optimize``, ~0.3 s, for the invariance fits in a forked process)."""
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError("f(a) and f(b) must have opposite signs")
    c, fc, d = a, fa, b - a
    e = d
    for _ in range(max_iter):
        if (fb > 0) == (fc > 0):  # keep the root between b and c
            c, fc, d = a, fa, b - a
            e = d
        if abs(fc) < abs(fb):  # b: the best estimate so far
            a, b, c, fa, fb, fc = b, c, b, fb, fc, fb
        tol = 2.0 * np.finfo(float).eps * abs(b) + 0.5 * xtol
        half = 0.5 * (c - b)
        if abs(half) <= tol or fb == 0.0:
            return b
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:  # secant
                p, q = 2.0 * half * s, 1.0 - s
            else:  # inverse quadratic interpolation through a, b, c
                q, r = fa / fc, fb / fc
                p = s * (2.0 * half * q * (q - r) - (b - a) * (r - 1.0))
                q = (q - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0:
                q = -q
            p = abs(p)
            if 2.0 * p < min(3.0 * half * q - abs(tol * q), abs(e * q)):
                e, d = d, p / q
            else:
                d = e = half
        else:
            d = e = half
        a, fa = b, fb
        b += d if abs(d) > tol else math.copysign(tol, half)
        fb = f(b)
    raise RuntimeError("the root search did not converge")


def rmsea_ci(x2: float, df: float, n: int, n_groups: int, level: float = 0.90
             ) -> tuple[float, float]:
    """lavaan's ``lav_fit_rmsea_ci``: noncentral chi-square bounds on the noncentrality."""
    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2

    def cdf(lam: float) -> float:
        return float(chi2_cdf(x2, df) if lam <= 0 else ncx2_cdf(x2, df, lam))

    if df < 1 or not math.isfinite(x2):
        return 0.0, 0.0
    scale = math.sqrt(n_groups)
    if cdf(0.0) - upper_p < 0:
        lo = 0.0
    else:
        lam = _root(lambda v: cdf(v) - upper_p, 0.0, max(x2, 1e-8), xtol=1e-12)
        lo = math.sqrt(lam / (n * df)) * scale
    n_rmsea = max(n, 4 * x2)
    if cdf(n_rmsea) - lower_p > 0 or cdf(0.0) - lower_p < 0:
        hi = 0.0
    else:
        lam = _root(lambda v: cdf(v) - lower_p, 0.0, n_rmsea, xtol=1e-12)
        hi = math.sqrt(lam / (n * df)) * scale
    return lo, hi


def srmr(est: Estimate) -> float:
    """lavaan's default ``srmr`` (Bentler type): residual covariances (and, with a mean
    structure, residual means) divided by the observed standard deviations, root mean square
    over the non-duplicated elements, weighted over groups by ``N_g / N``."""
    s = est.structure
    total = 0.0
    low = np.tril_indices(s.p)
    for g, st in enumerate(est.groups):
        sigma, mu = s.implied(est.theta, g)
        sd = np.sqrt(np.diag(st.cov))
        r = (st.cov - sigma) / np.outer(sd, sd)
        vals = list(r[low])
        if s.meanstructure:
            vals += list((st.mean - mu) / sd)
        srmr_g = math.sqrt(float(np.sum(np.square(vals))) / len(vals))
        total += st.n / est.n * srmr_g
    return total


def baseline(groups: list[GroupStats]) -> tuple[float, int]:
    """Chi-square and df of the independence model (free variances, and means, per group).

    Complete data: :math:`\\sum_g N_g(\\sum_j\\log s_{jj} - \\log|S_g|)`. Missing data: the
    independence model's FIML log-likelihood is the sum over items of the normal likelihood
    of each item's observed values (available-case mean and variance), against the EM H1.
    """
    x2 = 0.0
    df = 0
    for st in groups:
        p = st.cov.shape[0]
        df += p * (p - 1) // 2
        if not st.missing:
            logdet = np.linalg.slogdet(st.cov)[1]
            x2 += st.n * (float(np.sum(np.log(np.diag(st.cov)))) - logdet)
            continue
        # each item's available-case mean and variance, pooled from the pattern statistics
        pat = st.patterns
        n_j = pat.n @ pat.mask
        mean_j = pat.n @ pat.mean / n_j
        spread = np.diagonal(pat.cov, axis1=1, axis2=2) + (pat.mean - mean_j) ** 2
        var_j = pat.n @ (spread * pat.mask) / n_j
        ll0 = float(-0.5 * n_j @ (math.log(2 * math.pi) + np.log(var_j) + 1.0))
        x2 += 2.0 * (st.h1_loglik - ll0)
    return x2, df


def _cfi(x2: float, df: float, x2b: float, dfb: float) -> float:
    t1 = max(x2 - df, 0.0)
    t2 = max(x2 - df, x2b - dfb, 0.0)
    return 1.0 if (abs(t1) < 1e-12 and abs(t2) < 1e-12) else 1.0 - t1 / t2


def _tli(x2: float, df: float, x2b: float, dfb: float) -> float:
    u1 = (x2 - df) * dfb
    u2 = (x2b - dfb) * df
    return 1.0 - u1 / u2 if (df > 0 and abs(u2) > 0) else 1.0


def _rmsea(x2: float, df: float, n: int, n_groups: int) -> float:
    return math.sqrt(max(x2 / n / df - 1.0 / n, 0.0)) * math.sqrt(n_groups) if df > 0 else 0.0


def fit_measures(est: Estimate) -> dict[str, Any]:
    """``chisq, df, pvalue, cfi, tli, rmsea, rmsea_ci, srmr, aic, bic``, and under MLR also
    ``chisq_scaled, df_scaled, pvalue_scaled, scaling_factor, cfi_scaled, tli_scaled,
    rmsea_scaled, rmsea_ci_scaled`` (definitions in the module docstring); a WLSMV fit gives
    :func:`fit_measures_wlsmv`."""
    if est.estimator == "wlsmv":
        return fit_measures_wlsmv(est)
    n = est.n
    x2 = n * est.fmin
    df = est.df
    x2b, dfb = baseline(est.groups)
    q = est.structure.q
    G = len(est.groups)
    # df = 0 (a saturated model): the fit cannot be tested; p is NaN as in lavaan
    pvalue = float(chi2_sf(x2, df)) if df > 0 else math.nan
    lo, hi = rmsea_ci(x2, df, n, G)
    out: dict[str, Any] = {
        "chisq": float(x2),
        "df": int(df),
        "pvalue": float(pvalue),
        "cfi": float(_cfi(x2, df, x2b, dfb)),
        "tli": float(_tli(x2, df, x2b, dfb)),
        "rmsea": float(_rmsea(x2, df, n, G)),
        "rmsea_ci": [float(lo), float(hi)],
        "srmr": float(srmr(est)),
        "aic": float(-2.0 * est.loglik + 2.0 * q),
        "bic": float(-2.0 * est.loglik + q * math.log(n)),
    }
    if est.estimator == "mlr":
        out.update(_scaled(est, x2, df, n, G))
    return out


def fit_measures_wlsmv(est: Any) -> dict[str, Any]:
    """The WLSMV fit measures (module docstring) of an
    :class:`~empathy_metrics._sem.dwls.OrdinalEstimate`: the keys of :func:`fit_measures`
    (``aic``/``bic`` NaN) and ``SCALED_KEYS`` + ``shift_parameter``."""
    from .dwls import baseline_dwls

    n, df, G = est.n, est.df, len(est.groups)
    x2 = n * est.fmin
    n_rmsea = n - G  # lavaan's lav_utils_get_ntotal for estimators other than ML
    s = est.structure
    base = baseline_dwls(est.groups, s.n_tau)
    x2b, dfb = base["chisq"], base["df"]
    lo, hi = rmsea_ci(x2, df, n_rmsea, G)
    srmr_total = 0.0
    for g, st in enumerate(est.groups):
        r = (st.stats_vector - s.implied_stats(est.theta, g))[s.n_tau:]
        srmr_total += st.n / n * math.sqrt(float(r @ r) / (s.p * (s.p + 1) / 2))
    out: dict[str, Any] = {
        "chisq": float(x2), "df": int(df),
        "pvalue": float(chi2_sf(x2, df)) if df > 0 else math.nan,
        "cfi": float(_cfi(x2, df, x2b, dfb)), "tli": float(_tli(x2, df, x2b, dfb)),
        "rmsea": float(_rmsea(x2, df, n_rmsea, G)), "rmsea_ci": [float(lo), float(hi)],
        "srmr": float(srmr_total), "aic": math.nan, "bic": math.nan,
    }
    rob = est.robust
    xs, xbs = rob["chisq_scaled"], base["chisq_scaled"]
    if df > 0 and math.isfinite(xs):
        los, his = rmsea_ci(xs, df, n_rmsea, G)
        scaled = {"cfi_scaled": _cfi(xs, df, xbs, dfb), "tli_scaled": _tli(xs, df, xbs, dfb),
                  "rmsea_scaled": _rmsea(xs, df, n_rmsea, G), "rmsea_ci_scaled": [los, his],
                  "pvalue_scaled": chi2_sf(xs, df)}
    else:
        scaled = {"cfi_scaled": math.nan, "tli_scaled": math.nan, "rmsea_scaled": math.nan,
                  "rmsea_ci_scaled": [math.nan, math.nan], "pvalue_scaled": math.nan}
    out.update({
        "chisq_scaled": float(xs), "df_scaled": int(df),
        "pvalue_scaled": float(scaled["pvalue_scaled"]),
        "scaling_factor": float(rob["scaling_factor"]),
        "cfi_scaled": float(scaled["cfi_scaled"]), "tli_scaled": float(scaled["tli_scaled"]),
        "rmsea_scaled": float(scaled["rmsea_scaled"]),
        "rmsea_ci_scaled": [float(v) for v in scaled["rmsea_ci_scaled"]],
        "shift_parameter": float(rob["shift"]),
    })
    return out


def _scaled(est: Estimate, x2: float, df: int, n: int, G: int) -> dict[str, Any]:
    """The MLR (Yuan-Bentler, Mplus variant) scaled statistics and indices."""
    from .robust import baseline_scaled

    c = est.robust.get("scaling_factor", math.nan)
    if df == 0 or not math.isfinite(c):
        nan = math.nan
        return {"chisq_scaled": nan, "df_scaled": int(df), "pvalue_scaled": nan,
                "scaling_factor": nan, "cfi_scaled": nan, "tli_scaled": nan,
                "rmsea_scaled": nan, "rmsea_ci_scaled": [nan, nan]}
    xs = x2 / c
    xbs, dfb = baseline_scaled(est)
    lo, hi = rmsea_ci(x2, c * df, n, G)
    return {
        "chisq_scaled": float(xs),
        "df_scaled": int(df),
        "pvalue_scaled": float(chi2_sf(xs, df)),
        "scaling_factor": float(c),
        "cfi_scaled": float(_cfi(xs, df, xbs, dfb)),
        "tli_scaled": float(_tli(xs, df, xbs, dfb)),
        "rmsea_scaled": float(_rmsea(x2, c * df, n, G)),
        "rmsea_ci_scaled": [float(lo), float(hi)],
    }
