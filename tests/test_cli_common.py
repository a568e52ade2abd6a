"""The CLI's shared input layer: reader options reach the reader, errors name file rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli
from empathy_metrics.errors import InputError
from empathy_metrics.scoring import score

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"
ITEMS = [f"JSE{i}" for i in range(1, 21)]


def _qualtrics(frame: pd.DataFrame, path: Path, *, preview_rows: int = 0) -> Path:
    """Write ``frame`` as a Qualtrics 3-row-header export, previews first."""
    out = frame.copy()
    out.insert(0, "DistributionChannel", "anonymous")
    out.insert(0, "Finished", 1)
    if preview_rows:
        head = out.iloc[:preview_rows].copy()
        head["DistributionChannel"] = "preview"
        out = pd.concat([head, out], ignore_index=True)
    cols = list(out.columns)
    text = ",".join(cols) + "\n"
    text += ",".join(f"Question {c}" for c in cols) + "\n"
    text += ",".join(f'"{{""ImportId"":""QID{i}""}}"' for i, _ in enumerate(cols)) + "\n"
    text += out.to_csv(index=False, header=False)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_years() -> pd.DataFrame:
    raw = pd.read_csv(DATA)
    return raw[raw.year <= 2].reset_index(drop=True)


def test_missing_codes_option_turns_codes_into_missing(tmp_path, two_years):
    data = two_years.copy()
    data[ITEMS] = data[ITEMS].astype(object)
    data.loc[3, "JSE5"] = "UNK"
    path = tmp_path / "redcap.csv"
    data.to_csv(path, index=False)
    runner = CliRunner()
    args = ["cfa", str(path), "-i", "jse-s", "--format", "json"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 2
    assert "row 5" in res.output and "JSE5" in res.output  # header row 1, data row 3 -> line 5
    res = runner.invoke(cli, [*args, "--missing-codes", "UNK, -999"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["n"] == len(data) - 1  # listwise deletion drops that row


def test_sheet_option_reads_the_named_sheet(tmp_path, two_years):
    path = tmp_path / "survey.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"note": ["not the data"]}).to_excel(xl, sheet_name="readme", index=False)
        two_years.to_excel(xl, sheet_name="responses", index=False)
    scored = int(score(two_years, "jse-s").scores["total"].notna().sum())
    runner = CliRunner()
    args = ["trend", str(path), "-i", "jse-s", "--time", "year", "--format", "json"]
    assert runner.invoke(cli, args).exit_code == 2
    for sheet in ("responses", "1"):
        res = runner.invoke(cli, [*args, "--sheet", sheet])
        assert res.exit_code == 0, res.output
        by_time = json.loads(res.stdout)["scales"]["total"]["by_time"]
        assert sum(row["n"] for row in by_time) == scored


def test_previews_excluded_unless_asked(tmp_path, two_years):
    path = _qualtrics(two_years, tmp_path / "qualtrics.csv", preview_rows=3)
    runner = CliRunner()
    base = ["cfa", str(path), "-i", "jse-s", "--format", "json"]
    res = runner.invoke(cli, base)
    assert res.exit_code == 0, res.output
    n_default = json.loads(res.stdout)["n"]
    res = runner.invoke(cli, [*base, "--include-previews"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["n"] == n_default + 3


def test_trend_names_the_file_row_after_dropped_previews(tmp_path, two_years):
    data = two_years.copy()
    data[ITEMS] = data[ITEMS].astype(object)
    data.loc[4, "JSE7"] = "lots"
    path = _qualtrics(data, tmp_path / "qualtrics.csv", preview_rows=2)
    # 3 header rows, 2 previews, then data rows 0..: data row 4 is file row 3 + 2 + 4 + 1 = 10
    res = CliRunner().invoke(cli, ["trend", str(path), "-i", "jse-s", "--time", "year"])
    assert res.exit_code == 2
    assert "row 10" in res.output and "JSE7" in res.output and "Traceback" not in res.output


def test_trend_library_error_names_the_file_row(tmp_path, two_years):
    from empathy_metrics.cohorts import trend
    from empathy_metrics.io import read_responses

    data = two_years.copy()
    data[ITEMS] = data[ITEMS].astype(object)
    data.loc[6, "JSE2"] = "??"
    path = tmp_path / "plain.csv"
    data.to_csv(path, index=False)
    frame = read_responses(path)
    with pytest.raises(InputError, match=r"row 8.*JSE2"):
        trend(frame[frame["year"] >= 1], "jse-s", time="year")
