"""WLSMV ordinal sample statistics against lavaan 0.6-14 (tests/reference/ordinal_stats.R).

lavaan's thresholds, polychoric correlations, NACOV (``lavInspect(fit, "gamma")``) and DWLS
weights (``diag(lavInspect(fit, "wls.v"))``) for ``cfa(..., ordered = TRUE,
estimator = "WLSMV")`` on bfi (A1-A5, C1-C5; one group and by gender), ability (16 binary
items; all rows and a 120-row sample with an empty 2 x 2 cell) and HolzingerSwineford1939 cut
into 3-4 categories (one group and by school); with ``missing = "pairwise"``: bfi (one group
and by gender) and ability.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtri

from empathy_metrics._sem.ordinal_stats import lavaan_pairs, ordinal_sample_stats
from empathy_metrics.correlation import polychoric_two_step
from empathy_metrics.errors import DataError, DegenerateDataError, InputError

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "ordinal_stats.json").read_text())
#: Thresholds are closed form (qnorm of cumulative proportions) in both programs; the JSON
#: keeps 10 significant digits (observed differences <= 5e-10).
THRESHOLD_TOL = 1e-8
#: Correlations: lavaan's nlminb stops at its own tolerance (observed differences ~4e-8).
CORR_TOL = 1e-6
#: Gamma and the DWLS weights: relative 1e-5 (entries near zero: 1e-6 of the largest entry).
GAMMA_RTOL = 1e-5
GAMMA_ATOL_FRACTION = 1e-6


def _data(key: str) -> pd.DataFrame:
    name = {"bfi": "bfi.csv", "ability": "ability.csv", "hs": "hs_ordinal.csv"}[key.split("_")[0]]
    frame = pd.read_csv(REF_DIR / "data" / name)
    return frame.iloc[:120] if key == "ability_small" else frame


def _symmetric(upper: list[float], k: int) -> np.ndarray:
    out = np.zeros((k, k))
    iu = np.triu_indices(k)
    out[iu] = upper
    out.T[iu] = upper
    return out


CASES = [k for k in REF if k != "versions"]


@pytest.mark.parametrize("key", CASES)
def test_matches_lavaan(key):
    ref = REF[key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ability_small: not positive definite (lavaan: silent)
        stats = ordinal_sample_stats(_data(key), ref["items"], group=ref.get("group") or None,
                                     missing=ref["missing"])
    labels = ref["labels"] or [None]
    assert len(stats) == len(labels)
    by_label = {str(g.label): g for g in stats.groups}
    for label, rg in zip(labels, ref["groups"], strict=True):
        g = by_label[str(label)]
        assert g.n == rg["n"]
        assert g.names == rg["names"]
        np.testing.assert_allclose(np.concatenate(g.thresholds), rg["th"], atol=THRESHOLD_TOL)
        np.testing.assert_allclose(g.corr, rg["corr"], atol=CORR_TOL)
        np.testing.assert_allclose(g.stats_vector, rg["wls_obs"], atol=CORR_TOL)
        gamma = _symmetric(rg["gamma_upper"], len(rg["names"]))
        np.testing.assert_allclose(g.gamma, gamma, rtol=GAMMA_RTOL,
                                   atol=GAMMA_ATOL_FRACTION * np.abs(gamma).max())
        np.testing.assert_allclose(g.wls_weights, rg["wls_v"], rtol=GAMMA_RTOL)
    assert stats.n_total == sum(rg["n"] for rg in ref["groups"])


def test_single_empty_cell_of_a_two_by_two_table_follows_lavaan():
    """ability_small has one 2 x 2 table with an empty cell: lavaan adds 0.5 to it (margins
    kept); plain ML on the raw table gives a different correlation."""
    ref = REF["ability_small"]
    assert ref["zero_cell_pairs"] == 1
    frame = _data("ability_small")[ref["items"]].dropna()
    codes = frame.to_numpy(dtype=int)
    pairs = lavaan_pairs(codes.shape[1])
    tables = np.zeros((len(pairs), 2, 2))
    for k, (i, j) in enumerate(pairs):
        np.add.at(tables[k], (codes[:, i], codes[:, j]), 1)
    k = int(np.flatnonzero((tables == 0).any(axis=(1, 2)))[0])
    tau = ndtri(1 - codes.mean(axis=0))[:, None]  # one threshold per binary item
    i, j = pairs[k]
    raw = polychoric_two_step(tables[k:k + 1], tau[[i]], tau[[j]])
    lav = polychoric_two_step(tables[k:k + 1], tau[[i]], tau[[j]], binary=np.array([True]))
    expected = ref["groups"][0]["wls_obs"][len(ref["items"]) + k]
    assert lav[0] == pytest.approx(expected, abs=CORR_TOL)
    assert abs(raw[0] - expected) > 100 * CORR_TOL


def test_order_of_statistics_is_lavaans():
    assert lavaan_pairs(4).tolist() == [[1, 0], [2, 0], [3, 0], [2, 1], [3, 1], [3, 2]]


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------


def _simulated(seed: int, n: int = 400, p: int = 4, k: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 1))
    latent = f @ rng.uniform(0.4, 0.9, (1, p)) + 0.6 * rng.standard_normal((n, p))
    # cuts 2/(k-2) apart, shifted per item: every category has probability > 0.1
    cuts = np.linspace(-1, 1, k - 1)[None, :] + rng.uniform(-0.3, 0.3, (p, 1))
    codes = np.stack([np.searchsorted(cuts[j], latent[:, j]) + 1 for j in range(p)], axis=1)
    return pd.DataFrame(codes, columns=[f"i{j}" for j in range(p)])


@settings(max_examples=6, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1), st.permutations(range(4)))
def test_permuting_items_permutes_the_statistics(seed, order):
    """Statistics and Gamma do not depend on the order of the items (only their positions)."""
    frame = _simulated(seed)
    items = list(frame.columns)
    a = ordinal_sample_stats(frame, items)[0]
    b = ordinal_sample_stats(frame, [items[o] for o in order])[0]
    pos = {name: idx for idx, name in enumerate(a.names)}

    def key(name: str) -> str:
        if "~~" in name:
            x, y = name.split("~~")
            return f"{x}~~{y}" if f"{x}~~{y}" in pos else f"{y}~~{x}"
        return name

    perm = [pos[key(nm)] for nm in b.names]
    np.testing.assert_allclose(b.stats_vector, a.stats_vector[perm], atol=1e-9)
    np.testing.assert_allclose(b.gamma, a.gamma[np.ix_(perm, perm)], rtol=1e-7, atol=1e-9)


@settings(max_examples=6, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_monotone_recoding_changes_nothing(seed):
    """Only the order of the category codes matters (1-4 or 10, 20, 35, 90)."""
    frame = _simulated(seed)
    recoded = frame.replace({1: 10, 2: 20, 3: 35, 4: 90})
    a = ordinal_sample_stats(frame, list(frame.columns))[0]
    b = ordinal_sample_stats(recoded, list(frame.columns))[0]
    np.testing.assert_array_equal(a.stats_vector, b.stats_vector)
    assert [lv.tolist() for lv in b.levels] == [[10, 20, 35, 90]] * 4


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_item_with_one_category_is_a_clear_error():
    frame = _simulated(1)
    frame["i2"] = 3
    with pytest.raises(DegenerateDataError, match="'i2' has 1 observed category") as err:
        ordinal_sample_stats(frame, list(frame.columns))
    assert err.value.column == "i2"


def test_category_nobody_chose_in_a_group_names_item_group_and_value():
    frame = _simulated(2)
    frame["g"] = np.arange(len(frame)) % 2
    frame.loc[(frame["g"] == 1) & (frame["i1"] == 4), "i1"] = 3
    with pytest.raises(DataError, match=r"nobody in group '1' answered 4 on item 'i1'") as err:
        ordinal_sample_stats(frame, ["i0", "i1", "i2", "i3"], group="g")
    assert err.value.column == "i1"
    assert "collapse" in err.value.hint


def test_category_only_in_rows_dropped_listwise_is_an_error_as_in_lavaan():
    frame = _simulated(3).astype(float)
    frame.loc[frame["i0"] == 4, "i0"] = 3
    frame.loc[0, ["i0", "i1"]] = [4, np.nan]
    with pytest.raises(DataError, match="nobody answered 4 on item 'i0'"):
        ordinal_sample_stats(frame, list(frame.columns))


def test_non_integer_code_names_file_row_and_column():
    frame = _simulated(4).astype(float)
    frame.loc[5, "i3"] = 2.5
    frame.attrs["source"] = "survey.csv"
    with pytest.raises(DataError, match="value 2.5 of item 'i3'") as err:
        ordinal_sample_stats(frame, list(frame.columns))
    assert (err.value.file, err.value.row, err.value.column) == ("survey.csv", 7, "i3")


def test_perfectly_related_binary_items_are_a_clear_error():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 2, 200)
    frame = pd.DataFrame({"a": x, "b": x, "c": rng.integers(0, 2, 200)})
    with pytest.raises(DegenerateDataError, match="perfectly related"):
        ordinal_sample_stats(frame, ["a", "b", "c"])


def test_pairwise_uses_every_row_with_an_answer():
    bfi = _data("bfi")
    items = REF["bfi_ac"]["items"]
    answered = int(bfi[items].notna().any(axis=1).sum())
    listwise = ordinal_sample_stats(bfi, items)
    pairwise = ordinal_sample_stats(bfi, items, missing="pairwise")
    assert (listwise.n_total, pairwise.n_total) == (REF["bfi_ac"]["groups"][0]["n"], answered)
    assert pairwise.n_dropped == len(bfi) - answered
    assert pairwise.missing == "pairwise"


def test_pair_never_answered_together_is_a_clear_error_under_pairwise():
    frame = _simulated(7).astype(float)
    frame.loc[:199, "i0"] = np.nan
    frame.loc[200:, "i1"] = np.nan
    with pytest.raises(DataError, match="never answered together"):
        ordinal_sample_stats(frame, list(frame.columns), missing="pairwise")
    with pytest.raises(InputError, match="'listwise' or 'pairwise'"):
        ordinal_sample_stats(frame, list(frame.columns), missing="fiml")


def test_missing_columns_and_single_group_are_input_errors():
    frame = _simulated(6)
    with pytest.raises(InputError, match="'zz' is not a column"):
        ordinal_sample_stats(frame, ["i0", "zz"])
    with pytest.raises(InputError, match="group column 'g' not found"):
        ordinal_sample_stats(frame, ["i0", "i1"], group="g")
    frame["g"] = 1
    with pytest.raises(DataError, match="at least two"):
        ordinal_sample_stats(frame, ["i0", "i1"], group="g")


def test_score_crossproduct_by_row_blocks_is_the_same(monkeypatch):
    """Large samples accumulate the NACOV's score cross-product in row blocks."""
    from empathy_metrics._sem import ordinal_nacov

    frame = _simulated(8, n=500)
    whole = ordinal_sample_stats(frame, list(frame.columns))[0].gamma
    monkeypatch.setattr(ordinal_nacov, "_CHUNK", 97)
    blocks = ordinal_sample_stats(frame, list(frame.columns))[0].gamma
    np.testing.assert_allclose(blocks, whole, rtol=1e-12, atol=1e-12)
