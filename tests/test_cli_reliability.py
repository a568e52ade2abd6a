"""CLI tests for ``empathy reliability``."""

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from empathy_metrics.cli.reliability_cmd import reliability
from empathy_metrics.instruments import load_instrument

REF_DIR = Path(__file__).parent / "reference"


def _write_jse(tmp_path):
    import pandas as pd

    inst = load_instrument("jse-s")
    sim = pd.read_csv(REF_DIR / "data" / "jse_sim.csv")
    # simulated factors 1-3 (q1-q10, q11-q18, q19-q20) play the three jse-s subscales
    order = [i for scale, ids in inst.scales.items() if scale != "total" for i in ids]
    raw = pd.DataFrame({item: sim[f"q{i + 1}"] for i, item in enumerate(order)})
    for item in inst.reverse_items:
        raw[item] = 8 - raw[item]
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
