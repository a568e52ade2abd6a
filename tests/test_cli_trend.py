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
                              "--cohort", "cohort", "--plot", str(plot), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
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
    assert "suppressed (n < 200)" in res.output


def test_bad_input_exit_2(small_csv, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["trend", str(small_csv), "-i", "jse-s", "--time", "wave"])
    assert res.exit_code == 2
    assert "time column 'wave' not found" in res.output
    res = runner.invoke(cli, ["trend", str(small_csv), "-i", "jse-s", "--time", "year",
                              "--plot", str(tmp_path / "x.gif")])
    assert res.exit_code == 2 and ".png, .svg or .pdf" in res.output


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
