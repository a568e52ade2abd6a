"""``empathy report --enrolled FILE``: response rates in the report, the same checks as
``empathy trend --enrolled`` (issue 10, item 3)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli

REF = Path(__file__).parent / "reference" / "data"
DATA = REF / "attrition_sim.csv"
ENROLLED = REF / "attrition_enrolled.csv"
RTOL_EXACT = 1e-9
ARGS = ["-i", "jse-s", "--time", "year", "--id", "id", "--cohort", "cohort"]


def test_report_shows_response_rates_from_the_enrolment_file(tmp_path):
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["report", str(DATA), *ARGS, "--enrolled", str(ENROLLED),
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "Response rates beside the change in the mean score" in html
    table = pd.read_csv(tmp_path / "r_tables" / "response_rates.csv", encoding="utf-8-sig")
    data = pd.read_csv(DATA)
    enrolled = pd.read_csv(ENROLLED).set_index(["cohort", "year"])["enrolled"]
    total = table[table["scale"] == "total"].set_index(["cohort", "time"])
    assert len(total) == len(enrolled)
    for (cohort, year), row in total.iterrows():
        n = int(((data["cohort"] == cohort) & (data["year"] == year)).sum())
        assert row["enrolled"] == enrolled[(cohort, year)]
        if not row["suppressed"]:
            assert row["n"] == n
            assert row["response_rate"] == pytest.approx(n / enrolled[(cohort, year)],
                                                         rel=RTOL_EXACT)
    assert set(total["design"]) == {"different students"}


def test_bad_enrolment_file_exit_2_no_output_no_traceback(tmp_path):
    bad = tmp_path / "enrolled.csv"
    bad.write_text("cohort,year,enrolled\n2019,1,74\n2019,2,40\n")
    out = tmp_path / "r.html"
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "report", str(DATA), *ARGS,
         "--enrolled", str(bad), "-o", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "enrolled.csv, row 3, column 'enrolled'" in proc.stderr
    assert "59 respondents but only 40 enrolled" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enrolled.csv"]


@pytest.mark.parametrize("text, message", [
    ("year,enrolled\n1,300\n", "lack the column(s) cohort"),
    ("cohort,year\n2019,1\n", "lack the column(s) enrolled"),
    ("cohort,year,enrolled\n2019,1,many\n", "row 2, column 'enrolled'"),
    ("cohort,year,enrolled\n2019,1,74\n2019,1,75\n", "given twice"),
])
def test_same_checks_as_trend(tmp_path, text, message):
    bad = tmp_path / "enrolled.csv"
    bad.write_text(text)
    out = tmp_path / "r.html"
    report = CliRunner().invoke(cli, ["report", str(DATA), *ARGS, "--enrolled", str(bad),
                                      "-o", str(out)])
    trend = CliRunner().invoke(cli, ["trend", str(DATA), *ARGS, "--enrolled", str(bad)])
    assert report.exit_code == 2 and trend.exit_code == 2
    assert message in report.output
    assert report.output.strip() == trend.output.strip()
    assert not out.exists() and not (tmp_path / "r_tables").exists()


def test_missing_enrolment_file(tmp_path):
    res = CliRunner().invoke(cli, ["report", str(DATA), *ARGS, "--enrolled",
                                   str(tmp_path / "nope.csv"), "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "nope.csv" in res.output
    assert list(tmp_path.iterdir()) == []
