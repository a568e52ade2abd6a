"""Reliability statistics against psych 2.2.9 (tests/reference/reliability.json)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from empathy_metrics.correlation import covariance_matrix
from empathy_metrics.errors import DegenerateDataError, DegenerateDataWarning, InputError
from empathy_metrics.instruments import load_instrument
from empathy_metrics.omega import omega
from empathy_metrics.reliability import (
    alpha_if_item_deleted,
    average_inter_item_r,
    bootstrap_alpha,
    corrected_item_total_r,
    cronbach_alpha,
    feldt_ci,
    guttman_lambda6,
    omega_coefficients,
    reliability,
    standardized_alpha,
)
from empathy_metrics.scoring import keyed_items

from .conftest import jse_sim_responses

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "reliability.json").read_text())
CLOSED_FORM_TOL = 1e-6
ITERATIVE_TOL = 1e-3


def _bfi():
    return pd.read_csv(REF_DIR / "data" / "bfi.csv")


def _reverse(frame, cols):
    frame = frame.copy()
    for c in cols:
        frame[c] = 7 - frame[c]
    return frame


CASES = {
    "agree_listwise": (lambda: _reverse(_bfi()[[f"A{i}" for i in range(1, 6)]], ["A1"]),
                       "listwise"),
    "agree_pairwise": (lambda: _reverse(_bfi()[[f"A{i}" for i in range(1, 6)]], ["A1"]),
                       "pairwise"),
    "consc_listwise": (lambda: _reverse(_bfi()[[f"C{i}" for i in range(1, 6)]], ["C4", "C5"]),
                       "listwise"),
    "big25_listwise": (lambda: _reverse(_bfi().iloc[:, :25],
                                        ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]), "listwise"),
    "jse_listwise": (lambda: pd.read_csv(REF_DIR / "data" / "jse_sim.csv"), "listwise"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_closed_form_statistics_match_psych_alpha(case):
    make, missing = CASES[case]
    frame = make()
    if missing == "listwise":
        frame = frame.dropna()
    ref = REF[case]
    cov = covariance_matrix(frame.to_numpy(float), missing=missing)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    alpha = cronbach_alpha(cov)
    assert alpha == pytest.approx(ref["alpha"], abs=CLOSED_FORM_TOL)
    assert standardized_alpha(corr) == pytest.approx(ref["std_alpha"], abs=CLOSED_FORM_TOL)
    assert guttman_lambda6(corr) == pytest.approx(ref["lambda6"], abs=CLOSED_FORM_TOL)
    assert average_inter_item_r(corr) == pytest.approx(ref["average_r"], abs=CLOSED_FORM_TOL)
    np.testing.assert_allclose(corrected_item_total_r(cov), ref["r_drop"], atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(alpha_if_item_deleted(cov), ref["alpha_if_deleted"],
                               atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(frame.mean(), ref["mean"], atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(frame.std(), ref["sd"], atol=CLOSED_FORM_TOL)
    lo, hi = feldt_ci(alpha, len(frame), frame.shape[1])
    np.testing.assert_allclose([lo, hi], ref["feldt"], atol=CLOSED_FORM_TOL)


def _jse_frame():
    """The simulated JSE data as raw jse-s responses (reverse-keyed items un-reversed)."""
    return jse_sim_responses()


def test_omega_matches_psych_on_simulated_jse():
    sim = pd.read_csv(REF_DIR / "data" / "jse_sim.csv").to_numpy(float)
    corr = np.corrcoef(sim, rowvar=False)
    omega_h, omega_t = omega_coefficients(corr, 3)
    assert omega_h == pytest.approx(REF["omega_jse"]["omega_h"], abs=ITERATIVE_TOL)
    assert omega_t == pytest.approx(REF["omega_jse"]["omega_total"], abs=ITERATIVE_TOL)
    # one factor: psych prints (sum of loadings)^2/1'R1 as "omega_h"; here it is omega_u
    one = omega(corr[:10, :10], 1)
    assert one.omega_h is None
    assert one.omega_u == pytest.approx(REF["omega_jse_f1"]["omega_h"], abs=ITERATIVE_TOL)
    assert one.omega_total == pytest.approx(REF["omega_jse_f1"]["omega_total"], abs=ITERATIVE_TOL)
    two = omega(corr[18:, 18:], 1)
    assert two.omega_total == pytest.approx(REF["omega_jse_f3"]["omega_total"], abs=ITERATIVE_TOL)
    assert two.omega_u == two.omega_total and two.omega_h is None


def test_reliability_on_instrument_matches_psych():
    inst, raw = _jse_frame()
    res = reliability(raw, inst)
    total = res["total"]
    assert total.alpha == pytest.approx(REF["jse_listwise"]["alpha"], abs=CLOSED_FORM_TOL)
    np.testing.assert_allclose(total.alpha_ci, REF["jse_listwise"]["feldt"], atol=CLOSED_FORM_TOL)
    assert total.omega_h == pytest.approx(REF["omega_jse"]["omega_h"], abs=ITERATIVE_TOL)
    assert total.omega_total == pytest.approx(REF["omega_jse"]["omega_total"], abs=ITERATIVE_TOL)
    sub = res["perspective_taking"]
    assert sub.alpha == pytest.approx(REF["jse_f1_listwise"]["alpha"], abs=CLOSED_FORM_TOL)
    shoes = res["standing_in_patients_shoes"]
    assert shoes.omega_total == pytest.approx(REF["omega_jse_f3"]["omega_total"],
                                              abs=ITERATIVE_TOL)
    assert sub.omega_total == pytest.approx(REF["omega_jse_f1"]["omega_total"], abs=ITERATIVE_TOL)
    assert sub.omega_h is None
    assert sub.omega_u == pytest.approx(REF["omega_jse_f1"]["omega_h"], abs=ITERATIVE_TOL)
    assert total.omega_u is None
    d = res.to_dict()
    assert d["instrument"] == "jse-s"
    assert set(d["scales"]) == set(inst.scales)
    keys = {"n", "alpha", "std_alpha", "lambda6", "average_r", "alpha_ci", "ci_method",
            "omega_total", "omega_h", "omega_u", "items"}
    assert keys <= set(d["scales"]["total"])
    item = d["scales"]["total"]["items"]["JSE1"]
    assert set(item) == {"mean", "sd", "r_drop", "alpha_if_deleted"}
    assert res.to_frame().shape[0] == 4
    assert list(res.items("total").columns) == ["mean", "sd", "r_drop", "alpha_if_deleted"]
    assert res.items("total").shape[0] == 20
    assert d["scales"]["standing_in_patients_shoes"]["items"]["JSE3"]["alpha_if_deleted"] is None
    assert res["standing_in_patients_shoes"].notes
    assert "total" in res.summary() and "<table" in res._repr_html_()
    with pytest.raises(InputError):
        res.items("nope")


def test_ordinal_alpha_matches_psych():
    inst, raw = _jse_frame()
    res = reliability(raw, inst, correlation="polychoric", omega=False)
    assert res["total"].ordinal_alpha == pytest.approx(
        REF["polychoric_jse"]["ordinal_alpha"], abs=ITERATIVE_TOL
    )


def test_bootstrap_reproducible_and_close_to_feldt():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 10)) + rng.normal(size=(4000, 1))
    alpha = cronbach_alpha(np.cov(x, rowvar=False))
    feldt = feldt_ci(alpha, 4000, 10)
    for method in ("bootstrap", "bca"):
        (lo, hi), reps = bootstrap_alpha(x, n_boot=500, seed=7, method=method)
        (lo2, hi2), _ = bootstrap_alpha(x, n_boot=500, seed=7, method=method)
        assert (lo, hi) == (lo2, hi2)
        assert lo < alpha < hi
        assert abs(lo - feldt[0]) < 0.01 and abs(hi - feldt[1]) < 0.01


def test_bootstrap_via_reliability():
    inst, raw = _jse_frame()
    a = reliability(raw, inst, ci="bca", n_boot=200, seed=1, omega=False)
    b = reliability(raw, inst, ci="bca", n_boot=200, seed=1, omega=False)
    assert a["total"].alpha_ci == b["total"].alpha_ci
    assert a["total"].ci_method == "bca"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10), shift=st.floats(-5, 5))
def test_alpha_invariances(seed, scale, shift):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 5)) + rng.normal(size=(40, 1))
    alpha = cronbach_alpha(np.cov(x, rowvar=False))
    assert alpha <= 1.0
    perm = rng.permutation(5)
    assert cronbach_alpha(np.cov(x[:, perm], rowvar=False)) == pytest.approx(alpha, abs=1e-9)
    y = x * scale + shift
    assert cronbach_alpha(np.cov(y, rowvar=False)) == pytest.approx(alpha, abs=1e-9)
    z = (x - x.mean(0)) / x.std(0, ddof=1)
    std = standardized_alpha(np.corrcoef(x, rowvar=False))
    assert cronbach_alpha(np.cov(z, rowvar=False)) == pytest.approx(std, abs=1e-9)


def test_constant_item_raises():
    inst, raw = _jse_frame()
    raw["JSE2"] = 4
    with pytest.raises(DegenerateDataError, match="constant"):
        reliability(raw, inst, omega=False)


def test_fewer_respondents_than_items_warns():
    inst, raw = _jse_frame()
    with pytest.warns(DegenerateDataWarning):
        res = reliability(raw.iloc[:12], inst)
    assert np.isfinite(res["total"].alpha)


def test_collinear_items_warn():
    inst, raw = _jse_frame()
    raw["JSE4"] = raw["JSE2"]
    with pytest.warns(DegenerateDataWarning):
        res = reliability(raw, inst, omega=False)
    assert np.isfinite(res["perspective_taking"].lambda6)


def test_bad_options_raise():
    inst, raw = _jse_frame()
    with pytest.raises(InputError):
        reliability(raw, inst, ci="magic")
    with pytest.raises(InputError):
        reliability(raw, inst, missing="some")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError):
            reliability(raw, inst, missing="pairwise", ci="bootstrap")


BFI_AGREE_YAML = """\
id: bfi-agree
name: bfi agreeableness (test instrument)
citation: Revelle W. psych::bfi.
license: test only
notes: five agreeableness items of psych's bfi, A1 reverse keyed.
respondent: self
response_scale:
  min: 1
  max: 6
items:
- {id: A1, number: 1, reverse: true}
- {id: A2, number: 2}
- {id: A3, number: 3}
- {id: A4, number: 4}
- {id: A5, number: 5}
total: true
scoring:
  method: sum
  max_missing: 0
"""


@pytest.mark.parametrize("missing", ["listwise", "pairwise"])
def test_reliability_on_bfi_agreeableness_matches_psych(tmp_path, missing):
    path = tmp_path / "bfi-agree.yaml"
    path.write_text(BFI_AGREE_YAML)
    inst = load_instrument(str(path))
    ref = REF[f"agree_{missing}"]
    res = reliability(_bfi(), inst, missing=missing)
    total = res["total"]
    for name in ("alpha", "std_alpha", "lambda6", "average_r"):
        assert getattr(total, name) == pytest.approx(ref[name], abs=CLOSED_FORM_TOL), name
    np.testing.assert_allclose(total.alpha_ci, ref["feldt"], atol=CLOSED_FORM_TOL)
    items = res.items("total")
    np.testing.assert_allclose(items["r_drop"], ref["r_drop"], atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(items["alpha_if_deleted"], ref["alpha_if_deleted"],
                               atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(items["mean"], ref["mean"], atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(items["sd"], ref["sd"], atol=CLOSED_FORM_TOL)


def test_ordinal_alpha_on_bfi_agreeableness(tmp_path):
    path = tmp_path / "bfi-agree.yaml"
    path.write_text(BFI_AGREE_YAML)
    res = reliability(_bfi(), load_instrument(str(path)), correlation="polychoric", omega=False)
    assert res["total"].ordinal_alpha == pytest.approx(
        REF["polychoric_agree"]["ordinal_alpha"], abs=ITERATIVE_TOL
    )


# ---------------------------------------------------------------------------
# bootstrap against R (boot::boot.ci and psych::alpha(n.iter = 2000))
# ---------------------------------------------------------------------------

#: Monte Carlo comparisons: |our mean - R mean| <= MC_Z x combined standard error.
MC_Z = 4.0
#: Independent seeded runs of ours averaged in the comparison.
OUR_RUNS = 10


def _boot_data(name):
    if name == "boot_jse":
        return pd.read_csv(REF_DIR / "data" / "jse_sim.csv").to_numpy(float)
    agree = _reverse(_bfi()[[f"A{i}" for i in range(1, 6)]], ["A1"]).dropna()
    return agree.to_numpy(float)


@pytest.mark.parametrize("name", ["boot_jse", "boot_agree"])
@pytest.mark.parametrize("method,key", [("bootstrap", "perc"), ("bca", "bca")])
def test_bootstrap_ci_agrees_with_r_within_monte_carlo_error(name, method, key):
    """R's limits are random too: compare means over runs, with their standard errors.

    R: mean and sd of the limits over 20 boot::boot runs (R = 2000; BCa with jackknife
    influence values); ours: 10 seeded runs of 2000 resamples.
    """
    ref = REF[name]
    x = _boot_data(name)
    assert cronbach_alpha(np.cov(x, rowvar=False)) == pytest.approx(ref["alpha"],
                                                                   abs=CLOSED_FORM_TOL)
    ours = np.array([bootstrap_alpha(x, n_boot=ref["R"], seed=s, method=method)[0]
                     for s in range(OUR_RUNS)])
    r_mean, r_sd = np.array(ref[f"{key}_mean"]), np.array(ref[f"{key}_sd"])
    se = np.sqrt(r_sd ** 2 / ref["runs"] + ours.std(axis=0, ddof=1) ** 2 / OUR_RUNS)
    z = np.abs(ours.mean(axis=0) - r_mean) / se
    assert np.all(z <= MC_Z), f"{name} {method}: z = {np.round(z, 2)}"
    if method == "bootstrap":
        # one run of psych::alpha(n.iter = 2000): its boot.ci limits have sd ~ r_sd
        se_psych = np.sqrt(r_sd ** 2 + ours.std(axis=0, ddof=1) ** 2 / OUR_RUNS)
        z = np.abs(ours.mean(axis=0) - np.array(ref["psych_boot_ci"])) / se_psych
        assert np.all(z <= MC_Z), f"{name} vs psych::alpha: z = {np.round(z, 2)}"


def test_bootstrap_replicates_equal_alpha_of_explicit_resamples():
    """The matrix-product replicates are exactly alpha of the resampled data sets."""
    from empathy_metrics._bootstrap import BLOCK_MAX, resample_counts

    rng = np.random.default_rng(5)
    x = np.round(rng.normal(size=(60, 6)) + rng.normal(size=(60, 1)) + 4)
    (_, _), reps = bootstrap_alpha(x, n_boot=BLOCK_MAX + 30, seed=11)
    gen = np.random.default_rng(11)
    counts = np.vstack([resample_counts(gen, 60, BLOCK_MAX), resample_counts(gen, 60, 30)])
    assert counts.shape == (BLOCK_MAX + 30, 60)
    np.testing.assert_array_equal(counts.sum(axis=1), 60)
    explicit = [cronbach_alpha(np.cov(np.repeat(x, c.astype(int), axis=0), rowvar=False))
                for c in counts]
    np.testing.assert_allclose(reps, explicit, atol=1e-12)


def test_bootstrap_results_do_not_depend_on_the_memory_budget(monkeypatch):
    """Issue 10.2: blocks are sized by a memory budget; the seeded results stay the same."""
    import importlib

    import empathy_metrics._bootstrap as boot

    rng = np.random.default_rng(8)
    x = np.round(rng.normal(size=(500, 5)) + rng.normal(size=(500, 1)) + 4)
    ref = bootstrap_alpha(x, n_boot=230, seed=4, method="bca")
    sizes = []
    original = boot.resample_counts

    def spy(gen, n, b):
        sizes.append(b)
        return original(gen, n, b)

    monkeypatch.setattr(boot, "MEMORY_BUDGET", 24 * 500 * 7)  # 7 resamples per block
    module = importlib.import_module("empathy_metrics.alpha_bootstrap")
    monkeypatch.setattr(module, "resample_counts", spy)
    small = bootstrap_alpha(x, n_boot=230, seed=4, method="bca")
    assert max(sizes) == 7 and sum(sizes) == 230
    # the same resamples; only the matrix product's rounding may differ (BLAS blocking)
    assert small[0] == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(small[1], ref[1], rtol=1e-12)
    assert list(boot.block_sizes(10**6, 2000, budget=128 * 2**20))[0] == 5


def test_bootstrap_design_in_row_chunks_is_exact(monkeypatch):
    """The design and the BCa jackknife are built in chunks of rows (bounded memory); the
    per-row arithmetic is the same, so chunks of 7 rows give bit-identical CIs and replicates."""
    import empathy_metrics.alpha_bootstrap as ab

    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=(500, 6)) + rng.normal(size=(500, 1)) + 4) + 0.25
    scales = [[0, 1, 2], [3, 4, 5], list(range(6))]
    ref = ab._bootstrap_alphas(x, scales, n_boot=40, seed=2, method="bca")
    monkeypatch.setattr(ab, "_CHUNK_ROWS", 7)  # 72 chunks, the last one partial
    chunked = ab._bootstrap_alphas(x, scales, n_boot=40, seed=2, method="bca")
    for (ci, reps), (ci_ref, reps_ref) in zip(chunked, ref, strict=True):
        assert ci == ci_ref
        np.testing.assert_array_equal(reps, reps_ref)


def test_scales_share_one_set_of_resamples():
    """Issue 10.2: one draw of resample counts per block for all scales, with the CIs each
    scale gets alone with the same seed."""
    inst, raw = _jse_frame()
    res = reliability(raw, inst, ci="bootstrap", n_boot=150, seed=3, omega=False)
    keyed = keyed_items(raw, inst)
    for scale in ("perspective_taking", "total"):
        alone, _ = bootstrap_alpha(keyed[list(inst.scales[scale])].dropna().to_numpy(float),
                                   n_boot=150, seed=3)
        assert res[scale].alpha_ci == pytest.approx(alone, rel=1e-12)


def test_bootstrap_rejects_bad_arguments():
    x = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(InputError, match="n_boot"):
        bootstrap_alpha(x, n_boot=5)
    with pytest.raises(InputError, match="method"):
        bootstrap_alpha(x, n_boot=100, method="studentized")


def test_bootstrap_progress_bar_only_on_a_terminal(monkeypatch):
    """Long bootstraps draw a bar on a terminal (stderr is a TTY) and nothing otherwise."""
    import io
    import sys

    class FakeTerminal(io.StringIO):
        def isatty(self):
            return True

    x = np.random.default_rng(0).normal(size=(30_000, 3))
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    bootstrap_alpha(x, n_boot=2000, seed=1)
    assert quiet.getvalue() == ""
    tty = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", tty)
    bootstrap_alpha(x, n_boot=2000, seed=1)
    assert "Bootstrapping alpha" in tty.getvalue()


# ---------------------------------------------------------------------------
# degenerate data: a clear warning or error, never a silent NaN
# ---------------------------------------------------------------------------


def _jse_like(n, seed):
    """Raw jse-s answers (1..7) with one common factor, reverse-worded items reversed."""
    inst = load_instrument("jse-s")
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 1))
    keyed = np.clip(np.round(4 + 1.5 * f + 0.6 * rng.standard_normal((n, 20))), 1, 7)
    frame = pd.DataFrame(keyed.astype(int), columns=inst.item_ids)
    for item in inst.reverse_items:
        frame[item] = 8 - frame[item]
    return inst, frame


def _no_silent_nan(res):
    """Every NaN in the output is one the result explains in a note (2-item alpha-if-deleted)."""
    for name, s in res.scales.items():
        values = [s.alpha, s.std_alpha, s.lambda6, s.average_r, *s.alpha_ci]
        values += [v for v in (s.omega_total, s.omega_h, s.ordinal_alpha) if v is not None]
        assert np.all(np.isfinite(values)), name
        stats_ = s.item_statistics
        assert np.all(np.isfinite(stats_[["mean", "sd", "r_drop"]].to_numpy())), name
        if stats_["alpha_if_deleted"].isna().any():
            assert len(stats_) == 2 and any("2-item" in n for n in s.notes), name


def _degenerate_warnings(*args, **kwargs):
    """Run :func:`reliability`, returning the result and its DegenerateDataWarning texts."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = reliability(*args, **kwargs)
    return res, [str(w.message) for w in caught if w.category is DegenerateDataWarning]


def test_non_positive_definite_polychoric_warns_naming_the_scale():
    inst, frame = _jse_like(40, seed=1)
    res, messages = _degenerate_warnings(frame, inst, correlation="polychoric")
    assert any(m.startswith("scale 'total': ") and "not positive definite" in m
               for m in messages)
    assert any("smoothed" in note for note in res["total"].notes)
    _no_silent_nan(res)


def test_collinear_items_with_omega_give_finite_values_and_warn():
    inst, raw = _jse_frame()
    raw["JSE4"] = raw["JSE2"]
    res, messages = _degenerate_warnings(raw, inst)
    assert "scale 'perspective_taking': perfectly collinear items" in messages
    assert "perfectly collinear items" in res["perspective_taking"].notes
    _no_silent_nan(res)


def test_fewer_respondents_than_items_with_polychoric_warns():
    inst, raw = _jse_frame()
    res, messages = _degenerate_warnings(raw.iloc[:12], inst, correlation="polychoric")
    assert any(m.startswith("scale 'total': 12 respondents for 20 items") for m in messages)
    _no_silent_nan(res)


def test_constant_item_among_pairwise_answers_raises():
    inst, raw = _jse_frame()
    raw["JSE2"] = np.where(np.arange(len(raw)) < 50, 4.0, np.nan)
    with pytest.raises(DegenerateDataError, match="JSE2"):
        reliability(raw, inst, missing="pairwise", omega=False)


def test_too_few_respondents_raises():
    inst, raw = _jse_frame()
    with pytest.raises(DegenerateDataError, match="fewer than 2 respondents"):
        reliability(raw.iloc[:1], inst, omega=False)
