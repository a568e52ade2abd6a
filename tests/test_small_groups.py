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
    assert "--fold-small-groups" in note and "fold_small_groups()" in note
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
