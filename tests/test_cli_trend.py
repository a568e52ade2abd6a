"""`empathy trend` through click's CliRunner and a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"
REF = Path(__file__).parent / "reference" / "cohorts.json"
#: closed-form statistics agree with R to rounding.
RTOL_EXACT = 1e-9


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    """Year 1-2 rows of the simulated data, cross-sectional (no id column given)."""
    raw = pd.read_csv(DATA)
    path = tmp_path_factory.mktemp("trend") / "small.csv"
    raw[raw.year <= 2].to_csv(path, index=False)
    return path


def test_json_output_matches_documented_shape_and_r(tmp_path):
    runner = CliRunner()
    plot = tmp_path / "trend.svg"
    res = runner.invoke(cli, ["trend", str(DATA), "-i", "jse-s", "--time", "year", "--id", "id",
                              "--cohort", "cohort", "--min-cell", "5", "--plot", str(plot),
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    _check_shape(out, [1, 2, 3, 4], 1)
    assert out["min_cell"] == 5
    assert out["instrument"] == "jse-s" and out["time"] == "year"
    total = out["scales"]["total"]
    ref = json.loads(REF.read_text())["scales"]["total"]
    for got, want in zip(total["by_time"], ref["by_time"], strict=True):
        assert got["time"] == want["time"] and got["n"] == want["n"]
        assert got["mean"] == pytest.approx(want["mean"], rel=RTOL_EXACT)
        assert got["suppressed"] is False
    assert total["by_time"][2]["d_vs_ref"] == pytest.approx(ref["by_time"][2]["d"], rel=1e-9)
    assert set(total["mixed_model"]) >= {"terms", "sigma", "sd_intercept", "n_obs", "n_groups"}
    assert set(total["mixed_model"]["terms"]) == {"Intercept", "time[2]", "time[3]", "time[4]"}
    assert set(total["linear_slope"]) >= {"estimate", "se", "ci", "p"}
    assert isinstance(total["reliable_change"], list) and total["reliable_change"]
    assert plot.read_text().lstrip().startswith("<?xml")


@pytest.mark.filterwarnings("ignore::empathy_metrics.errors.DegenerateDataWarning")
def test_table_output_reference_and_min_cell(small_csv):
    runner = CliRunner()
    res = runner.invoke(cli, ["trend", str(small_csv), "-i", "jse-s", "--time", "year",
                              "--reference", "2", "--min-cell", "200"])
    assert res.exit_code == 0, res.output
    assert "reference 2" in res.output
    assert "suppressed: fewer than 200 respondents" in res.output


def test_bad_input_exit_2(small_csv, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["trend", str(small_csv), "-i", "jse-s", "--time", "wave"])
    assert res.exit_code == 2
    assert "time column 'wave' not found" in res.output
    res = runner.invoke(cli, ["trend", str(small_csv), "-i", "jse-s", "--time", "year",
                              "--plot", str(tmp_path / "x.gif")])
    assert res.exit_code == 2 and ".png, .svg, .pdf" in res.output


def test_subprocess_json_and_png(small_csv, tmp_path):
    plot = tmp_path / "t.png"
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "trend", str(small_csv), "-i", "jse-s",
         "--time", "year", "--plot", str(plot), "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [r["time"] for r in out["scales"]["total"]["by_time"]] == [1, 2]
    assert out["scales"]["total"]["mixed_model"] is None
    assert plot.read_bytes()[:4] == b"\x89PNG"
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "trend", "--help"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0 and "Example" in proc.stdout


BY_TIME_KEYS = {"time", "n", "mean", "sd", "ci", "diff_vs_ref", "diff_ci", "d_vs_ref", "d_ci",
                "g_vs_ref", "suppressed"}
TERM_KEYS = {"estimate", "se", "ci", "p"}


def _check_shape(out: dict, times: list, reference) -> None:
    """The JSON shape the issue documents as the public interface."""
    assert {"instrument", "time", "scales"} <= set(out)
    for scale, block in out["scales"].items():
        assert {"by_time", "tests", "mixed_model", "linear_slope", "reliable_change"} <= set(block)
        assert [row["time"] for row in block["by_time"]] == times
        for row in block["by_time"]:
            assert BY_TIME_KEYS <= set(row), scale
            assert row["suppressed"] in (False, "small", "complementary")
            assert len(row["ci"]) == len(row["diff_ci"]) == len(row["d_ci"]) == 2
            if not row["suppressed"]:
                assert isinstance(row["n"], int)
        assert isinstance(block["tests"], dict)
        mm = block["mixed_model"]
        assert {"terms", "sigma", "sd_intercept", "n_obs", "n_groups"} <= set(mm)
        assert isinstance(mm["n_obs"], int) and isinstance(mm["n_groups"], int)
        assert set(mm["terms"]) == {"Intercept"} | {f"time[{t}]" for t in times if t != reference}
        for term in mm["terms"].values():
            assert TERM_KEYS <= set(term) and len(term["ci"]) == 2
        assert TERM_KEYS <= set(block["linear_slope"])
        assert isinstance(block["reliable_change"], list)


def test_json_shape_with_reference_and_group():
    runner = CliRunner()
    res = runner.invoke(cli, ["trend", str(DATA), "-i", "jse-s", "--time", "year", "--id", "id",
                              "--group", "gender", "--reference", "2", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    _check_shape(out, [2, 1, 3, 4], 2)
    total = out["scales"]["total"]
    ref_row = total["by_time"][0]
    assert ref_row["time"] == 2 and ref_row["diff_vs_ref"] == 0 and ref_row["d_vs_ref"] == 0
    assert out["reference"] == 2 and out["random_slope"] is False
    # terms relative to year 2: time[3] (vs 2) = time[3] − time[2] of the year-1-based lmer fit
    r = json.loads(REF.read_text())["scales"]["total"]["mixed_model"]["terms"]
    want = r["time[3]"]["estimate"] - r["time[2]"]["estimate"]
    assert total["mixed_model"]["terms"]["time[3]"]["estimate"] == pytest.approx(want, rel=1e-3)
    assert total["mixed_model"]["terms"]["time[1]"]["estimate"] == pytest.approx(
        -r["time[2]"]["estimate"], rel=1e-3)
    # the tiny nonbinary group is suppressed in every year, with a complement
    groups = total["groups"]
    assert all(g["suppressed"] and g["n"] is None for g in groups if g["gender"] == "nonbinary")
    # its complement (the next smallest, men) leaves one group per year: the comparisons with
    # the largest group (the default reference) are listed as suppressed, without numbers, and
    # the notes say how to fix it
    diffs = total["group_differences"]
    assert diffs and all(d["reference_group"] == "women" and d["suppressed"] for d in diffs)
    assert all(d.get("diff") is None and d.get("d") is None for d in diffs)
    assert any("fold small categories" in n and "--fold-small-groups" in n for n in out["notes"])


def test_random_slope_flag_reaches_the_library(monkeypatch):
    import empathy_metrics.cohorts as cohorts

    seen = {}
    real = cohorts.trend

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **{**kwargs, "mixed": False})

    monkeypatch.setattr(cohorts, "trend", spy)
    res = CliRunner().invoke(cli, ["trend", str(DATA), "-i", "jse-s", "--time", "year", "--id",
                                   "id", "--random-slope", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert seen["random_slope"] is True and seen["id"] == "id"
    assert json.loads(res.output)["random_slope"] is True


ATTRITION = Path(__file__).parent / "reference" / "data" / "attrition_sim.csv"
ENROLLED = Path(__file__).parent / "reference" / "data" / "attrition_enrolled.csv"


def test_enrolled_adds_response_rates_beside_the_change():
    res = CliRunner().invoke(cli, ["trend", str(ATTRITION), "-i", "jse-s", "--time", "year",
                                   "--id", "id", "--cohort", "cohort", "--enrolled",
                                   str(ENROLLED), "--format", "json"])
    assert res.exit_code == 0, res.output
    total = json.loads(res.output)["scales"]["total"]
    rates = {(r["cohort"], r["time"]): r for r in total["response_rates"]}
    first = rates[(2019, 2)]
    assert first["enrolled"] == 73 and first["n"] == 59
    assert first["response_rate"] == pytest.approx(59 / 73, rel=RTOL_EXACT)
    assert {"rate_change", "mean_change", "design"} <= set(first)
    assert total["attrition"] and total["sensitivity"]
    table = CliRunner().invoke(cli, ["trend", str(ATTRITION), "-i", "jse-s", "--time", "year",
                                     "--id", "id", "--cohort", "cohort", "--enrolled",
                                     str(ENROLLED)])
    assert table.exit_code == 0 and "response rate cohort 2019 year 2: 81%" in table.output


def test_bad_enrolment_file_names_file_row_and_column(tmp_path):
    bad = tmp_path / "enrolled.csv"
    bad.write_text("cohort,year,enrolled\n2019,1,74\n2019,2,40\n")
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "trend", str(ATTRITION), "-i", "jse-s",
         "--time", "year", "--id", "id", "--cohort", "cohort", "--enrolled", str(bad),
         "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "enrolled.csv, row 3, column 'enrolled'" in proc.stderr
    assert "59 respondents but only 40 enrolled" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad.write_text("cohort,year\n2019,1\n")
    res = CliRunner().invoke(cli, ["trend", str(ATTRITION), "-i", "jse-s", "--time", "year",
                                   "--id", "id", "--cohort", "cohort", "--enrolled", str(bad)])
    assert res.exit_code == 2 and "lack the column(s) enrolled" in res.output
