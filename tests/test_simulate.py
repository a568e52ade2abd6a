"""simulate(): structure, reproducibility and that the built-in truths are recoverable.

The statistical checks use large simulated samples so their tolerances (stated beside each)
are several standard errors wide, with the seeds fixed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import empathy_metrics
from empathy_metrics.cohorts import trend
from empathy_metrics.efa import efa
from empathy_metrics.errors import InputError
from empathy_metrics.io import read_responses
from empathy_metrics.outputs import MANIFEST_NAME
from empathy_metrics.reliability import reliability
from empathy_metrics.simulate import DEMO_FILENAME, simulate, write_demo

ITEMS = [f"JSE{i}" for i in range(1, 21)]
REVERSE = [f"JSE{i}" for i in (1, 3, 6, 7, 8, 11, 12, 14, 18, 19)]
SUBSCALES = {
    "perspective_taking": [f"JSE{i}" for i in (2, 4, 5, 9, 10, 13, 15, 16, 17, 20)],
    "compassionate_care": [f"JSE{i}" for i in (1, 7, 8, 11, 12, 14, 18, 19)],
    "standing_in_patients_shoes": ["JSE3", "JSE6"],
}


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return simulate()


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    """Large sample without cohort effects, for the effect-size checks."""
    return simulate(n_per_cohort=1500, cohort_sd=0.0, seed=11)


def _year_totals(frame: pd.DataFrame) -> pd.DataFrame:
    scores = empathy_metrics.score(frame, "jse-s", id_col="student_id").scores
    return scores.assign(year=frame["year"].to_numpy(), gender=frame["gender"].to_numpy(),
                         cohort=frame["cohort"].to_numpy())


# ----------------------------------------------------------------------------- structure
def test_same_seed_same_frame_and_different_seed_differs():
    a = simulate(n_per_cohort=60, seed=7)
    b = simulate(n_per_cohort=60, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = simulate(n_per_cohort=60, seed=8)
    assert not a[ITEMS].equals(c[ITEMS])
    gen = simulate(n_per_cohort=60, seed=np.random.default_rng(7))
    pd.testing.assert_frame_equal(a, gen)


def test_columns_types_and_codes(demo):
    assert list(demo.columns) == ["student_id", "cohort", "year", "gender", *ITEMS]
    assert demo["cohort"].dtype == np.int64 and demo["year"].dtype == np.int64
    codes = demo[ITEMS].to_numpy()
    seen = set(np.unique(codes[~np.isnan(codes)]).tolist())
    assert set(range(1, 8)) <= seen <= set(range(0, 9))
    assert set(demo["gender"].dropna()) == {"female", "male"}
    assert 0 < demo["gender"].isna().sum() < 0.05 * len(demo)
    assert demo.index.equals(pd.RangeIndex(len(demo)))
    assert not demo.duplicated(["student_id", "year"]).any()


def test_cohorts_observed_only_for_years_that_happened(demo):
    # default: 4 cohorts entering 2022..2025, current year 2025
    last_year = demo.groupby("cohort")["year"].max().to_dict()
    assert last_year == {2022: 4, 2023: 3, 2024: 2, 2025: 1}
    assert ((demo["cohort"] + demo["year"] - 1) <= 2025).all()
    small = simulate(n_per_cohort=20, n_cohorts=2, n_years=3, current_year=2030, seed=1)
    assert sorted(small["cohort"].unique().tolist()) == [2029, 2030]
    assert small.groupby("cohort")["year"].max().to_dict() == {2029: 2, 2030: 1}
    panel = simulate(n_per_cohort=20, n_cohorts=2, first_cohort=2018, seed=1)
    assert panel.groupby("cohort")["year"].max().to_dict() == {2018: 4, 2019: 4}
    # the export is ordered by survey (calendar) year
    survey_year = (demo["cohort"] + demo["year"]).to_numpy()
    assert (np.diff(survey_year) >= 0).all()


def test_ids_repeat_within_a_cohort_only(demo):
    per_id = demo.groupby("student_id").agg(cohorts=("cohort", "nunique"), n=("year", "size"))
    assert (per_id["cohorts"] == 1).all()
    assert per_id["n"].max() == 4
    assert demo["student_id"].str.fullmatch(r"S202[2-5]-\d{3}").all()
    assert demo["student_id"].str[1:5].astype(int).equals(demo["cohort"].astype(int))


def test_reverse_items_are_stored_as_answered(big):
    # raw reverse-keyed items sit at the bottom of the scale, the others at the top
    items = big[ITEMS]
    means = items.where((items >= 1) & (items <= 7)).mean()
    assert (means[REVERSE] < 3).all()
    assert (means.drop(REVERSE) > 5).all()
    r = big[["JSE1", "JSE7"]].corr().iloc[0, 1]  # both reverse-keyed: positive
    assert r > 0.1
    assert big[["JSE1", "JSE2"]].corr().iloc[0, 1] < -0.05  # reverse vs positive: negative


def test_attrition_and_nonresponse(demo):
    counts = demo.groupby(["cohort", "year"]).size().unstack()
    full = counts.loc[2022].to_numpy()
    assert (np.diff(full) < 0).all()  # fewer responses every year
    assert full[0] < 200  # nonresponse already in year 1
    complete = simulate(n_per_cohort=50, attrition=0.0, response_rate=1.0, seed=3)
    assert len(complete) == 50 * (4 + 3 + 2 + 1)
    leavers = simulate(n_per_cohort=50, attrition=0.5, response_rate=1.0, seed=3)
    per_year = leavers[leavers.cohort == 2022].groupby("year").size()
    assert per_year[1] == 50 and per_year[4] < 15  # expected 50 * 0.5**3 = 6.25


def test_response_rate_sequence_is_extended():
    frame = simulate(n_per_cohort=400, n_cohorts=1, n_years=3, first_cohort=2020,
                     response_rate=[1.0, 0.5], attrition=0.0, seed=2)
    n = frame.groupby("year").size()
    assert n[1] == 400
    # binomial(400, .5): 200 +/- 10; tolerance 5 SE
    assert abs(n[2] - 200) < 50 and abs(n[3] - 200) < 50


# ----------------------------------------------------------------------------- realism
def test_totals_in_a_realistic_range(demo):
    s = _year_totals(demo)
    total = s["total"].dropna()
    # published JSE-S: mean about 110-120, SD about 10-12 (Hojat et al. 2018: 116.5, 10.9)
    assert 110 <= total.mean() <= 120
    assert 10 <= total.std() <= 13
    assert total.between(20, 140).all()
    first = s[s.year == 1]["total"]
    assert 112 <= first.mean() <= 120


def test_decline_in_year_three(big):
    res = trend(big, "jse-s", time="year", mixed=False)
    t = res.by_time[res.by_time.scale == "total"].set_index("time")
    sd = np.sqrt((t.loc[2, "sd"] ** 2 + t.loc[3, "sd"] ** 2) / 2)
    d32 = (t.loc[3, "mean"] - t.loc[2, "mean"]) / sd
    d21 = (t.loc[2, "mean"] - t.loc[1, "mean"]) / sd
    # chosen: -0.4 SD from year 3 on. SE of each d here is below 0.04; tolerance 0.1
    assert d32 == pytest.approx(-0.4, abs=0.1)
    assert d21 == pytest.approx(0.0, abs=0.1)
    assert t.loc[4, "d_vs_ref"] == pytest.approx(-0.4, abs=0.1)
    # in scale points, about 4.4 (Colliver et al.: report points too)
    assert -6.0 < t.loc[3, "mean"] - t.loc[2, "mean"] < -3.0


@pytest.mark.parametrize(("decline", "expected"), [
    ("none", [0.0, 0.0, 0.0, 0.0]),
    ("linear", [0.0, -0.4 / 3, -0.8 / 3, -0.4]),
    ({2: 0.3, 4: -0.6}, [0.0, 0.3, 0.0, -0.6]),
])
def test_decline_patterns(decline, expected):
    frame = simulate(n_per_cohort=1500, n_cohorts=1, first_cohort=2022, cohort_sd=0.0,
                     attrition=0.0, decline=decline, seed=5)
    s = _year_totals(frame)
    means = s.groupby("year")["total"].mean()
    sd = s[s.year == 1]["total"].std()
    d = ((means - means[1]) / sd).to_numpy()
    # n = 1500 per year, paired: SE of each d below 0.03; tolerance 0.1
    assert d == pytest.approx(expected, abs=0.1)
    assert frame.attrs["simulation"]["decline_sd"] == pytest.approx(expected)


def test_women_score_higher(big):
    s = _year_totals(big)
    s = s[s.year == 1]
    f = s.loc[s.gender == "female", "total"]
    m = s.loc[s.gender == "male", "total"]
    d = (f.mean() - m.mean()) / np.sqrt((f.var() + m.var()) / 2)
    # chosen gap 0.35 SD; n about 2700 each, SE about 0.04; tolerance 0.12
    assert d == pytest.approx(0.35, abs=0.12)
    assert 0.5 < len(f) / (len(f) + len(m)) < 0.6


def test_quality_problems_are_flagged_by_scoring(big):
    res = empathy_metrics.score(big, "jse-s", id_col="student_id")
    flags = res.flags
    raw = big[ITEMS].to_numpy()
    bad_code = ((raw == 0) | (raw == 8)).any(axis=1)
    n = len(big)
    assert flags["out_of_range"].to_numpy().tolist() == bad_code.tolist()
    assert 0.002 * n < bad_code.sum() < 0.012 * n  # chosen rate 0.6 %
    assert 0.005 * n < flags["straightlining"].sum() < 0.016 * n  # chosen 1 %
    assert flags["unscorable"].any()
    assert res.scores["n_missing"].max() >= 5  # break-offs
    # students answer once a year: repeated ids are the long format, not duplicates
    assert flags["duplicate_id"].sum() == big["student_id"].duplicated(keep=False).sum()


def test_clean_data_have_no_flags():
    frame = simulate(n_per_cohort=300, p_missing_item=0, p_breakoff=0, p_careless=0,
                     p_out_of_range=0, seed=4)
    flags = empathy_metrics.score(frame, "jse-s").flags
    assert not flags[["unscorable", "out_of_range", "straightlining"]].any().any()
    assert not frame[ITEMS].isna().any().any()


def test_reliability_and_factor_structure(big):
    year1 = big[big.year == 1]
    # straightliners give reverse-keyed items a shared "method" variance (a known artefact of
    # careless responding); a careful analysis drops them, as here
    flags = empathy_metrics.score(year1, "jse-s").flags
    year1 = year1[~(flags["straightlining"] | flags["out_of_range"]).to_numpy()]
    rel = reliability(year1, "jse-s", omega=False)
    # published alpha of the JSE-S total: .80-.87 (Hojat et al. 2018: .82)
    assert 0.78 <= rel["total"].alpha <= 0.88
    assert 0.7 <= rel["perspective_taking"].alpha <= 0.88
    res = efa(year1.iloc[:1500], "jse-s", n_iter=100, seed=1)
    assert res.parallel.n_factors == 3
    assert res.n_factors == 3
    loads = res.loadings
    # each subscale's items share one factor, and the three subscales use distinct factors
    factor_of = {}
    for scale, items in SUBSCALES.items():
        main = loads.loc[items].abs().idxmax(axis=1)
        factor_of[scale] = main.mode().iloc[0]
        assert (main == factor_of[scale]).mean() >= 0.85, scale
    assert len(set(factor_of.values())) == 3
    phi = res.factor_correlations.to_numpy()
    sign = np.sign(loads.sum().to_numpy())
    corr = phi * np.outer(sign, sign)
    assert (corr[np.triu_indices(3, 1)] > 0.15).all()  # correlated factors
    # item 18 loads weakly, as in several published samples
    assert loads.loc["JSE18"].abs().max() < 0.4


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"decline": "cliff"}, "unknown decline pattern"),
    ({"decline": {7: -0.4}}, "outside 1..4"),
    ({"instrument": "teq"}, "Jefferson Scale structure"),
    ({"n_per_cohort": 0}, "n_per_cohort"),
    ({"n_cohorts": 2.5}, "n_cohorts"),
    ({"attrition": 1.2}, "attrition"),
    ({"response_rate": [0.9, 0.0]}, "response_rate"),
    ({"stability": 2}, "stability"),
    ({"first_cohort": 2024}, "enters after current_year"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(InputError, match=match):
        simulate(**kwargs)


def test_other_jse_versions():
    frame = simulate(n_per_cohort=20, instrument="jse-hp", seed=3)
    assert list(frame.columns[4:]) == ITEMS


def test_package_attribute_is_the_function_after_importing_the_module():
    import importlib

    import empathy_metrics as em

    module = importlib.import_module("empathy_metrics.simulate")
    assert em.simulate is module.simulate is simulate


# ----------------------------------------------------------------------------- write_demo
def test_write_demo_round_trip(tmp_path):
    out = tmp_path / "new" / "demo"
    path = write_demo(out, n_per_cohort=30, seed=9)
    assert path == out / DEMO_FILENAME
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME, DEMO_FILENAME,
                                                     "jse_demo_README.txt"]
    text = path.read_text()
    assert ".0," not in text and "6.0" not in text  # codes written as whole numbers
    back = read_responses(path)
    expected = simulate(n_per_cohort=30, seed=9)
    assert list(back.columns) == list(expected.columns)
    np.testing.assert_array_equal(back[ITEMS].to_numpy(dtype=float),
                                  expected[ITEMS].to_numpy(dtype=float))
    assert back["student_id"].tolist() == expected["student_id"].tolist()
    assert back["gender"].isna().tolist() == expected["gender"].isna().tolist()
    readme = (out / "jse_demo_README.txt").read_text()
    assert "SIMULATED" in readme and "JSE1-JSE20" in readme
    # overwriting replaces the file and leaves no temporary files behind
    write_demo(out, n_per_cohort=20, seed=9)
    assert len(read_responses(path)) < len(back)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME, DEMO_FILENAME,
                                                     "jse_demo_README.txt"]


def test_write_demo_refuses_a_file_as_folder(tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        write_demo(target)
