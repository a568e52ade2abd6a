"""`empathy report` and `empathy demo` through click's CliRunner and a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"
SECTIONS = ["summary", "findings", "scores", "change", "attrition", "norms", "quality",
            "reliability", "factors", "comparability", "items", "methods"]


def test_report_writes_html_csv_and_xlsx(tmp_path):
    out = tmp_path / "yearly.html"
    res = CliRunner().invoke(cli, [
        "report", str(DATA), "-i", "jse-s", "--time", "year", "--id", "id", "--cohort",
        "cohort", "--group", "gender", "--title", "Class of 2026 <b>report</b>",
        "--min-cell", "12", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert f"Report:  {out}" in res.output and "yearly_tables.xlsx" in res.output
    html = out.read_text(encoding="utf-8")
    assert "Class of 2026 &lt;b&gt;report&lt;/b&gt;" in html
    assert "suppressed: fewer than 12 respondents" in html  # --min-cell reached the report
    for sid in SECTIONS:
        assert f'<section id="{sid}"' in html
    csvs = list((tmp_path / "yearly_tables").glob("*.csv"))
    assert len(csvs) >= 15 and (tmp_path / "yearly_tables.xlsx").is_file()
    scores = pd.read_csv(next(p for p in csvs if p.name.endswith("scores_by_time.csv")))
    assert set(scores["time"]) == {1, 2, 3, 4}


def test_report_with_column_map(tmp_path):
    raw = pd.read_csv(DATA)
    renamed = raw.rename(columns={f"JSE{i}": f"item_{i:02d}" for i in range(1, 21)})
    data = tmp_path / "export.csv"
    renamed[renamed["year"] <= 2].to_csv(data, index=False)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("".join(f"JSE{i}: item_{i:02d}\n" for i in range(1, 21)))
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["report", str(data), "-i", "jse-s", "--time", "year",
                                   "--map", str(mapping), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "item_01" in out.read_text(encoding="utf-8")  # the map is in the provenance


def test_bad_input_exit_2_without_traceback_and_without_outputs(tmp_path):
    runner = CliRunner()
    out = tmp_path / "r.html"
    res = runner.invoke(cli, ["report", str(DATA), "-i", "jse-s", "--time", "wave",
                              "-o", str(out)])
    assert res.exit_code == 2
    assert "time column 'wave' not found" in res.output
    assert "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []
    res = runner.invoke(cli, ["report", str(tmp_path / "nope.csv"), "-i", "jse-s",
                              "--time", "year", "-o", str(out)])
    assert res.exit_code == 2 and "nope.csv" in res.output
    res = runner.invoke(cli, ["report", str(DATA), "-i", "jse-s", "--time", "year",
                              "-o", str(tmp_path / "missing" / "r.html")])
    assert res.exit_code == 2 and "output folder does not exist" in res.output
    res = runner.invoke(cli, ["report", str(DATA), "-i", "no-such-scale", "--time", "year",
                              "-o", str(out)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []
    afile = tmp_path / "afile"
    afile.write_text("x")
    res = runner.invoke(cli, ["demo", str(afile)])
    assert res.exit_code == 2 and "is a file" in res.output


def test_help_has_examples():
    runner = CliRunner()
    for name in ("report", "demo"):
        res = runner.invoke(cli, [name, "--help"])
        assert res.exit_code == 0 and "Examples" in res.output
    res = runner.invoke(cli, ["--help"])
    assert "report" in res.output and "demo" in res.output


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_demo_subprocess_writes_data_and_full_report(tmp_path):
    outdir = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "empathy_metrics", "demo", str(outdir)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # quiet when not on a terminal: no progress bar, no warnings
    csv = outdir / "jse_demo.csv"
    html = outdir / "report.html"
    assert str(csv) in proc.stdout and str(html) in proc.stdout
    frame = pd.read_csv(csv)
    assert {"student_id", "cohort", "year", "gender", "JSE1", "JSE20"} <= set(frame.columns)
    text = html.read_text(encoding="utf-8")
    for sid in SECTIONS:
        assert f'<section id="{sid}"' in text
    assert "could not be run" not in text  # every analysis ran on the demo data
    assert "simulated demo data" in text
    assert (outdir / "report_tables.xlsx").is_file()
    assert len(list((outdir / "report_tables").glob("*.csv"))) >= 15
