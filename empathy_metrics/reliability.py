"""Internal-consistency reliability, agreeing with R ``psych::alpha`` and ``psych::omega``.

Pure functions (one implementation per formula), composed by :func:`reliability`:

* :func:`cronbach_alpha` -- raw alpha from a covariance matrix.
* :func:`standardized_alpha` -- alpha from a correlation matrix (``std.alpha``).
* :func:`guttman_lambda6` -- ``G6(smc)``.
* :func:`average_inter_item_r` -- ``average_r``.
* :func:`corrected_item_total_r` -- ``r.drop``.
* :func:`alpha_if_item_deleted` -- ``alpha.drop$raw_alpha``.
* :func:`feldt_ci` -- ``psych::alpha.ci`` / ``alpha()$feldt``.
* :func:`bootstrap_alpha` -- percentile and BCa bootstrap CIs (all replicates at once).
* :func:`schmid_leiman` and :func:`omega_coefficients` -- ``psych::schmid`` / ``psych::omega``
  (defined in :mod:`empathy_metrics.omega`, with :func:`~empathy_metrics.omega.bootstrap_omega`).
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._item_pass import Moments as _Moments
from ._results import Result, jsonable
from .alpha_bootstrap import _bootstrap_alphas, bootstrap_alpha
from .coefficients import (
    _cov_to_corr,
    alpha_if_item_deleted,
    average_inter_item_r,
    corrected_item_total_r,
    cronbach_alpha,
    feldt_ci,
    guttman_lambda6,
    standardized_alpha,
)
from .correlation import covariance_matrix, polychoric_result
from .errors import DegenerateDataError, DegenerateDataWarning, InputError
from .omega import SchmidLeiman, bootstrap_omega, omega_coefficients, schmid_leiman
from .omega import omega as omega_of

__all__ = [
    "ReliabilityResult",
    "ScaleReliability",
    "SchmidLeiman",
    "alpha_if_item_deleted",
    "average_inter_item_r",
    "bootstrap_alpha",
    "corrected_item_total_r",
    "cronbach_alpha",
    "feldt_ci",
    "guttman_lambda6",
    "omega_coefficients",
    "reliability",
    "schmid_leiman",
    "standardized_alpha",
]




# ---------------------------------------------------------------------------
# result objects
# ---------------------------------------------------------------------------


@dataclass
class ScaleReliability:
    """Reliability of one scale (a subscale or ``"total"``); see :func:`reliability`."""

    scale: str
    n: int
    alpha: float
    std_alpha: float
    lambda6: float
    average_r: float
    alpha_ci: tuple[float, float]
    ci_method: str
    omega_total: float | None
    omega_h: float | None
    item_statistics: pd.DataFrame
    ordinal_alpha: float | None = None
    notes: list[str] = field(default_factory=list)
    #: one-factor omega ``(Σλ)²/1'R1`` of a subscale (never called omega_h; see omega module)
    omega_u: float | None = None
    #: bootstrap CIs of ``omega_total`` and ``omega_h``/``omega_u`` (ci="bootstrap"/"bca")
    omega_ci: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "n": int(self.n),
            "alpha": self.alpha,
            "std_alpha": self.std_alpha,
            "lambda6": self.lambda6,
            "average_r": self.average_r,
            "alpha_ci": list(self.alpha_ci),
            "ci_method": self.ci_method,
            "omega_total": self.omega_total,
            "omega_h": self.omega_h,
            "omega_u": self.omega_u,
            "items": {
                str(item): {
                    "mean": row["mean"],
                    "sd": row["sd"],
                    "r_drop": row["r_drop"],
                    "alpha_if_deleted": row["alpha_if_deleted"],
                }
                for item, row in self.item_statistics.iterrows()
            },
        }
        if self.ordinal_alpha is not None:
            d["ordinal_alpha"] = self.ordinal_alpha
        if self.omega_ci:
            d["omega_ci"] = {name: list(ci) for name, ci in self.omega_ci.items()}
        return jsonable(d)


@dataclass
class ReliabilityResult(Result):
    """Reliability of every scale of an instrument (output of :func:`reliability`)."""

    instrument: str
    scales: dict[str, ScaleReliability]
    missing: str = "listwise"
    correlation: str = "pearson"
    title: str = "Reliability"
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, scale: str) -> ScaleReliability:
        from ._checks import check_key

        check_key(scale, self.scales, "scale")
        return self.scales[scale]

    def all_notes(self) -> list[str]:
        """The result's notes, then each scale's (prefixed with the scale)."""
        return [*self.notes, *(f"{name}: {n}" for name, s in self.scales.items()
                               for n in s.notes)]

    def items(self, scale: str) -> pd.DataFrame:
        """Item statistics of ``scale``: mean, sd, r_drop, alpha_if_deleted."""
        if scale not in self.scales:
            raise InputError(f"unknown scale {scale!r}; scales are {', '.join(self.scales)}")
        return self.scales[scale].item_statistics.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "scales": {name: s.to_dict() for name, s in self.scales.items()},
        }

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for name, s in self.scales.items():
            row = {
                "scale": name, "n": s.n, "alpha": s.alpha, "ci_low": s.alpha_ci[0],
                "ci_high": s.alpha_ci[1], "std_alpha": s.std_alpha, "lambda6": s.lambda6,
                "average_r": s.average_r, "omega_total": s.omega_total, "omega_h": s.omega_h,
                "omega_u": s.omega_u,
            }
            for name, (lo, hi) in s.omega_ci.items():
                row[f"{name}_ci_low"], row[f"{name}_ci_high"] = lo, hi
            if s.ordinal_alpha is not None:
                row["ordinal_alpha"] = s.ordinal_alpha
            rows.append(row)
        return pd.DataFrame(rows).set_index("scale")

    def summary(self) -> str:
        head = (f"Reliability of {self.instrument} (missing={self.missing}, "
                f"correlation={self.correlation}, CI={next(iter(self.scales.values())).ci_method})")
        with pd.option_context("display.width", 140, "display.max_columns", 20):
            body = self.to_frame().to_string(float_format=lambda v: f"{v:.3f}")
        notes = [f"  {n}" for n in self.all_notes()]
        diffs = [f"  {d}" for d in self.psych_differences()]
        return "\n".join([head, "=" * len(head), body] + (["Notes:"] + notes if notes else [])
                         + (["Differences from psych:"] + diffs if diffs else []))

    def psych_differences(self) -> list[str]:
        """Where these numbers and psych's default ``alpha()``/``omega()`` output differ."""
        out = []
        if self.missing == "listwise":
            out.append("complete cases per scale (missing='listwise'); psych::alpha and "
                       "psych::omega use pairwise correlations (missing='pairwise' matches "
                       "psych::alpha)")
        if any(s.omega_u is not None for s in self.scales.values()):
            out.append("omega_u = one-factor omega (sum of loadings)^2/1'R1 of a subscale; "
                       "psych::omega(x, nfactors=1) prints it as omega_h, while psych's default "
                       "omega(x) reports omega_h of a 3-group-factor bifactor model")
        return out

    def _repr_html_(self) -> str:
        from ._results import html_notes

        table = self.to_frame().to_html(float_format=lambda v: f"{v:.3f}", na_rep="—", border=0)
        first = next(iter(self.scales.values()))
        diffs = "".join(f"<li>{html.escape(d)}</li>" for d in self.psych_differences())
        diffs = f"<p>Differences from psych:</p><ul>{diffs}</ul>" if diffs else ""
        settings = (f"missing = {self.missing}, correlation = {self.correlation}, "
                    f"CI = {first.ci_method}")
        return (f"<div class='empathy-metrics-result'><h4>{html.escape(self.title)}: "
                f"{html.escape(self.instrument)}</h4><p>{html.escape(settings)}</p>{table}"
                f"{diffs}{html_notes(self.all_notes())}</div>")


# ---------------------------------------------------------------------------
# top level
# ---------------------------------------------------------------------------


def _check_items(scale: str, n: int, sd: np.ndarray, names: list[str]) -> None:
    """Fewer than 2 respondents or a constant item is an error; ``n <= k`` a warning."""
    if n < 2:
        raise DegenerateDataError(f"scale {scale!r}: fewer than 2 respondents")
    constant = [str(c) for c, v in zip(names, sd, strict=True) if not v > 0]
    if constant:
        raise DegenerateDataError(
            f"scale {scale!r}: item(s) {', '.join(constant)} are constant; alpha and "
            "correlations are undefined",
            hint="drop constant items or check the data",
        )
    if n <= len(names):
        warnings.warn(
            f"scale {scale!r}: {n} respondents for {len(names)} items; the covariance "
            "matrix is singular, lambda6 and omega are unreliable",
            DegenerateDataWarning,
            stacklevel=3,
        )


def _moments(x: pd.DataFrame, missing: str) -> _Moments:
    """Moments of one scale's items, listwise or pairwise (``R cov(use=...)``)."""
    arr = x.to_numpy(float)
    if missing == "listwise":
        arr = arr[~np.isnan(arr).any(axis=1)]
        if arr.shape[0] < 2:
            return _Moments(int(arr.shape[0]), np.full(arr.shape[1], np.nan),
                            np.full((arr.shape[1],) * 2, np.nan))
        return _shared_moments(arr, {"": list(range(arr.shape[1]))})[""]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(arr, axis=0)
    cov = (covariance_matrix(arr, missing="pairwise") if arr.shape[0] >= 2
           else np.full((arr.shape[1],) * 2, np.nan))
    return _Moments(int(arr.shape[0]), mean, cov)


def _shared_moments(arr: np.ndarray, scales: dict[str, list[int]]) -> dict[str, _Moments]:
    """Moments of several scales over the same complete rows from one covariance matrix.

    The items of all scales are centred once and one ``X'X`` (BLAS) gives every scale's
    covariance as a sub-matrix: one pass over the data instead of one per scale.
    """
    union = sorted({i for idx in scales.values() for i in idx})
    x = arr[:, union] if union != list(range(arr.shape[1])) else arr
    from ._blas import single_thread_blas

    n = x.shape[0]
    mean = x.mean(axis=0)
    xc = x - mean
    with single_thread_blas():  # a 20-column product: threads cost more than they save
        cov = (xc.T @ xc) / (n - 1)
    pos = {item: j for j, item in enumerate(union)}
    out = {}
    for scale, idx in scales.items():
        j = [pos[i] for i in idx]
        out[scale] = _Moments(n, mean[j], cov[np.ix_(j, j)])
    return out


def _scale_reliability(scale: str, names: list[str], x: pd.DataFrame | None,
                       **options: Any) -> ScaleReliability:
    """:func:`_scale_statistics` with every warning it raises naming the scale."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _scale_statistics(scale, names, x, **options)
    seen = set()
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, DegenerateDataWarning) and not text.startswith("scale "):
            text = f"scale {scale!r}: {text}"
        if (w.category, text) in seen:
            continue
        seen.add((w.category, text))
        warnings.warn(text, w.category, stacklevel=3)
    return result


def _shared_listwise(
    keyed: pd.DataFrame, scales: dict[str, Any], *, ci: str, n_boot: int, seed: Any,
) -> tuple[dict[str, _Moments], dict[str, tuple[float, float]]]:
    """Moments and bootstrap alpha CIs of all scales, computed once per set of complete rows.

    Scales are grouped by their complete rows (all of them when nothing is missing); each
    group's covariances come from one pass over the data (:func:`_shared_moments`) and its
    bootstrap from one set of resample counts for all its scales (the resamples each scale
    would get on its own with the same integer seed, so the CIs are the same).
    """
    arr = keyed.to_numpy(float)
    nan = np.isnan(arr)
    any_nan = bool(nan.any())
    pos = {c: i for i, c in enumerate(keyed.columns)}
    groups: dict[bytes, tuple[np.ndarray | None, dict[str, list[int]]]] = {}
    for scale, ids in scales.items():
        idx = [pos[i] for i in ids]
        mask = ~nan[:, idx].any(axis=1) if any_nan else None
        key = b"all" if mask is None else np.packbits(mask).tobytes()
        groups.setdefault(key, (mask, {}))[1][scale] = idx
    moments: dict[str, _Moments] = {}
    cis: dict[str, tuple[float, float]] = {}
    for mask, members in groups.values():
        rows = arr if mask is None else arr[mask]
        if rows.shape[0] < 2:
            continue
        group = _shared_moments(rows, members)
        moments.update(group)
        usable = [s for s in members if len(members[s]) >= 2 and np.all(np.diag(group[s].cov) > 0)]
        if ci != "feldt" and usable:
            boot = _bootstrap_alphas(rows, [members[s] for s in usable], n_boot=n_boot,
                                     seed=seed, method=ci)
            cis.update({s: b[0] for s, b in zip(usable, boot, strict=True)})
    return moments, cis


def _scale_statistics(
    scale: str, names: list[str], x: pd.DataFrame | None, *, missing: str, ci: str,
    n_boot: int, seed: Any,
    correlation: str, omega: bool, n_factors: int, omega_ci: bool = False,
    moments: _Moments | None = None,
    alpha_ci: tuple[float, float] | None = None,
) -> ScaleReliability:
    """Every statistic of one scale; ``x`` (its keyed items) may be None when ``moments``
    are given and nothing needs the rows (Feldt CI, Pearson correlations)."""
    notes: list[str] = []
    k = len(names)
    if k < 2:
        raise DegenerateDataError(f"scale {scale!r} has fewer than 2 items")
    m = _moments(x, missing) if moments is None else moments
    sd = np.sqrt(np.diag(m.cov))
    _check_items(scale, m.n, sd, names)
    cov = m.cov
    corr = _cov_to_corr(cov)
    if np.any(np.abs(corr[np.triu_indices(k, 1)]) > 1 - 1e-12):
        warnings.warn(f"scale {scale!r}: perfectly collinear items", DegenerateDataWarning,
                      stacklevel=3)
        notes.append("perfectly collinear items")
    alpha = cronbach_alpha(cov)
    n = m.n
    complete = x.dropna() if (ci != "feldt" or correlation == "polychoric") else None
    if ci == "feldt":
        alpha_ci = feldt_ci(alpha, n, k)
    elif alpha_ci is None:
        if missing != "listwise":
            raise InputError("bootstrap CIs are computed on complete cases; use missing='listwise'")
        alpha_ci, _ = bootstrap_alpha(complete.to_numpy(float), n_boot=n_boot, seed=seed,
                                      method=ci)
    item_stats = pd.DataFrame(
        {
            "mean": m.mean,
            "sd": sd,
            "r_drop": corrected_item_total_r(cov),
            "alpha_if_deleted": alpha_if_item_deleted(cov),
        },
        index=names,
    )
    if k == 2:
        notes.append("alpha if item deleted is undefined for a 2-item scale (reported as null)")
    ordinal = None
    omega_corr = corr
    if correlation == "polychoric":
        poly_result = polychoric_result(complete if missing == "listwise" else x)
        poly = poly_result.rho
        if poly_result.smoothed:
            notes.append("the polychoric matrix was not positive definite and was smoothed "
                         "(psych::cor.smooth); ordinal alpha and omega use the smoothed matrix")
        ordinal = standardized_alpha(poly)
        omega_corr = poly
    omega_res, intervals = None, {}
    if omega:
        omega_res, intervals = _scale_omega(scale, omega_corr, names, x, notes, ci=ci,
                                           n_boot=n_boot, seed=seed, n_factors=n_factors,
                                           polychoric=correlation == "polychoric",
                                           boot=omega_ci)
    return ScaleReliability(
        scale=scale, n=n, alpha=alpha, std_alpha=standardized_alpha(corr),
        lambda6=guttman_lambda6(corr), average_r=average_inter_item_r(corr), alpha_ci=alpha_ci,
        ci_method=ci, omega_total=None if omega_res is None else omega_res.omega_total,
        omega_h=None if omega_res is None else omega_res.omega_h, item_statistics=item_stats,
        ordinal_alpha=ordinal, notes=notes,
        omega_u=None if omega_res is None else omega_res.omega_u, omega_ci=intervals,
    )


def _scale_omega(scale: str, corr: np.ndarray, names: list[str], x: pd.DataFrame | None,
                 notes: list[str], *,
                 ci: str, n_boot: int, seed: Any, n_factors: int, polychoric: bool,
                 boot: bool
                 ) -> tuple[Any, dict[str, tuple[float, float]]]:
    """Omega of one scale (psych::omega conventions) and, for bootstrap CIs, its intervals."""
    from ._blas import single_thread_blas

    k = corr.shape[0]
    nf = min(n_factors, max(k - 1, 1))
    try:
        with warnings.catch_warnings(), single_thread_blas():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = omega_of(corr, nf)
            intervals: dict[str, tuple[float, float]] = {}
            if boot and ci != "feldt" and not polychoric:
                boot = bootstrap_omega(x.dropna().to_numpy(float), nf, n_boot=n_boot, seed=seed,
                                       method=ci)
                intervals = {name: boot[name] for name in ("omega_total", "omega_h", "omega_u")
                             if name in boot}
    except (DegenerateDataError, np.linalg.LinAlgError, ValueError) as exc:
        warnings.warn(f"scale {scale!r}: omega could not be computed ({exc})",
                      DegenerateDataWarning, stacklevel=4)
        notes.append(f"omega not computed: {exc}")
        return None, {}
    if k == 2:
        notes.append("omega for 2 items assumes equal loadings (= standardised alpha)")
    if res.flipped:
        flipped = ", ".join(names[i] for i in res.flipped)
        notes.append(f"item(s) {flipped} load negatively on the general factor and were reversed "
                     "for omega, as psych::omega(flip=TRUE) does")
    if boot and ci != "feldt" and polychoric:
        notes.append("no bootstrap CI for omega of a polychoric matrix")
    return res, intervals


def reliability(
    responses: pd.DataFrame,
    instrument: Any,
    *,
    missing: str = "listwise",
    ci: str = "feldt",
    n_boot: int = 2000,
    seed: int | None = None,
    correlation: str = "pearson",
    columns: dict[str, str] | None = None,
    omega: bool = True,
    omega_ci: bool = False,
) -> ReliabilityResult:
    """Alpha, lambda 6, omega and item statistics for every scale of an instrument.

    Parameters
    ----------
    responses
        Raw responses (one row per respondent); items are reverse-keyed with
        :func:`empathy_metrics.scoring.keyed_items` first.
    instrument
        An :class:`~empathy_metrics.instruments.Instrument`, its id, a YAML path, a dict, or a
        list of item columns (one scale, ``"-A1"`` for a reverse-keyed item; see
        :func:`~empathy_metrics.instruments.resolve_instrument`).
    missing
        ``"listwise"`` (default; complete cases per scale) or ``"pairwise"`` (each covariance
        on the respondents answering both items; ``psych::alpha(use="pairwise")``, psych's own
        default, with ``n`` = all respondents as psych's Feldt CI uses).
    ci
        ``"feldt"`` (default), ``"bootstrap"`` (percentile) or ``"bca"``.
    n_boot, seed
        Bootstrap resamples and seed.
    correlation
        ``"pearson"`` or ``"polychoric"``: with polychoric, ``ordinal_alpha`` (alpha of the
        polychoric matrix; Zumbo, Gadermann & Zeisser 2007) is added and omega uses the
        polychoric matrix.
    columns
        Optional item id -> column name map.
    omega
        Compute omega (needs factor extraction; set False for speed).
    omega_ci
        With ``ci="bootstrap"`` or ``"bca"``, also bootstrap intervals for omega
        (:func:`~empathy_metrics.omega.bootstrap_omega`, the method of MBESS
        ``ci.reliability``) on the same resamples as alpha: one factor analysis per resample
        and scale, so it takes seconds to minutes; off by default.

    Returns
    -------
    ReliabilityResult

    Notes
    -----
    With ``missing="pairwise"`` every statistic (omega included) uses the pairwise covariance
    matrix rescaled to correlations, as ``psych::alpha`` does; psych's ``omega`` would use
    ``cor(use="pairwise")`` instead (a small difference, only with missing data). Bootstrap CIs
    need ``missing="listwise"``.

    Omega for the total uses ``n_factors`` = number of subscales (at least 2 subscales; else
    1), for a subscale one factor; see :func:`omega_coefficients`. Agreement with psych 2.2.9
    is tested in ``tests/test_reliability.py`` (closed forms within 1e-6, omega and polychoric
    within 1e-3).

    Examples
    --------
    >>> # In R: psych::alpha(na.omit(keyed[, items]))
    >>> # res = reliability(frame, "jse-s"); res["total"].alpha
    """
    from .instruments import resolve_instrument
    from .scoring import keyed_for_statistic, listwise_for_statistic

    if missing not in ("listwise", "pairwise"):
        raise InputError(f"missing must be 'listwise' or 'pairwise', got {missing!r}")
    if ci not in ("feldt", "bootstrap", "bca"):
        raise InputError(f"ci must be 'feldt', 'bootstrap' or 'bca', got {ci!r}")
    if correlation not in ("pearson", "polychoric"):
        raise InputError(f"correlation must be 'pearson' or 'polychoric', got {correlation!r}")
    inst = resolve_instrument(instrument, responses)
    keyed: pd.DataFrame | None = None
    alpha_cis: dict[str, tuple[float, float]] = {}
    if missing == "listwise" and ci == "feldt" and correlation == "pearson":
        # only the moments are needed: one pass over the codes, no keyed matrix
        moments, notes = listwise_for_statistic(responses, inst, columns=columns,
                                                func="reliability")
    else:
        keyed, notes = keyed_for_statistic(responses, inst, columns=columns,
                                           func="reliability")
        moments, alpha_cis = (
            _shared_listwise(keyed, inst.scales, ci=ci, n_boot=n_boot, seed=seed)
            if missing == "listwise" else ({}, {}))
    subscales = [s for s in inst.scales if s != "total"]
    results = {}
    for scale, item_ids in inst.scales.items():
        n_factors = len(subscales) if scale == "total" and len(subscales) >= 2 else 1
        results[scale] = _scale_reliability(
            scale, [str(i) for i in item_ids], None if keyed is None else keyed[list(item_ids)],
            missing=missing, ci=ci, n_boot=n_boot, seed=seed,
            correlation=correlation, omega=omega, n_factors=n_factors, omega_ci=omega_ci,
            moments=moments.get(scale), alpha_ci=alpha_cis.get(scale),
        )
        _omega_caveat(results[scale], n_factors)
    return ReliabilityResult(
        instrument=getattr(inst, "id", str(instrument)), scales=results, missing=missing,
        correlation=correlation, notes=notes,
    )


def _omega_caveat(res: ScaleReliability, n_factors: int) -> None:
    """psych::omega's caveat, as a note: an omega_h above omega_t is not meaningful.

    (psych's other caveat, "omega_h for 1 factor is not meaningful", needs no note: the
    one-factor quantity is reported as ``omega_u``, never as ``omega_h``.)"""
    if res.omega_h is None or res.omega_total is None or n_factors == 1:
        return
    if res.omega_h > res.omega_total:
        res.notes.append("omega_h > omega_t: not meaningful (the general factor is poorly "
                         "defined)")

