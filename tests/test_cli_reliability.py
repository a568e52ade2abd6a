"""CLI tests for ``empathy reliability``."""

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from empathy_metrics.cli.reliability_cmd import reliability
from empathy_metrics.instruments import load_instrument

from .conftest import jse_sim_responses

REF_DIR = Path(__file__).parent / "reference"


def _write_jse(tmp_path):
    _, raw = jse_sim_responses()
    path = tmp_path / "jse.csv"
    raw.to_csv(path, index=False)
    return path


def test_json_output(tmp_path):
    path = _write_jse(tmp_path)
    result = CliRunner().invoke(reliability, [str(path), "-i", "jse-s", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    ref = json.loads((REF_DIR / "reliability.json").read_text())
    assert abs(data["scales"]["total"]["alpha"] - ref["jse_listwise"]["alpha"]) < 1e-6
    assert data["scales"]["total"]["ci_method"] == "feldt"


def test_table_and_bootstrap(tmp_path):
    path = _write_jse(tmp_path)
    result = CliRunner().invoke(
        reliability, [str(path), "-i", "jse-s", "--ci", "bca", "--n-boot", "100", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "total" in result.output


def test_subprocess_bad_file(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "reliability", str(tmp_path / "none.csv"),
         "-i", "jse-s"], capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


SCALE_KEYS = {"n", "alpha", "std_alpha", "lambda6", "average_r", "alpha_ci", "ci_method",
              "omega_total", "omega_h", "omega_u", "items"}
ITEM_KEYS = {"mean", "sd", "r_drop", "alpha_if_deleted"}


def test_json_shape_is_the_documented_interface(tmp_path):
    """`{"instrument", "scales": {scale: {n, alpha, ..., items: {id: {mean, sd, ...}}}}}`."""
    path = _write_jse(tmp_path)
    result = CliRunner().invoke(reliability, [str(path), "-i", "jse-s", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    inst = load_instrument("jse-s")
    assert set(data) == {"instrument", "scales"} and data["instrument"] == "jse-s"
    assert set(data["scales"]) == set(inst.scales)
    for name, scale in data["scales"].items():
        assert set(scale) == SCALE_KEYS, name
        assert isinstance(scale["n"], int) and scale["n"] == 500
        assert len(scale["alpha_ci"]) == 2 and scale["ci_method"] == "feldt"
        assert scale["alpha_ci"][0] < scale["alpha"] < scale["alpha_ci"][1]
        assert list(scale["items"]) == list(inst.scales[name])
        for item in scale["items"].values():
            assert set(item) == ITEM_KEYS
    ref = json.loads((REF_DIR / "reliability.json").read_text())["jse_listwise"]
    total = data["scales"]["total"]
    assert abs(total["std_alpha"] - ref["std_alpha"]) < 1e-6
    assert abs(total["lambda6"] - ref["lambda6"]) < 1e-6
    assert abs(total["average_r"] - ref["average_r"]) < 1e-6


def test_bootstrap_options_and_no_progress_output_off_a_terminal(tmp_path):
    path = _write_jse(tmp_path)
    args = [str(path), "-i", "jse-s", "--ci", "bootstrap", "--n-boot", "300", "--seed", "7",
            "--format", "json"]
    first = CliRunner().invoke(reliability, args)
    second = CliRunner().invoke(reliability, args)
    assert first.exit_code == 0, first.output
    assert first.stderr == ""  # no bar, no warnings: CliRunner's stderr is not a terminal
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a == b  # --seed makes the bootstrap reproducible
    assert a["scales"]["total"]["ci_method"] == "bootstrap"
    lo, hi = a["scales"]["total"]["alpha_ci"]
    assert lo < a["scales"]["total"]["alpha"] < hi


def test_help_shows_examples_and_options():
    result = CliRunner().invoke(reliability, ["--help"])
    assert result.exit_code == 0
    for text in ("empathy reliability survey.csv -i jse-s", "--ci", "--n-boot", "--seed",
                 "feldt|bootstrap|bca"):
        assert text in result.stdout


def test_degenerate_data_warns_on_stderr_without_traceback(tmp_path):
    path = _write_jse(tmp_path)
    import pandas as pd

    frame = pd.read_csv(path)
    frame["JSE4"] = frame["JSE2"]  # perfectly collinear items
    frame.to_csv(path, index=False)
    result = CliRunner().invoke(reliability, [str(path), "-i", "jse-s", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "Warning: scale 'perspective_taking': perfectly collinear items" in result.stderr
    json.loads(result.stdout)
    frame["JSE4"] = 3  # constant item: an error, exit 2
    frame.to_csv(path, index=False)
    result = CliRunner().invoke(reliability, [str(path), "-i", "jse-s"])
    assert result.exit_code == 2
    assert "JSE4" in result.output and "constant" in result.output
    assert "Traceback" not in result.output


def test_subprocess_json(tmp_path):
    path = _write_jse(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "reliability", str(path), "-i", "jse-s",
         "--ci", "bca", "--n-boot", "200", "--seed", "3", "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)
    assert data["scales"]["total"]["ci_method"] == "bca"
