"""Exploratory factor analysis agreeing with R's ``psych::fa`` / ``psych::fa.parallel``.

Public functions
----------------
* :func:`extract_factors` -- unrotated loadings by minimum residual (``fm="minres"``), maximum
  likelihood (``fm="ml"``) or iterated principal axis (``fm="pa"``), as ``psych::fa``.
* :func:`squared_multiple_correlations` -- ``psych::smc``.
* :func:`kmo` -- Kaiser-Meyer-Olkin measure of sampling adequacy (``psych::KMO``).
* :func:`bartlett_sphericity` -- Bartlett's test that R is an identity
  (``psych::cortest.bartlett``).
* :func:`parallel_analysis` -- Horn's parallel analysis (``psych::fa.parallel``), simulated by
  sampling null correlation matrices directly from the Wishart distribution.
* :func:`efa` -- everything above on a response matrix, with rotation
  (:mod:`empathy_metrics.rotation`), returning an :class:`EFAResult`.
"""


from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._blas import single_thread_blas
from ._results import Result, jsonable
from .adequacy import BartlettTest, bartlett_sphericity, kmo
from .errors import DataError, DegenerateDataError, DegenerateDataWarning
from .extraction import (
    METHODS,
    FactorExtraction,
    _as_correlation,
    _eigenvalues_desc,
    extract_factors,
    fit_factors,
    squared_multiple_correlations,
)
from .parallel import ParallelResult, parallel_analysis
from .rotation import ROTATIONS, rotate

__all__ = [
    "BartlettTest",
    "EFAResult",
    "ParallelResult",
    "FactorExtraction",
    "METHODS",
    "bartlett_sphericity",
    "efa",
    "extract_factors",
    "fit_factors",
    "kmo",
    "parallel_analysis",
    "squared_multiple_correlations",
    "variance_accounted",
]


# --------------------------------------------------------------------------------------------
# the EFA result and the one-call API
# --------------------------------------------------------------------------------------------

#: Loadings with a smaller absolute value are blanked in ``summary()`` (display only).
DISPLAY_CUTOFF = 0.3


@dataclass
class EFAResult(Result):
    """An exploratory factor analysis (see :func:`efa`).

    Attributes
    ----------
    n
        Respondents used (complete cases).
    notes
        Plain-words notes (e.g. out-of-range codes set to missing before the analysis).
    items
        Item ids, in the order of the rows of ``loadings``.
    kmo, kmo_items
        Kaiser-Meyer-Olkin MSA, overall and per item (Series).
    bartlett
        Bartlett's test of sphericity.
    eigenvalues
        Eigenvalues of the correlation matrix, descending.
    parallel
        Horn's parallel analysis.
    n_factors
        Factors extracted (given, or chosen by the parallel analysis factor criterion).
    method, rotation, correlation
        Extraction method, rotation and correlation type.
    loadings
        Rotated pattern loadings, items x factors (DataFrame; factors ``F1..Fk`` ordered by
        variance accounted for, columns reflected to positive sums as psych).
    communalities, uniquenesses
        ``h2`` and ``u2 = 1 - h2`` per item (Series).
    factor_correlations
        Factor correlation matrix Phi (DataFrame; identity for orthogonal rotations).
    variance
        psych's ``Vaccounted``: rows ``SS loadings``, ``Proportion Var``, ``Cumulative Var``,
        ``Proportion Explained``, ``Cumulative Proportion``; columns = factors.
    unrotated_loadings, rotation_matrix
        The extraction before rotation and ``T`` with ``loadings = unrotated @ T``.
    correlation_matrix
        The correlation matrix analysed (DataFrame).
    heywood
        Items of a Heywood case (communality at or above 1, or uniqueness at its lower bound
        .005): the solution is improper. Empty for a proper solution. Also a line of
        ``summary()`` and a :class:`~empathy_metrics.errors.DegenerateDataWarning`.
    missing
        ``"listwise"`` (complete cases) or ``"pairwise"`` (psych's default ``use="pairwise"``).
    """

    n: int
    items: list[str]
    kmo: float
    kmo_items: pd.Series
    bartlett: BartlettTest
    eigenvalues: np.ndarray
    parallel: ParallelResult
    n_factors: int
    method: str
    rotation: str
    correlation: str
    loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    factor_correlations: pd.DataFrame
    variance: pd.DataFrame
    unrotated_loadings: np.ndarray
    rotation_matrix: np.ndarray
    correlation_matrix: pd.DataFrame
    heywood: list[str] = field(default_factory=list)
    missing: str = "listwise"
    notes: list[str] = field(default_factory=list)

    title = "Exploratory factor analysis"

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (see the module docs of ``empathy efa --format json``)."""
        return jsonable(
            {
                "n": int(self.n),
                "kmo": self.kmo,
                "kmo_items": {k: float(v) for k, v in self.kmo_items.items()},
                "bartlett": self.bartlett.to_dict(),
                "eigenvalues": list(self.eigenvalues),
                "parallel": self.parallel.to_dict(),
                "n_factors": int(self.n_factors),
                "method": self.method,
                "rotation": self.rotation,
                "loadings": {
                    item: [float(v) for v in row]
                    for item, row in zip(self.loadings.index, self.loadings.to_numpy(), strict=True)
                },
                "communalities": {k: float(v) for k, v in self.communalities.items()},
                "factor_correlations": self.factor_correlations.to_numpy().tolist(),
                "heywood": list(self.heywood),
                "missing": self.missing,
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Loadings with ``h2`` (communality) and ``u2`` (uniqueness) columns, full precision."""
        frame = self.loadings.copy()
        frame["h2"] = self.communalities
        frame["u2"] = self.uniquenesses
        return frame

    def _header_lines(self) -> list[str]:
        b = self.bartlett
        par = self.parallel
        heywood = [
            f"HEYWOOD CASE: {', '.join(self.heywood)} at communality >= 1 (uniqueness at its "
            "bound .005); the solution is improper -- try fewer factors or another method"
        ] if self.heywood else []
        rows = ("complete cases (listwise; psych::fa, KMO and cortest.bartlett use pairwise "
                "correlations: missing='pairwise')" if self.missing == "listwise" else
                "pairwise correlations, n = all respondents (as psych)")
        return heywood + [
            f"n = {self.n}, {len(self.items)} items, {self.correlation} correlations; "
            f"{self.n_factors} factor(s), {self.method} extraction, {self.rotation} rotation",
            f"Rows: {rows}",
            f"KMO = {self.kmo:.3f}; Bartlett chi2({b.df}) = {b.chi2:.2f}, p = {b.p:.3g}",
            f"Parallel analysis ({par.n_iter} simulations, {par.quantile:.0%} quantile): "
            f"{par.n_factors} factor(s), {par.n_components} component(s)",
        ]

    def parallel_table(self, n_rows: int = 10) -> pd.DataFrame:
        """Observed vs simulated (95th percentile) eigenvalues, first ``n_rows`` of them."""
        par = self.parallel
        k = min(n_rows, par.observed_pc.size)
        return pd.DataFrame(
            {
                "PC observed": par.observed_pc[:k],
                "PC simulated": par.simulated_pc[:k],
                "FA observed": par.observed_fa[:k],
                "FA simulated": par.simulated_fa[:k],
            },
            index=pd.RangeIndex(1, k + 1, name="#"),
        )

    def _display_loadings(self) -> pd.DataFrame:
        shown = self.to_frame().astype(object)
        factors = list(self.loadings.columns)
        for col in shown.columns:
            values = self.to_frame()[col]
            blank = col in factors
            shown[col] = [
                "" if blank and abs(v) < DISPLAY_CUTOFF else f"{v:.2f}" for v in values
            ]
        return shown

    def summary(self) -> str:
        """Readable report: settings, KMO/Bartlett, loadings (``|x| < .3`` blanked), variance,
        Phi."""
        lines = [self.title, "=" * len(self.title), *self._header_lines(), ""]
        lines.append(f"Loadings (|loading| < {DISPLAY_CUTOFF} not shown)")
        with pd.option_context("display.max_rows", 500, "display.width", 160):
            lines.append(self._display_loadings().to_string())
            lines.append("")
            lines.append(
                f"Parallel analysis: eigenvalues vs the {self.parallel.quantile:.0%} quantile of "
                "simulated ones"
            )
            lines.append(self.parallel_table().to_string(float_format=lambda x: f"{x:.3f}"))
            lines.append("")
            lines.append("Variance accounted for")
            lines.append(self.variance.to_string(float_format=lambda x: f"{x:.3f}"))
            if self.n_factors > 1:
                lines.append("")
                lines.append("Factor correlations")
                lines.append(
                    self.factor_correlations.to_string(float_format=lambda x: f"{x:.3f}")
                )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<p>{html.escape(line)}</p>" for line in self._header_lines())
        loadings = self._display_loadings().to_html(border=0)
        variance = self.variance.to_html(float_format=lambda x: f"{x:.3f}", border=0)
        phi = self.factor_correlations.to_html(float_format=lambda x: f"{x:.3f}", border=0)
        parallel = self.parallel_table().to_html(float_format=lambda x: f"{x:.3f}", border=0)
        from ._results import html_notes

        return (
            f"<div class='empathy-metrics-result'><h4>{html.escape(self.title)}</h4>{head}"
            f"<h5>Loadings (|loading| &lt; {DISPLAY_CUTOFF} not shown)</h5>{loadings}"
            f"<h5>Parallel analysis (simulated = {self.parallel.quantile:.0%} quantile)</h5>"
            f"{parallel}"
            f"<h5>Variance accounted for</h5>{variance}"
            f"<h5>Factor correlations</h5>{phi}{html_notes(self.notes)}</div>"
        )


def variance_accounted(loadings: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """psych's ``Vaccounted`` rows for a pattern matrix and factor correlations.

    ``SS loadings`` is :math:`\\mathrm{diag}(\\Phi \\Lambda' \\Lambda)` (column sums of squares when
    orthogonal); proportions are of the number of variables (psych's ``vtotal``, the sum of
    communalities and uniquenesses of a correlation matrix) and of the common variance.
    """
    ss = np.diag(phi @ loadings.T @ loadings)
    p = loadings.shape[0]
    prop = ss / p
    return np.vstack([ss, prop, np.cumsum(prop), ss / ss.sum(), np.cumsum(ss / ss.sum())])


def _item_matrix(
    responses: pd.DataFrame,
    instrument_or_items: Any,
    columns: Mapping[str, str] | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Item scores to analyse: keyed items of an instrument, or the listed columns as they are;
    with the notes the result reports (out-of-range codes set to missing)."""
    from ._checks import check_frame

    check_frame(responses, "responses", "efa")
    if isinstance(instrument_or_items, (list, tuple, pd.Index)) and not isinstance(
        instrument_or_items, str
    ):
        names = [str(c) for c in instrument_or_items]
        missing = [c for c in names if c not in responses.columns]
        if missing:
            raise DataError(
                f"columns not found in the responses: {', '.join(missing)}",
                hint=f"available columns: {', '.join(map(str, responses.columns[:30]))}",
            )
        if len(set(names)) != len(names):
            raise DataError("the list of items contains duplicates")
        frame = responses[names]
        if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
               for t in frame.dtypes):
            return pd.DataFrame(frame.to_numpy(dtype=float, na_value=np.nan),
                                index=frame.index, columns=names), []
        try:
            return frame.apply(pd.to_numeric, errors="raise").astype(float), []
        except (ValueError, TypeError) as exc:
            raise DataError(f"item columns must be numeric: {exc}") from None
    from .scoring import keyed_for_statistic

    return keyed_for_statistic(responses, instrument_or_items, columns=columns, func="efa")


def _check_items(data: pd.DataFrame) -> None:
    """Constant items and too few respondents are errors, naming what is wrong."""
    n, p = data.shape
    x = data.to_numpy(dtype=float)
    infinite = [str(c) for c, bad in zip(data.columns, np.isinf(x).any(axis=0), strict=True)
                if bad]
    if infinite:
        raise DataError(f"infinite values in item(s): {', '.join(infinite)}")
    if p < 3:
        raise DataError(f"factor analysis needs at least 3 items, got {p}")
    if n < 3:
        raise DegenerateDataError(
            f"only {n} complete response(s); factor analysis needs many more respondents"
        )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(x, axis=0, ddof=1) if n > 1 else np.full(p, np.nan)
    constant = [str(c) for c, s in zip(data.columns, sd, strict=True)
                if not np.isfinite(s) or s == 0]
    if constant:
        raise DegenerateDataError(
            f"item(s) with no variance among the {n} complete responses: {', '.join(constant)}",
            hint="a constant item cannot be correlated; drop it",
        )
    if n <= p:
        raise DegenerateDataError(
            f"fewer respondents ({n} complete) than items ({p}): the correlation matrix is "
            "singular",
            hint="factor analysis needs many more respondents than items (at least 5-10 per item)",
        )


def _check_collinear(r: np.ndarray, items: Sequence[str]) -> None:
    vals = np.linalg.eigvalsh(r)
    if vals[0] > 1e-10:
        return
    pairs = [
        f"{items[i]}~{items[j]}"
        for i in range(len(items))
        for j in range(i + 1, len(items))
        if abs(r[i, j]) > 1 - 1e-10
    ]
    detail = f" (perfectly correlated: {', '.join(pairs)})" if pairs else ""
    raise DegenerateDataError(
        f"the correlation matrix is singular: some items are exact linear combinations of "
        f"others{detail}",
        hint="drop redundant items",
    )


def _correlations(data: pd.DataFrame, correlation: str) -> np.ndarray:
    """Pearson or polychoric correlations; a non-positive-definite polychoric matrix is smoothed
    (with a :class:`DegenerateDataWarning`, as ``psych::cor.smooth``) and, when smoothing leaves
    it numerically singular, refused with an error that says why."""
    if correlation == "pearson":
        return np.corrcoef(data.to_numpy(dtype=float), rowvar=False)
    from .correlation import polychoric_result

    result = polychoric_result(data)
    matrix = np.asarray(result.rho, dtype=float)
    if result.smoothed and np.linalg.eigvalsh(matrix)[0] <= 1e-8:
        n, p = data.shape
        raise DegenerateDataError(
            f"the polychoric correlation matrix of the {p} items is not positive definite, and "
            f"smoothing it (psych::cor.smooth) leaves it singular: {n} respondents are too few "
            "for polychoric correlations of these items (or some categories are almost empty)",
            hint="use correlation='pearson' (CLI: --correlation pearson), merge sparse "
            "categories, or collect more responses",
        )
    return matrix


def efa(
    responses: pd.DataFrame,
    instrument_or_items: Any,
    n_factors: int | None = None,
    *,
    method: str = "minres",
    rotation: str = "oblimin",
    correlation: str = "pearson",
    n_iter: int = 1000,
    seed: int | np.random.Generator | None = None,
    columns: Mapping[str, str] | None = None,
    missing: str = "listwise",
) -> EFAResult:
    """Exploratory factor analysis of questionnaire items, agreeing with ``psych::fa``.

    Parameters
    ----------
    responses
        One row per respondent.
    instrument_or_items
        An :class:`~empathy_metrics.instruments.Instrument` or bundled id (all its items are
        analysed after reverse keying with :func:`empathy_metrics.scoring.keyed_items`), or a list
        of column names of ``responses`` (used as they are).
    n_factors
        Number of factors. ``None``: the number suggested by the parallel analysis factor
        criterion (psych's ``nfact``), at least 1.
    method
        ``"minres"`` (default, as psych), ``"ml"`` or ``"pa"``; see :func:`extract_factors`.
    rotation
        ``"oblimin"`` (default, as psych), ``"promax"``, ``"varimax"``, ``"geomin"`` (oblique,
        GPArotation's ``geominQ``) or ``"none"``; see :func:`empathy_metrics.rotation.rotate`.
    correlation
        ``"pearson"`` or ``"polychoric"`` (from :mod:`empathy_metrics.correlation`).
    n_iter
        Simulations for the parallel analysis.
    seed
        Seed for the parallel analysis (the only random part).
    columns
        Optional mapping item id -> column name (instrument input only).
    missing
        ``"listwise"`` (default: respondents with any missing item are dropped; ``n`` reports
        how many remain) or ``"pairwise"`` (Pearson only: each correlation from the respondents
        answering both items and ``n`` = all respondents, which is what ``psych::fa``,
        ``psych::KMO``, ``psych::cortest.bartlett`` and ``psych::fa.parallel`` do with raw
        data). The default differs from psych's: with missing answers the two differ (on
        the 25 ``bfi`` items Bartlett's chi-square is 18,146 listwise, 20,164 pairwise); the
        summary names which was used.

    Returns
    -------
    EFAResult

    Notes
    -----
    The steps, each agreeing with the R function named:
    KMO (``psych::KMO``), Bartlett's test (``psych::cortest.bartlett``), eigenvalues, parallel
    analysis (``psych::fa.parallel``, see :func:`parallel_analysis`), extraction and rotation
    (``psych::fa(r, nfactors, fm=method, rotate=rotation)``, with ``"geomin"`` meaning
    ``rotate="geominQ"``). Factors are reflected to positive column sums and ordered by variance
    accounted for, as psych.

    Degenerate data raise :class:`~empathy_metrics.errors.DegenerateDataError` (a constant item,
    fewer complete respondents than items, perfectly collinear items, a polychoric matrix that is
    not positive definite and stays singular after ``psych::cor.smooth`` smoothing) or warn with
    :class:`~empathy_metrics.errors.DegenerateDataWarning` (Heywood cases, non-convergence, an
    under-identified model with more parameters than correlations).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> f = rng.standard_normal((500, 2))
    >>> x = np.repeat(f, 3, axis=1) + rng.standard_normal((500, 6))
    >>> data = pd.DataFrame(x, columns=[f"q{i}" for i in range(1, 7)])
    >>> res = efa(data, list(data.columns), 2, n_iter=100, seed=1)
    >>> res.n_factors, res.loadings.shape
    (2, (6, 2))

    In R: ``psych::fa(data, 2)`` gives the same loadings.
    """
    method = str(method).lower()
    if method == "mle":
        method = "ml"
    if method not in METHODS:
        raise DataError(f"unknown extraction method {method!r}; choose one of {', '.join(METHODS)}")
    rotation = str(rotation).lower()
    rotation = {"geominq": "geomin", "quartimin": "oblimin"}.get(rotation, rotation)
    if rotation not in ROTATIONS:
        raise DataError(f"unknown rotation {rotation!r}; choose one of {', '.join(ROTATIONS)}")
    correlation = str(correlation).lower()
    if correlation not in ("pearson", "polychoric"):
        raise DataError(f"unknown correlation {correlation!r}; choose 'pearson' or 'polychoric'")
    if missing not in ("listwise", "pairwise"):
        raise DataError(f"missing must be 'listwise' or 'pairwise', got {missing!r}")
    if missing == "pairwise" and correlation != "pearson":
        raise DataError("missing='pairwise' is available for Pearson correlations only",
                        hint="use missing='listwise' with polychoric correlations")
    data, notes = _item_matrix(responses, instrument_or_items, columns)
    if missing == "listwise":
        data = data.dropna(axis=0, how="any")
        r = None
    else:
        data = data.dropna(axis=0, how="all")
        r = data.corr().to_numpy()  # R cor(use = "pairwise")
    items = [str(c) for c in data.columns]
    _check_items(data)
    r = _as_correlation(_correlations(data, correlation) if r is None else r)
    with single_thread_blas():
        res = _efa_core(data, items, r, n_factors, method, rotation, correlation, n_iter, seed)
    res.missing = missing
    res.notes.extend(notes)
    return res


def _efa_core(
    data: pd.DataFrame, items: list[str], r: np.ndarray, n_factors: int | None,
    method: str, rotation: str, correlation: str, n_iter: int,
    seed: int | np.random.Generator | None,
) -> EFAResult:
    n, p = data.shape
    _check_collinear(r, items)
    if n_factors is not None:
        # checked before the (slow) parallel analysis so a bad request fails at once
        if isinstance(n_factors, bool) or int(n_factors) != n_factors:
            raise DataError(f"n_factors must be a whole number, got {n_factors!r}")
        if not 1 <= int(n_factors) < p:
            raise DataError(
                f"n_factors must be between 1 and {p - 1} for {p} items, got {n_factors}"
            )
    kmo_overall, kmo_per_item = kmo(r)
    bartlett = bartlett_sphericity(r, n)
    eigenvalues = _eigenvalues_desc(r)
    parallel = parallel_analysis(r, n, n_iter=n_iter, seed=seed)
    if n_factors is None:
        k = parallel.n_factors
        if k < 1:
            warnings.warn(
                "parallel analysis suggests no common factor (the items look uncorrelated); "
                "one factor is extracted",
                DegenerateDataWarning,
                stacklevel=3,
            )
            k = 1
        k = min(k, p - 1)
    else:
        k = int(n_factors)
    dof = ((p - k) ** 2 - (p + k)) / 2
    if dof < 0:
        warnings.warn(
            f"{k} factors for {p} items leave negative degrees of freedom ({dof:g}): the model is "
            "under-identified",
            DegenerateDataWarning,
            stacklevel=3,
        )
    fit = fit_factors(r, k, method)
    rotated = rotate(fit.loadings, rotation)
    names = [f"F{j + 1}" for j in range(k)]
    phi = rotated.phi
    return EFAResult(
        n=int(n),
        items=items,
        kmo=kmo_overall,
        kmo_items=pd.Series(kmo_per_item, index=items, name="kmo"),
        bartlett=bartlett,
        eigenvalues=eigenvalues,
        parallel=parallel,
        n_factors=k,
        method=method,
        rotation=rotated.method,
        correlation=correlation,
        loadings=pd.DataFrame(rotated.loadings, index=items, columns=names),
        communalities=pd.Series(fit.communalities, index=items, name="h2"),
        uniquenesses=pd.Series(fit.uniquenesses, index=items, name="u2"),
        factor_correlations=pd.DataFrame(phi, index=names, columns=names),
        variance=pd.DataFrame(
            variance_accounted(rotated.loadings, phi),
            index=[
                "SS loadings",
                "Proportion Var",
                "Cumulative Var",
                "Proportion Explained",
                "Cumulative Proportion",
            ],
            columns=names,
        ),
        unrotated_loadings=fit.loadings,
        rotation_matrix=rotated.rotation_matrix,
        correlation_matrix=pd.DataFrame(r, index=items, columns=items),
        heywood=[items[i] for i in fit.heywood],
    )

