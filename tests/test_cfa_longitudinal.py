"""Longitudinal invariance (repeated ids across occasions) against lavaan 0.6-14 on a
simulated, committed data set (tests/reference/cfa_longitudinal.R/json,
data/longitudinal_sim.csv: 500 students, 3 years, attrition, x3 drifting in year 3)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from empathy_metrics.cfa import invariance
from empathy_metrics.errors import DataError, InputError

from .test_cfa import ITERATIVE_TOL, REF_DIR, assert_fit_matches, assert_parameters_match

REF = json.loads((REF_DIR / "cfa_longitudinal.json").read_text())
MODEL = "E =~ x1 + x2 + x3\nC =~ x4 + x5 + x6"


@pytest.fixture(scope="module")
def long():
    return pd.read_csv(REF_DIR / "data" / "longitudinal_sim.csv")


def _assert_matches(res, ref):
    for level in ("configural", "metric", "scalar"):
        assert_fit_matches(res.models[level].fit, ref["fits"][level])
        assert_parameters_match(res.models[level].parameters, ref["params"][level])
    np.testing.assert_allclose(res.comparisons["chisq_diff"], ref["lrt"]["chisq_diff"],
                               atol=ITERATIVE_TOL)
    assert list(res.comparisons["df_diff"]) == ref["lrt"]["df_diff"]


def test_longitudinal_listwise_matches_lavaan(long):
    res = invariance(long, None, "year", model=MODEL, id="student")
    assert res.design == "longitudinal" and res.groups == [1, 2, 3]
    assert res.n_ids == REF["listwise"]["fits"]["configural"]["n"] == 246
    _assert_matches(res, REF["listwise"])
    assert res.models["metric"].npar == REF["listwise"]["fits"]["metric"]["npar"]
    # each item's residuals correlated across the three occasions
    par = res.models["configural"].parameters
    assert ((par["lhs"] == "x1_1") & (par["op"] == "~~") & (par["rhs"] == "x1_3")).any()


def test_longitudinal_fiml_uses_every_student(long):
    res = invariance(long, None, "year", model=MODEL, id="student", missing="fiml")
    assert res.n_ids == 500 and res.group_sizes == {1: 500, 2: 440, 3: 399}
    _assert_matches(res, REF["fiml"])
    assert not res.sound and bool(res.comparisons["holds"].iloc[0])
    assert "one longitudinal model of the 500 respondents followed across 'year'" in res.verdict
    assert "differ between occasions" in res.verdict
    out = res.to_dict()
    assert out["design"] == "longitudinal" and out["missing"] == "fiml"
    assert "Longitudinal: 500 respondents followed across 'year'" in res.summary()


def test_ids_that_do_not_repeat_give_the_multigroup_design(long):
    once = long.drop_duplicates("student")
    res = invariance(once, None, "year", model=MODEL, id="student")
    assert res.design == "multigroup"
    assert "No id in 'student' occurs at more than one 'year'" in res.verdict


def test_duplicate_occasion_and_missing_id_column_are_clear_errors(long):
    twice = pd.concat([long, long[long["year"] == 2].head(1)], ignore_index=True)
    with pytest.raises(InputError, match=r"has more than one row at year = 2 \(rows"):
        invariance(twice, None, "year", model=MODEL, id="student")
    with pytest.raises(InputError, match="column 'pupil' not found"):
        invariance(long, None, "year", model=MODEL, id="pupil")


def test_too_many_wide_variables_is_a_clear_error(long):
    """7 occasions x 6 items = 42 wide variables: refused with advice, not left running."""
    many = pd.concat([long.assign(year=long["year"] + 3 * k) for k in range(3)],
                     ignore_index=True)
    many = many[many["year"] <= 7]
    with pytest.raises(DataError, match=r"42 variables \(6 items x 7 occasions of 'year'\)"):
        invariance(many, None, "year", model=MODEL, id="student")
