"""Every result object: a complete notebook display (_repr_html_ with notes), to_frame()
returning a copy, wrong objects rejected at the edge with a message naming both types, look-ups
suggesting the valid keys, dropped out-of-range codes reported."""

from __future__ import annotations

import html
import warnings
from pathlib import Path

import pandas as pd
import pytest

import empathy_metrics as em
from empathy_metrics import plots
from empathy_metrics.errors import DroppedCodesWarning, InputError, ResultKeyError

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def year1(raw):
    return raw[raw.year == 1].reset_index(drop=True)


@pytest.fixture(scope="module")
def results(raw, year1):
    from empathy_metrics.cohorts import score_histogram
    from empathy_metrics.norms import norm_scores

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr = em.trend(raw, "jse-s", time="year", id="id", cohort="cohort", group="gender",
                      mixed=False)
        sc = em.score(year1, "jse-s")
        return {
            "score": sc,
            "reliability": em.reliability(year1, "jse-s"),
            "efa": em.efa(year1, "jse-s", n_factors=3, n_iter=10, seed=1),
            "cfa": em.cfa(year1, "jse-s"),
            "invariance": em.invariance(raw[raw.year <= 2], "jse-s", group="year"),
            "trend": tr,
            "groups": em.compare_groups(year1, "jse-s", group="gender"),
            "items": em.item_change(raw, "jse-s", time="year"),
            "by_time": em.reliability_by_time(raw, "jse-s", time="year"),
            "histogram": score_histogram(tr),
            "norms": norm_scores(sc.scores["total"], "jse-s", scale="total"),
        }


def test_every_result_displays_in_a_notebook_and_to_frame_is_a_copy(results):
    for name, res in results.items():
        page = res._repr_html_()
        assert page.startswith("<div class='empathy-metrics-result'>"), name
        assert "<table" in page, name
        frame = res.to_frame()
        before = res.to_frame()
        numeric = [j for j, t in enumerate(frame.dtypes) if t.kind in "if"]
        assert numeric, name
        for j in numeric:  # edit in place, as a user would
            frame.iloc[:, j] = -999
        pd.testing.assert_frame_equal(res.to_frame(), before, obj=name)
        assert res.summary(), name


def test_score_to_frame_no_longer_exposes_the_internal_table(results):
    sc = results["score"]
    frame = sc.to_frame()
    frame["total"] = -1.0
    assert (sc.scores["total"] != -1.0).all()


def test_reliability_display_has_the_notes_and_psych_omega_caveat(results):
    rel = results["reliability"]
    page = rel._repr_html_()
    # a subscale's one-factor omega is omega_u (psych prints it as omega_h and calls it "not
    # meaningful"): the display and the summary say so
    assert "omega_u = one-factor omega" in page
    assert "omega_u = one-factor omega" in rel.summary()
    for scale in rel.scales.values():
        for note in scale.notes:
            assert note.split(":")[0] in page


def test_trend_display_has_change_cis_tests_and_notes(results):
    page = results["trend"]._repr_html_()
    for needle in ("diff_ci_low", "d_ci_high", "Welch ANOVA", "Kruskal", "adjacent"):
        assert needle in page, needle
    for note in results["trend"].notes:
        assert note.split(" ")[0] in page


def test_cfa_display_has_factor_correlations(results):
    page = results["cfa"]._repr_html_()
    assert "Factor correlations" in page
    phi = results["cfa"].factor_correlations
    assert f"{phi.iloc[0, 1]:.3f}" in page


def test_result_lookups_suggest_the_valid_keys(results):
    rel = results["reliability"]
    with pytest.raises(ResultKeyError, match=r"no scale 'Agreeableness'.*scales are "
                                             r"'perspective_taking'"):
        rel["Agreeableness"]
    with pytest.raises(KeyError, match=r"did you mean 'total'"):
        rel["Total"]


@pytest.mark.parametrize("call", [
    lambda sc: em.score(sc, "jse-s"),
    lambda sc: em.keyed_items(sc, "jse-s"),
    lambda sc: em.reliability(sc, "jse-s"),
    lambda sc: em.efa(sc, "jse-s"),
    lambda sc: em.cfa(sc, "jse-s"),
    lambda sc: em.invariance(sc, "jse-s", group="year"),
    lambda sc: em.trend(sc, "jse-s", time="year"),
    lambda sc: em.compare_groups(sc, "jse-s", group="gender"),
    lambda sc: em.item_change(sc, "jse-s", time="year"),
    lambda sc: em.reliability_by(sc, "jse-s", by="year"),
])
def test_a_wrong_object_gets_a_message_naming_what_was_expected(results, call):
    with pytest.raises(InputError, match=r"expected a DataFrame of responses.*got ScoreResult"):
        call(results["score"])


def test_plots_name_the_result_they_need(results):
    with pytest.raises(InputError, match=r"trend_plot: result: expected a TrendResult, got "
                                         r"ScoreResult"):
        plots.trend_plot(results["score"])
    with pytest.raises(InputError, match=r"scree_plot.*expected a EFAResult|an EFAResult"):
        plots.scree_plot(results["cfa"])
    with pytest.raises(InputError, match=r"alpha_plot.*got ReliabilityResult"):
        plots.alpha_plot(results["reliability"])
    with pytest.raises(InputError, match=r"item_change_heatmap.*got ScoreResult"):
        plots.item_change_heatmap(results["score"])


def test_in_memory_errors_name_the_index_label_and_files_the_row(tmp_path, year1):
    bad = year1.head(5).copy()
    bad.index = [537, 538, 539, 540, 541]
    bad["JSE3"] = bad["JSE3"].astype(object)
    bad.loc[539, "JSE3"] = "often"
    with pytest.raises(InputError) as info:
        em.score(bad, "jse-s")
    assert info.value.index == 539 and info.value.row is None
    assert str(info.value).startswith("index 539, column 'JSE3'")
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        em.score(em.read_responses(path), "jse-s")
    assert info.value.row == 4 and info.value.index is None  # header = row 1
    assert str(info.value).startswith(f"{path}, row 4, column 'JSE3'")


def test_out_of_range_codes_dropped_by_statistics_are_reported(year1):
    data = year1.copy()
    data.loc[[3, 8], "JSE5"] = 9
    data.loc[4, "JSE1"] = 0
    for name, call in (("reliability", lambda: em.reliability(data, "jse-s", omega=False)),
                       ("efa", lambda: em.efa(data, "jse-s", n_factors=3, n_iter=5, seed=1)),
                       ("cfa", lambda: em.cfa(data, "jse-s"))):
        with pytest.warns(DroppedCodesWarning, match=r"3 out-of-range code\(s\).*JSE5: 2"):
            res = call()
        notes = getattr(res, "notes", [])
        assert any("3 out-of-range code(s)" in n for n in notes), name
        assert "out-of-range" in res._repr_html_(), name


def test_invariance_display_has_design_group_sizes_and_verdict(results):
    inv = results["invariance"]
    page = inv._repr_html_()
    assert f"design = {inv.design}" in page
    for group, n in inv.group_sizes.items():
        assert f"{group}: {n}" in page
    assert html.escape(inv.verdict) in page
