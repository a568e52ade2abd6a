"""Modification indices, score tests and the stepwise partial-invariance search against
lavaan 0.6-14 (tests/reference/cfa_modindices.json, cfa_modindices.R)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from empathy_metrics._sem.modindices import release_tests, score_tests
from empathy_metrics.cfa import cfa, invariance, modindices
from empathy_metrics.errors import InputError

from .test_cfa import ITERATIVE_TOL, REF_DIR, assert_fit_matches, assert_parameters_match

REF = json.loads((REF_DIR / "cfa_modindices.json").read_text())


@pytest.fixture(scope="module")
def data():
    return {name: pd.read_csv(REF_DIR / "data" / f"{file}.csv") for name, file in
            [("hs", "HolzingerSwineford1939"), ("bfi", "bfi"), ("pd", "PoliticalDemocracy")]}


@pytest.mark.parametrize(("case", "frame", "kwargs"),
                         [("mi_hs", "hs", {}), ("mi_pd", "pd", {}),
                          ("mi_hs_metric", "hs", {"group": "school",
                                                  "group_equal": ["loadings"]})])
def test_modindices_match_lavaan(data, case, frame, kwargs):
    """Every row of lavaan's modindices(): mi, epc, sepc.all (cross-loadings, residual
    covariances; in the multi-group model per group)."""
    ref = pd.DataFrame({k: REF[case][k] for k in ("lhs", "op", "rhs", "group", "mi", "epc",
                                                   "sepc_all")})
    ref["rhs"] = ref["rhs"].fillna("")
    got = modindices(cfa(data[frame], model=REF[case]["model"], **kwargs), sort=False)
    got["group"] = got["group"].astype(str) if "group" in got else ""
    merged = ref.merge(got, on=["group", "lhs", "op", "rhs"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    for col in ("mi", "epc", "sepc_all"):
        np.testing.assert_allclose(merged[f"{col}_y"], merged[f"{col}_x"], atol=ITERATIVE_TOL)


def test_modindices_sorted_and_filtered(data):
    res = cfa(data["hs"], model=REF["mi_hs"]["model"])
    table = modindices(res, minimum=10)
    assert table["mi"].is_monotonic_decreasing and (table["mi"] >= 10).all()
    top = table.iloc[0]
    assert (top["lhs"], top["op"], top["rhs"]) == ("visual", "=~", "x9")  # lavaan's classic


@pytest.mark.parametrize(("case", "kind", "equal"),
                         [("score_hs_scalar", "nu", ["loadings", "intercepts"]),
                          ("score_hs_metric", "lambda", ["loadings"])])
def test_release_score_tests_match_lavtestscore(data, case, kind, equal):
    ref = REF[case]
    res = cfa(data["hs"], model=ref["model"], group="school", group_equal=equal)
    est = res._estimate
    cands = release_tests(est, kind)
    spec = est.structure.spec
    names = [f"{spec.observed[c.row]}~1" if kind == "nu"
             else f"{spec.factors[c.col]}=~{spec.observed[c.row]}" for c in cands]
    got = dict(zip(names, [x2 for x2, _ in score_tests(est, cands)], strict=True))
    assert sorted(got) == sorted(ref["name"])
    for name, x2 in zip(ref["name"], ref["X2"], strict=True):
        assert got[name] == pytest.approx(x2, abs=ITERATIVE_TOL), name


def _assert_search(search, ref):
    freed = ref["partial"]
    assert search.freed == ([freed] if isinstance(freed, str) else freed)
    assert search.stop == ref["stop"]
    assert len(search.steps) == len(ref["steps"])
    for row, step in zip(search.steps.itertuples(), ref["steps"], strict=True):
        assert row.freed == step["freed"]
        assert row.X2 == pytest.approx(step["X2"], abs=ITERATIVE_TOL)
        assert row.delta_cfi == pytest.approx(step["delta_cfi"], abs=ITERATIVE_TOL)
    assert search.comparison["delta_cfi"] == pytest.approx(ref["final_delta_cfi"],
                                                           abs=ITERATIVE_TOL)
    assert_fit_matches(search.model.fit, ref["final"])
    assert_parameters_match(search.model.parameters, ref["params"])


def test_partial_scalar_invariance_by_school(data):
    """HolzingerSwineford by school: scalar invariance fails; freeing the intercepts of x3 and
    then x7 (largest score tests) meets ΔCFI >= -.01 against the metric model."""
    ref = REF["partial_hs_scalar"]
    res = invariance(data["hs"], None, "school", model=ref["model"])
    assert list(res.partial) == ["scalar"]
    _assert_search(res.partial["scalar"], ref)
    assert res.non_invariant_items == ["x3", "x7"]
    assert "x3, x7 are not comparable across 'school'" in res.verdict
    out = res.to_dict()
    assert out["partial"]["scalar"]["freed"] == ["x3~1", "x7~1"]
    assert out["design"] == "multigroup"
    assert "Partial scalar invariance search (stopped: criterion met)" in res.summary()


def test_partial_metric_then_scalar_by_gender(data):
    """bfi A/C by gender with strict cut-offs, so that both searches run: loadings first
    (against the configural model), then intercepts against the partial metric model."""
    ref_m, ref_s = REF["partial_bfi_metric"], REF["partial_bfi_scalar"]
    res = invariance(data["bfi"], None, "gender", model=ref_m["model"], cfi_cutoff=0.0003)
    _assert_search(res.partial["metric"], ref_m)
    res = invariance(data["bfi"], None, "gender", model=ref_s["model"], cfi_cutoff=0.002)
    assert list(res.partial) == ["scalar"]
    _assert_search(res.partial["scalar"], ref_s)


def test_no_search_when_invariance_holds_or_when_asked_not_to(data):
    res = invariance(data["hs"], None, "school", model=REF["partial_hs_scalar"]["model"],
                     partial=False)
    assert res.partial == {} and "find the non-invariant items" in res.verdict
    res = invariance(data["hs"], None, "school", model=REF["partial_hs_scalar"]["model"],
                     cfi_cutoff=0.05)
    assert res.partial == {} and res.sound


def test_modindices_need_complete_data(data):
    res = cfa(data["bfi"], model=REF["partial_bfi_metric"]["model"], missing="fiml")
    with pytest.raises(InputError, match="need complete data"):
        modindices(res)
