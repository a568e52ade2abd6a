"""Exploratory factor analysis against R psych (tests/reference/efa.R -> efa.json)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from empathy_metrics.efa import (
    EFAResult,
    bartlett_sphericity,
    efa,
    extract_factors,
    fit_factors,
    kmo,
    parallel_analysis,
    squared_multiple_correlations,
)
from empathy_metrics.errors import DataError, DegenerateDataError, DegenerateDataWarning
from empathy_metrics.rotation import rotate

from .conftest import REFERENCE_DIR, load_reference

#: Closed-form statistics (KMO, Bartlett, eigenvalues, SMC) against R.
CLOSED_FORM_TOL = 1e-6
#: Iterative solutions (loadings, Phi, communalities) against R after aligning factors.
ITERATIVE_TOL = 1e-3
#: Monte Carlo comparison of simulated 95th percentiles: |ours - R| <= Z * combined SE.
MC_Z = 4.0
#: Simulations on our side for the parallel-analysis comparison.
PARALLEL_ITER = 2000

REF = load_reference("efa")
DATA_DIR = REFERENCE_DIR / "data"
METHODS = ["minres", "ml", "pa"]
ROTATIONS = ["none", "oblimin", "promax", "varimax", "geomin"]


def _dataset(name: str) -> pd.DataFrame:
    path = {"bfi": "bfi.csv", "hs": "HolzingerSwineford1939.csv"}[name]
    frame = pd.read_csv(DATA_DIR / path)
    return frame[REF[name]["items"]].dropna().astype(float)


DATA = {name: _dataset(name) for name in ("bfi", "hs")}
CORR = {name: np.corrcoef(frame.to_numpy(), rowvar=False) for name, frame in DATA.items()}


def align_factors(
    ours: np.ndarray, theirs: np.ndarray, phi: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Reorder and reflect our factor columns to best match R's (greedy on |cross-product|).

    Returns our loadings (and Phi) permuted/reflected into R's column order.
    """
    k = theirs.shape[1]
    remaining = list(range(k))
    order, signs = [], []
    for j in range(k):
        best = max(remaining, key=lambda c: abs(ours[:, c] @ theirs[:, j]))
        remaining.remove(best)
        order.append(best)
        signs.append(1.0 if ours[:, best] @ theirs[:, j] >= 0 else -1.0)
    s = np.array(signs)
    aligned = ours[:, order] * s
    aligned_phi = None if phi is None else phi[np.ix_(order, order)] * np.outer(s, s)
    return aligned, aligned_phi


# ---------------------------------------------------------------------------------------------
# closed-form statistics
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bfi", "hs"])
def test_kmo_bartlett_eigenvalues_match_psych(name: str) -> None:
    ref, r, n = REF[name], CORR[name], len(DATA[name])
    assert n == ref["n"]
    overall, per_item = kmo(r)
    assert overall == pytest.approx(ref["kmo"], abs=CLOSED_FORM_TOL)
    np.testing.assert_allclose(per_item, ref["kmo_items"], atol=CLOSED_FORM_TOL)
    test = bartlett_sphericity(r, n)
    assert test.chi2 == pytest.approx(ref["bartlett"]["chi2"], rel=CLOSED_FORM_TOL)
    assert test.df == ref["bartlett"]["df"]
    assert test.p == pytest.approx(ref["bartlett"]["p"], rel=CLOSED_FORM_TOL, abs=1e-300)
    eig = np.sort(np.linalg.eigvalsh(r))[::-1]
    np.testing.assert_allclose(eig, ref["eigenvalues"], atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(squared_multiple_correlations(r), ref["smc"], atol=CLOSED_FORM_TOL)


# ---------------------------------------------------------------------------------------------
# extraction and rotation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bfi", "hs"])
@pytest.mark.parametrize("method", METHODS)
def test_extraction_and_rotations_match_psych_fa(name: str, method: str) -> None:
    ref = REF[name]
    k = ref["nfactors"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        fit = fit_factors(CORR[name], k, method)
    for rotation in ROTATIONS:
        expected = ref["fa"][f"{method}_{rotation}"]
        rotated = rotate(fit.loadings, rotation)
        theirs = np.array(expected["loadings"])
        ours, phi = align_factors(rotated.loadings, theirs, rotated.phi)
        label = f"{name} {method} {rotation}"
        np.testing.assert_allclose(ours, theirs, atol=ITERATIVE_TOL, err_msg=label)
        np.testing.assert_allclose(phi, np.array(expected["phi"]), atol=ITERATIVE_TOL,
                                   err_msg=label)
        np.testing.assert_allclose(fit.communalities, expected["communality"],
                                   atol=ITERATIVE_TOL, err_msg=label)
        np.testing.assert_allclose(fit.uniquenesses, expected["uniquenesses"],
                                   atol=ITERATIVE_TOL, err_msg=label)
        # psych's own ordering and reflection, without our alignment helper
        np.testing.assert_allclose(rotated.loadings, theirs, atol=ITERATIVE_TOL, err_msg=label)
    np.testing.assert_allclose(fit.values, ref["fa"][f"{method}_none"]["values"],
                               atol=ITERATIVE_TOL)


def test_extract_factors_signature_returns_loadings_and_uniquenesses() -> None:
    loadings, uniq = extract_factors(CORR["hs"], 3, "minres", n_obs=301)
    assert loadings.shape == (9, 3) and uniq.shape == (9,)
    np.testing.assert_allclose(uniq, 1 - np.sum(loadings**2, axis=1), atol=1e-12)
    expected = np.array(REF["hs"]["fa"]["minres_none"]["loadings"])
    np.testing.assert_allclose(loadings, expected, atol=ITERATIVE_TOL)


@pytest.mark.parametrize("rotation", ROTATIONS)
def test_efa_end_to_end_matches_psych(rotation: str) -> None:
    ref = REF["hs"]
    res = efa(DATA["hs"], ref["items"], 3, method="minres", rotation=rotation, n_iter=50, seed=1)
    expected = ref["fa"][f"minres_{rotation}"]
    np.testing.assert_allclose(res.loadings.to_numpy(), expected["loadings"], atol=ITERATIVE_TOL)
    np.testing.assert_allclose(res.factor_correlations.to_numpy(), expected["phi"],
                               atol=ITERATIVE_TOL)
    np.testing.assert_allclose(res.communalities.to_numpy(), expected["communality"],
                               atol=ITERATIVE_TOL)
    # psych's Vaccounted: SS loadings, Proportion Var, Cumulative Var, Proportion Explained, ...
    np.testing.assert_allclose(res.variance.to_numpy(), expected["vaccounted"],
                               atol=ITERATIVE_TOL)


# ---------------------------------------------------------------------------------------------
# parallel analysis
# ---------------------------------------------------------------------------------------------


def _quantile_se(samples: np.ndarray, q: float = 0.95) -> np.ndarray:
    """Distribution-free SE of a sample quantile (same rule as in efa.R)."""
    x = np.sort(samples, axis=0)
    n = x.shape[0]
    s = np.sqrt(n * q * (1 - q))
    lo, hi = max(1, int(np.floor(n * q - s))), min(n, int(np.ceil(n * q + s)))
    return (x[hi - 1] - x[lo - 1]) / 2


@pytest.mark.parametrize("name", ["bfi", "hs"])
def test_parallel_analysis_matches_psych_fa_parallel(name: str) -> None:
    ref = REF[name]["parallel"]
    res = parallel_analysis(CORR[name], len(DATA[name]), n_iter=PARALLEL_ITER, seed=20240601)
    np.testing.assert_allclose(res.observed_pc, ref["pc_values"], atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(res.observed_fa, ref["fa_values"], atol=ITERATIVE_TOL)
    assert res.n_factors == ref["nfact"]
    assert res.n_components == ref["ncomp"]
    for kind in ("pc", "fa"):
        ours = res.simulated_pc if kind == "pc" else res.simulated_fa
        samples = res.samples_pc if kind == "pc" else res.samples_fa
        se = np.sqrt(np.square(ref[f"{kind}_sim_q95_se"]) + _quantile_se(samples) ** 2)
        z = np.abs(ours - np.array(ref[f"{kind}_sim_q95"])) / se
        assert np.all(z <= MC_Z), f"{name} {kind}: z = {np.round(z, 2)}"
        means = res.samples_pc.mean(0) if kind == "pc" else res.samples_fa.mean(0)
        np.testing.assert_allclose(means, res.mean_pc if kind == "pc" else res.mean_fa)


def test_parallel_analysis_is_reproducible_with_a_seed() -> None:
    a = parallel_analysis(CORR["hs"], 301, n_iter=30, seed=7)
    b = parallel_analysis(CORR["hs"], 301, n_iter=30, seed=7)
    np.testing.assert_array_equal(a.simulated_fa, b.simulated_fa)


def test_efa_chooses_n_factors_by_the_factor_criterion() -> None:
    res = efa(DATA["hs"], REF["hs"]["items"], n_iter=300, seed=3)
    assert res.n_factors == res.parallel.n_factors == REF["hs"]["parallel"]["nfact"]


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------


def _two_factor_data(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 2))
    f[:, 1] = 0.4 * f[:, 0] + np.sqrt(1 - 0.16) * f[:, 1]
    load = np.array([[0.8, 0], [0.7, 0], [0.6, 0.1], [0, 0.8], [0.1, 0.7], [0, 0.6]])
    x = f @ load.T + rng.standard_normal((n, 6)) * np.sqrt(1 - np.sum(load**2, axis=1) * 0.9)
    return pd.DataFrame(x, columns=[f"q{i}" for i in range(1, 7)])


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    perm=st.permutations(list(range(6))),
    method=st.sampled_from(METHODS),
    rotation=st.sampled_from(ROTATIONS),
)
def test_loadings_invariant_to_item_order(seed, perm, method, rotation) -> None:
    data = _two_factor_data(seed)
    items = list(data.columns)
    shuffled = [items[i] for i in perm]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        a = efa(data, items, 2, method=method, rotation=rotation, n_iter=5, seed=0)
        b = efa(data, shuffled, 2, method=method, rotation=rotation, n_iter=5, seed=0)
    assert list(b.loadings.index) == shuffled
    np.testing.assert_allclose(b.loadings.loc[items].to_numpy(), a.loadings.to_numpy(),
                               atol=ITERATIVE_TOL)
    np.testing.assert_allclose(b.communalities.loc[items], a.communalities, atol=ITERATIVE_TOL)


# ---------------------------------------------------------------------------------------------
# result object, instrument input
# ---------------------------------------------------------------------------------------------


def test_to_dict_has_the_documented_shape() -> None:
    res = efa(DATA["hs"], REF["hs"]["items"], 3, n_iter=20, seed=1)
    d = json.loads(res.to_json())
    assert list(d) == ["n", "kmo", "kmo_items", "bartlett", "eigenvalues", "parallel",
                       "n_factors", "method", "rotation", "loadings", "communalities",
                       "factor_correlations", "heywood", "missing"]
    assert d["heywood"] == [] and d["missing"] == "listwise"
    assert d["n"] == 301 and d["n_factors"] == 3
    assert d["method"] == "minres" and d["rotation"] == "oblimin"
    assert set(d["bartlett"]) == {"chi2", "df", "p"} and isinstance(d["bartlett"]["df"], int)
    assert set(d["kmo_items"]) == set(REF["hs"]["items"])
    assert d["parallel"]["n_factors"] == res.parallel.n_factors
    assert all(len(v) == 3 for v in d["loadings"].values())
    assert list(d["loadings"]) == REF["hs"]["items"]
    assert np.array(d["factor_correlations"]).shape == (3, 3)
    assert len(d["eigenvalues"]) == 9


def test_summary_blanks_small_loadings_only_in_display() -> None:
    res = efa(DATA["hs"], REF["hs"]["items"], 3, n_iter=20, seed=1)
    text = res.summary()
    assert "KMO" in text and "Bartlett" in text and "Factor correlations" in text
    section = text.split("not shown)")[1].split("Parallel analysis: eigenvalues")[0]
    numbers = [tok for tok in section.split() if tok.lstrip("-").replace(".", "").isdigit()]
    shown = int((res.loadings.abs() >= 0.3).to_numpy().sum())
    assert shown < res.loadings.size  # some loadings are small here
    assert len(numbers) == shown + 2 * len(res.items)  # + h2 and u2 columns
    assert res.to_frame().shape == (9, 5)  # full precision kept
    assert "<table" in res._repr_html_()
    assert isinstance(res, EFAResult)


def test_instrument_input_reverse_keys_items() -> None:
    from empathy_metrics.instruments import load_instrument
    from empathy_metrics.scoring import keyed_items

    inst = load_instrument("jse-s")
    rng = np.random.default_rng(4)
    f = rng.standard_normal((300, 1))
    raw = np.clip(np.round(4 + 1.2 * f + rng.standard_normal((300, 20))), 1, 7)
    rev = np.array([it in inst.reverse_items for it in inst.item_ids])
    raw[:, rev] = 8 - raw[:, rev]  # reverse-worded items answered in reverse
    data = pd.DataFrame(raw, columns=inst.item_ids)
    res = efa(data, "jse-s", 1, n_iter=20, seed=0)
    keyed = keyed_items(data, inst)
    by_items = efa(keyed, list(keyed.columns), 1, n_iter=20, seed=0)
    np.testing.assert_allclose(res.loadings.to_numpy(), by_items.loadings.to_numpy())
    assert (res.loadings["F1"] > 0).all()  # after reverse keying every item loads positively


def test_listwise_deletion() -> None:
    data = DATA["hs"].copy()
    data.iloc[:10, 0] = np.nan
    res = efa(data, REF["hs"]["items"], 3, n_iter=10, seed=0)
    assert res.n == 291


# ---------------------------------------------------------------------------------------------
# degenerate data
# ---------------------------------------------------------------------------------------------


def test_constant_item_is_an_error_naming_it() -> None:
    data = DATA["hs"].copy()
    data["x4"] = 3.0
    with pytest.raises(DegenerateDataError, match="x4"):
        efa(data, REF["hs"]["items"], 2, n_iter=10)


def test_perfectly_collinear_items_are_an_error() -> None:
    data = DATA["hs"].copy()
    data["x9"] = 2 * data["x1"] + 1
    with pytest.raises(DegenerateDataError, match="x1~x9"):
        efa(data, REF["hs"]["items"], 2, n_iter=10)
    data["x9"] = data["x1"] + data["x2"]
    with pytest.raises(DegenerateDataError, match="singular"):
        efa(data, REF["hs"]["items"], 2, n_iter=10)


def test_fewer_respondents_than_items_is_an_error() -> None:
    with pytest.raises(DegenerateDataError, match="fewer respondents"):
        efa(DATA["bfi"].iloc[:20], REF["bfi"]["items"], 2, n_iter=10)


def test_singular_matrix_statistics_raise() -> None:
    r = np.ones((4, 4))
    with pytest.raises(DegenerateDataError):
        kmo(r)
    with pytest.raises(DegenerateDataError):
        bartlett_sphericity(r, 100)
    with pytest.raises(DegenerateDataError):
        fit_factors(r, 1, "ml")
    with pytest.raises(DegenerateDataError):
        extract_factors(np.full((3, 3), np.nan), 1)


def test_heywood_case_warns() -> None:
    # two nearly identical items force a communality to the .995 bound
    r = np.array([[1, 0.999, 0.3, 0.3], [0.999, 1, 0.3, 0.3], [0.3, 0.3, 1, 0.3],
                  [0.3, 0.3, 0.3, 1.0]])
    with pytest.warns(DegenerateDataWarning, match="Heywood"):
        fit_factors(r, 2, "minres")


def test_bad_arguments_are_data_errors() -> None:
    items = REF["hs"]["items"]
    with pytest.raises(DataError, match="n_factors"):
        efa(DATA["hs"], items, 9, n_iter=10)
    with pytest.raises(DataError, match="rotation"):
        efa(DATA["hs"], items, 2, rotation="quartimax", n_iter=10)
    with pytest.raises(DataError, match="method"):
        efa(DATA["hs"], items, 2, method="wls", n_iter=10)
    with pytest.raises(DataError, match="not found"):
        efa(DATA["hs"], ["x1", "nope", "x2"], 1, n_iter=10)
    infinite = DATA["hs"].copy()
    infinite.iloc[3, 2] = np.inf
    with pytest.raises(DataError, match="infinite values in item.*x3"):
        efa(infinite, items, 2, n_iter=10)
    with pytest.raises(DataError, match="square"):
        extract_factors(np.ones((3, 2)), 1)


def test_uncorrelated_items_warn_and_extract_one_factor() -> None:
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.standard_normal((500, 6)), columns=list("abcdef"))
    with pytest.warns(DegenerateDataWarning):
        res = efa(data, list(data.columns), n_iter=200, seed=2)
    assert res.n_factors == 1


def test_polychoric_option_uses_the_correlation_module() -> None:
    correlation = pytest.importorskip("empathy_metrics.correlation")
    if not hasattr(correlation, "polychoric_matrix"):
        pytest.skip("polychoric_matrix not available yet")
    data = DATA["bfi"].iloc[:400, :6]
    res = efa(data, list(data.columns), 1, correlation="polychoric", n_iter=10, seed=0)
    assert res.correlation == "polychoric"
    assert not np.allclose(res.correlation_matrix.to_numpy(),
                           np.corrcoef(data.to_numpy(), rowvar=False))


def test_reference_file_records_versions() -> None:
    assert "psych" in REF["versions"]
    assert Path(REFERENCE_DIR / "efa.R").exists()


def test_fast_one_factor_path_equals_fit_factors() -> None:
    """Parallel analysis's lean one-factor minres gives psych's (unpolished) communalities."""
    from empathy_metrics.parallel import (
        _lbfgsb_direct,
        _lbfgsb_minimize,
        _null_correlations,
        _one_factor_minres_communalities,
    )

    rng = np.random.default_rng(11)
    sims = _null_correlations(rng, 120, 8, 25)
    for r in sims:
        smc = squared_multiple_correlations(r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)
            expected = fit_factors(r, 1, "minres", warn=False, polish=False).communalities
        np.testing.assert_allclose(_one_factor_minres_communalities(r, smc), expected,
                                   atol=1e-8)

    def fun_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        return float(np.sum((x - 3.0) ** 2 + np.cos(x))), 2 * (x - 3.0) - np.sin(x)

    x0 = np.full(5, 0.5)
    np.testing.assert_allclose(_lbfgsb_direct(fun_grad, x0, 0.0, 2.5, 100),
                               _lbfgsb_minimize(fun_grad, x0, 0.0, 2.5, 100), atol=1e-10)


# ---------------------------------------------------------------------------------------------
# polychoric EFA, non-positive-definite polychoric matrices, early checks, progress
# ---------------------------------------------------------------------------------------------


def test_polychoric_efa_matches_psych_fa_cor_poly() -> None:
    """``psych::fa(jse, 3, cor = "poly")`` on the simulated 7-category JSE data."""
    ref = REF["jse_poly"]
    data = pd.read_csv(DATA_DIR / "jse_sim.csv")
    res = efa(data, ref["items"], ref["nfactors"], correlation="polychoric", n_iter=20, seed=1)
    assert res.n == ref["n"]
    theirs = np.array(ref["loadings"])
    ours, phi = align_factors(res.loadings.to_numpy(), theirs,
                              res.factor_correlations.to_numpy())
    np.testing.assert_allclose(ours, theirs, atol=ITERATIVE_TOL)
    np.testing.assert_allclose(phi, ref["phi"], atol=ITERATIVE_TOL)
    np.testing.assert_allclose(res.communalities, ref["communality"], atol=ITERATIVE_TOL)
    np.testing.assert_allclose(res.uniquenesses, ref["uniquenesses"], atol=ITERATIVE_TOL)


def _sparse_ordinal(n: int = 25, p: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 1))
    x = np.clip(np.round(4 + 1.5 * f + 0.6 * rng.standard_normal((n, p))), 1, 7)
    return pd.DataFrame(x, columns=[f"q{i}" for i in range(1, p + 1)])


def test_non_positive_definite_polychoric_is_a_clear_error() -> None:
    data = _sparse_ordinal()
    with pytest.warns(DegenerateDataWarning, match="not positive definite"):
        with pytest.raises(DegenerateDataError, match="polychoric correlation matrix.*not "
                                                      "positive definite.*25 respondents"):
            efa(data, list(data.columns), 1, correlation="polychoric", n_iter=10)
    # the same data with Pearson correlations are fine
    res = efa(data, list(data.columns), 1, n_iter=10, seed=0)
    assert np.all(np.isfinite(res.loadings.to_numpy()))


def test_bad_n_factors_fails_before_parallel_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    efa_module = importlib.import_module("empathy_metrics.efa")

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("parallel analysis ran before n_factors was checked")

    monkeypatch.setattr(efa_module, "parallel_analysis", boom)
    for bad in (9, 0, 2.5):
        with pytest.raises(DataError, match="n_factors"):
            efa(DATA["hs"], REF["hs"]["items"], bad)


def test_parallel_analysis_progress_bar_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    class FakeTerminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    parallel_analysis(CORR["hs"], len(DATA["hs"]), n_iter=200, seed=1)
    assert quiet.getvalue() == ""
    tty = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", tty)
    a = parallel_analysis(CORR["hs"], len(DATA["hs"]), n_iter=200, seed=1)
    assert "Parallel analysis" in tty.getvalue()
    b = parallel_analysis(CORR["hs"], len(DATA["hs"]), n_iter=200, seed=1)
    np.testing.assert_array_equal(a.simulated_fa, b.simulated_fa)
