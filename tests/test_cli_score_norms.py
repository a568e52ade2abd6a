"""`empathy score --norms` through click's CliRunner and a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from empathy_metrics.cli import cli

DATA = Path(__file__).parent / "reference" / "data" / "attrition_sim.csv"
CITATION_2015 = "Med Princ Pract 2015;24:344-350"


def test_json_has_percentiles_and_citations():
    res = CliRunner().invoke(cli, ["score", str(DATA), "-i", "jse-s", "--norms", "--gender-col",
                                   "gender", "--year-col", "year", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    raw = pd.read_csv(DATA)
    first = out["scores"][0]
    mean, sd = (116.2, 9.7) if raw.gender[0] == "women" else (112.3, 10.8)
    assert first["total_norm_percentile"] == pytest.approx(
        100 * stats.norm.cdf((first["total"] - mean) / sd), rel=1e-12)
    assert CITATION_2015 in first["total_norm_citation"]
    assert {n["group"] for n in out["norms"]["norms"]} == {"women", "men"}
    assert all(n["citation"] for n in out["norms"]["norms"])


def test_csv_output_and_table(tmp_path):
    target = tmp_path / "scores.csv"
    res = CliRunner().invoke(cli, ["score", str(DATA), "-i", "jse-s", "--norms", "--gender-col",
                                   "gender", "-o", str(target)])
    assert res.exit_code == 0, res.output
    assert "Scores against published norms" in res.output and CITATION_2015 in res.output
    table = pd.read_csv(target)
    assert {"total_norm_percentile", "total_norm_z", "total_norm", "total_norm_citation",
            "total_low_scorer"} <= set(table.columns)
    assert table["total_norm_percentile"].between(0, 100).all()


def test_without_gender_uses_the_national_norm_and_says_so():
    res = CliRunner().invoke(cli, ["score", str(DATA), "-i", "jse-s", "--norms"])
    assert res.exit_code == 0, res.output
    assert "Adv Health Sci Educ 2018;23:899-920" in res.output
    assert "no gender given" in res.output


def test_unknown_column_exit_2_subprocess(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "score", str(DATA), "-i", "jse-s", "--norms",
         "--gender-col", "sex"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "column 'sex'" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    teq = tmp_path / "teq.csv"  # the TEQ has no published norm in its definition
    teq.write_text(",".join(f"TEQ{i}" for i in range(1, 17)) + "\n" + ",".join(["2"] * 16)
                   + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "score", str(teq), "-i", "teq", "--norms"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no published norm" in proc.stderr
