"""Truthful, economical suppression (issue 8 item 4): small and complementary cells told apart,
the group that forces large cells out named, and folding small groups as the way out."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from empathy_metrics.cli import cli
from empathy_metrics.cohorts import trend
from empathy_metrics.instruments import load_instrument
from empathy_metrics.suppression import FOLDED_LABEL, complement_note, fold_small_groups

INST = load_instrument("jse-s")


def _survey(n_x=4, n_missing=8, n_men=30, n_women=35, years=(1, 2)) -> pd.DataFrame:
    """Per year: 'X' (small), missing gender, men and women (large)."""
    rng = np.random.default_rng(5)
    rows = []
    for year in years:
        genders = ["X"] * n_x + [None] * n_missing + ["men"] * n_men + ["women"] * n_women
        for k, g in enumerate(genders):
            rows.append({"student_id": f"S{year}{k:03d}", "year": year, "gender": g,
                         **dict(zip(INST.item_ids, rng.integers(1, 8, 20).tolist(),
                                    strict=True))})
    return pd.DataFrame(rows)


def test_fold_small_groups_folds_small_levels_and_missing():
    frame = _survey()
    out, folded = fold_small_groups(frame, "gender", 10, by="year")
    assert folded == ["X"]
    assert out["gender"].value_counts().to_dict() == {"women": 70, "men": 60,
                                                      FOLDED_LABEL: 24}
    assert out.attrs["folded_groups"] == {"gender": ["X"]}
    assert frame["gender"].isna().sum() == 16  # the input is not modified
    same, none = fold_small_groups(_survey(n_x=12), "gender", 10, by="year")
    assert none == [] and same["gender"].isna().sum() == 16  # nothing small: nothing folded


def test_a_small_group_hides_a_large_one_and_the_note_names_both():
    tr = trend(_survey(), INST, time="year", group="gender", min_cell=10, mixed=False)
    gs = tr.group_stats[tr.group_stats["scale"] == "total"]
    kinds = {(r.gender, r.time): (bool(r.suppressed), bool(r.primary_suppressed))
             for r in gs.itertuples()}
    assert kinds[("X", 1)] == (True, True)  # small
    assert kinds[("men", 1)] == (True, False)  # hidden only as its complement
    assert kinds[("women", 1)] == (False, False)
    note = complement_note(gs, "gender", time="year", min_cell=10)
    assert "'X' has fewer than 10" in note and "'men'" in note
    assert "--fold-small-groups" in note and "fold_small_groups=True" in note
    json_rows = tr.to_dict()["scales"]["total"]["groups"]
    assert {r["gender"]: r["suppressed"] for r in json_rows if r["time"] == 1} == {
        "X": "small", "men": "complementary", "women": False}
    assert "primary_suppressed" not in json_rows[0]


def test_cli_fold_small_groups_keeps_large_groups_visible(tmp_path):
    path = tmp_path / "survey.csv"
    _survey().to_csv(path, index=False)
    base = ["trend", str(path), "-i", "jse-s", "--time", "year", "--group", "gender",
            "--format", "json"]
    res = CliRunner().invoke(cli, base)
    groups = json.loads(res.stdout)["scales"]["total"]["groups"]
    assert any(g["gender"] == "men" and g["suppressed"] == "complementary" for g in groups)
    res = CliRunner().invoke(cli, [*base, "--fold-small-groups"])
    assert res.exit_code == 0, res.output
    assert "groups with fewer than 10 respondents in a year (X)" in res.stderr
    groups = json.loads(res.stdout)["scales"]["total"]["groups"]
    shown = {(g["gender"], g["time"]) for g in groups if g["suppressed"] is False}
    assert shown == {(g, t) for g in ("men", "women", FOLDED_LABEL) for t in (1, 2)}
    assert complement_note(pd.DataFrame(groups).assign(
        primary_suppressed=False), "gender") is None


# ---------------------------------------------------------------------------- every table
def _three_years() -> pd.DataFrame:
    """Year 3 small (6 answers): it is hidden for being small and the smallest other year (2)
    as its complement, so every table of the times holds one hidden cell of each kind.
    Students answer in several years (paired, reliable change, attrition); gender 'X' is
    small in every year (a group complement)."""
    rng = np.random.default_rng(11)
    rows = []
    for year, n in ((1, 60), (2, 40), (3, 6)):
        for k in range(n):
            g = "X" if k < 4 else ("men" if k % 3 == 0 else "women")
            rows.append({"student_id": f"S{k:03d}", "year": year, "gender": g,
                         "cohort": 2020 + k % 2,
                         **dict(zip(INST.item_ids, rng.integers(1, 8, 20).tolist(),
                                    strict=True))})
    return pd.DataFrame(rows)


def _kinds(frame: pd.DataFrame, key: str = "time") -> dict:
    from empathy_metrics.suppression import with_kinds

    out = with_kinds(frame)
    return {k: set(v) for k, v in out.groupby(key)["suppressed"]}


def test_every_trend_table_tells_small_from_complementary_cells():
    from empathy_metrics.suppression import with_kinds

    tr = trend(_three_years(), INST, time="year", id="student_id", group="gender",
               cohort="cohort", min_cell=10, mixed=False)
    for name in ("by_time", "distribution", "histogram", "meaningful_change"):
        table = getattr(tr, name)
        assert "primary_suppressed" in table.columns, name
        kinds = _kinds(table)
        assert kinds[3] == {"small"} and kinds[2] == {"complementary"}, (name, kinds)
        assert kinds[1] == {False} or False in kinds[1], (name, kinds)
    # every table that can hide a row says why, so nothing falls back to "small"
    for name, table in vars(tr).items():
        if isinstance(table, pd.DataFrame) and "suppressed" in table.columns:
            assert "primary_suppressed" in table.columns, name
    gd = tr.group_differences
    kinds = dict(zip(gd["group"], with_kinds(gd)["suppressed"], strict=True))
    assert kinds == {"X": "small", "men": "complementary"}  # year 1, against the women
    js = tr.to_dict()["scales"]["total"]
    assert {r["time"]: r["suppressed"] for r in js["by_time"]} == {
        1: False, 2: "complementary", 3: "small"}
    assert {r["time"]: r["suppressed"] for r in js["distribution"]} == {
        1: False, 2: "complementary", 3: "small"}


def test_every_report_table_tells_small_from_complementary_cells(tmp_path):
    import openpyxl

    from empathy_metrics.report import build_report
    from empathy_metrics.report._tables import Table

    rep = build_report(_three_years(), INST, time="year", id="student_id", group="gender",
                       min_cell=10, progress=False,
                       options={"invariance": False, "parallel_iter": 2, "mixed_scales": []})
    tables = [b for s in rep.sections for b in s.blocks if isinstance(b, Table)]
    checked = set()
    for table in tables:
        if "suppressed" not in table.data.columns or not table.data["suppressed"].any():
            continue
        assert "primary_suppressed" in table.data.columns, table.name
        exported = table.export_frame()
        if "time" in exported.columns and {2, 3} <= set(exported["time"]):
            kinds = {k: set(v) for k, v in exported.groupby("time")["suppressed"]}
            if table.name in ("scores_by_time", "score_distribution", "norms",
                              "responses_by_time", "reliability_by_time"):
                assert kinds[3] == {"small"} and kinds[2] == {"complementary"}, (
                    table.name, kinds)
                checked.add(table.name)
    assert {"scores_by_time", "score_distribution", "norms", "responses_by_time",
            "reliability_by_time"} <= checked
    out = tmp_path / "r.html"
    rep.write(out)
    html = out.read_text(encoding="utf-8")
    assert html.count("hidden so that a small group cannot be worked out") >= 5
    book = openpyxl.load_workbook(out.with_name("r_tables.xlsx"))
    norms = [[c.value for c in row] for row in book["norms"].iter_rows()]
    col = norms[0].index("suppressed")
    assert {"small", "complementary"} <= {r[col] for r in norms[1:]}


def test_fold_small_groups_is_a_parameter_of_trend_and_build_report():
    from empathy_metrics.report import build_report

    tr = trend(_survey(), INST, time="year", group="gender", min_cell=10, mixed=False,
               fold_small_groups=True)
    gs = tr.group_stats[tr.group_stats["scale"] == "total"]
    assert set(gs["gender"]) == {"men", "women", FOLDED_LABEL}
    assert not gs["suppressed"].any()  # 'X' + missing = 12 per year: nothing hidden
    assert any("(X) and missing values are folded into" in n for n in tr.notes)
    plain = trend(_survey(), INST, time="year", group="gender", min_cell=10, mixed=False)
    assert any("fold_small_groups=True" in n for n in plain.notes)  # the way out is named
    opts = {"invariance": False, "parallel_iter": 2, "mixed_scales": []}
    rep = build_report(_survey(), INST, time="year", group="gender", min_cell=10,
                       progress=False, options=opts, fold_small_groups=True)
    text = " ".join(str(b) for b in rep.section("quality").blocks)
    assert "(X) and missing values are shown together" in text
    rows = next(t for t in rep.tables if t.name == "group_stats").export_frame()
    assert (rows["suppressed"] == False).all()  # noqa: E712 - the exported kind
    rep = build_report(_survey(), INST, time="year", group="gender", min_cell=10,
                       progress=False, options=opts)
    text = " ".join(str(b) for b in rep.section("scores").blocks)
    assert "Gender 'X' has fewer than 10" in text and "fold_small_groups=True" in text


# ---------------------------------------------------------------------------- cohort × time
def test_a_small_cohort_cell_costs_one_complement_in_its_year_not_every_cohort():
    """Cohort-sequential data (the latest cohort seen in year 1 only) with one cohort x year
    cell cut to 6: only published totals (each shown year's n) are margins, so the small cell
    and one complement in the same year are hidden, every other cohort cell stays shown, no
    hidden cell follows from the year totals, and the cohort-sequential model still runs."""
    from empathy_metrics.simulate import simulate
    from empathy_metrics.suppression import recoverable_cells

    data = simulate(n_per_cohort=30, n_cohorts=4, n_years=4, seed=7)
    cut = data.index[(data["cohort"] == 2024) & (data["year"] == 2)]
    data = data.drop(cut[6:]).reset_index(drop=True)
    tr = trend(data, INST, time="year", id="student_id", cohort="cohort", min_cell=10)
    ct = tr.cohort_trajectories[tr.cohort_trajectories["scale"] == "total"]
    hidden = ct[ct["suppressed"]]
    assert len(hidden) == 2 and set(hidden["time"]) == {2}, hidden
    kinds = dict(zip(hidden["cohort"], hidden["primary_suppressed"], strict=True))
    assert kinds[2024] and sum(kinds.values()) == 1  # the small cell and one complement
    year_totals = np.vstack([(ct["time"] == t).to_numpy(float) for t in set(ct["time"])])
    assert not recoverable_cells(ct["suppressed"].to_numpy(bool), year_totals).any()
    assert tr.cohort_sequential["total"] is not None
    assert not any("cohort-sequential model skipped" in n for n in tr.notes)


def test_note_when_the_folded_group_is_still_small():
    """Folding cannot help when 'other / not stated' stays below the threshold: the note
    says so instead of offering the same way out again."""
    folded = _survey(n_x=3, n_missing=0)
    tr = trend(folded, INST, time="year", group="gender", min_cell=10, mixed=False,
               fold_small_groups=True)
    gs = tr.group_stats[tr.group_stats["scale"] == "total"]
    note = complement_note(gs, "gender", time="year", min_cell=10)
    assert f"folded into '{FOLDED_LABEL}' already" in note and "--fold-small-groups" not in note
    assert any("is still small" in n for n in tr.notes)
    plain = complement_note(trend(folded, INST, time="year", group="gender", min_cell=10,
                                  mixed=False).group_stats, "gender", time="year")
    assert "fold_small_groups=True" in plain
