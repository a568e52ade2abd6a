"""``empathy efa`` through click's runner and through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cli.efa_cmd import efa as efa_command
from empathy_metrics.efa import efa
from empathy_metrics.instruments import load_instrument


def _survey(path: Path, n: int = 300, seed: int = 4) -> Path:
    """Three-factor JSE-S-like answers on 1..7, reverse-worded items answered in reverse."""
    inst = load_instrument("jse-s")
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 3))
    raw = np.clip(np.round(4 + np.repeat(f, [7, 7, 6], axis=1) + rng.standard_normal((n, 20))),
                  1, 7)
    rev = np.array([item in inst.reverse_items for item in inst.item_ids])
    raw[:, rev] = 8 - raw[:, rev]
    frame = pd.DataFrame(raw.astype(int), columns=inst.item_ids)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _survey(tmp_path_factory.mktemp("efa") / "survey.csv")


def test_json_output_matches_the_library(survey: Path) -> None:
    result = CliRunner().invoke(
        efa_command,
        [str(survey), "-i", "jse-s", "--n-factors", "3", "--rotation", "promax", "--seed", "1",
         "--n-iter", "50", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    expected = efa(pd.read_csv(survey), "jse-s", 3, rotation="promax", n_iter=50, seed=1)
    assert got == json.loads(expected.to_json())
    assert got["n_factors"] == 3 and got["rotation"] == "promax"


def test_table_output_and_default_n_factors(survey: Path) -> None:
    result = CliRunner().invoke(efa_command, [str(survey), "-i", "jse-s", "--n-iter", "100",
                                              "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "Exploratory factor analysis" in result.stdout
    assert "3 factor(s), minres extraction, oblimin rotation" in result.stdout
    assert "Loadings" in result.stdout and "KMO" in result.stdout


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(efa_command, ["--help"])
    assert result.exit_code == 0
    assert "empathy efa survey.csv -i jse-s" in result.stdout


def test_bad_input_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    _survey(path, n=300)
    frame = pd.read_csv(path)
    frame["JSE4"] = 5  # constant item
    frame.to_csv(path, index=False)
    result = CliRunner().invoke(efa_command, [str(path), "-i", "jse-s", "--n-iter", "10"])
    assert result.exit_code == 2
    assert "JSE4" in result.output and "Traceback" not in result.output


def test_real_subprocess(survey: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "efa", str(survey), "-i", "jse-s",
         "--n-factors", "2", "--method", "ml", "--rotation", "varimax", "--n-iter", "20",
         "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["method"] == "ml" and out["n_factors"] == 2
    assert out["factor_correlations"] == [[1.0, 0.0], [0.0, 1.0]]

    bad = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "efa", str(survey), "-i", "jse-s",
         "--n-factors", "25"],
        capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode == 2
    assert "n_factors" in bad.stderr and "Traceback" not in bad.stderr


def test_json_shape_is_the_documented_interface(survey: Path) -> None:
    result = CliRunner().invoke(
        efa_command,
        [str(survey), "-i", "jse-s", "--n-iter", "50", "--seed", "1", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no progress bar off a terminal
    got = json.loads(result.stdout)
    required = {"n", "kmo", "kmo_items", "bartlett", "eigenvalues", "parallel", "n_factors",
                "method", "rotation", "loadings", "communalities", "factor_correlations"}
    assert required <= set(got)
    items = load_instrument("jse-s").item_ids
    k = got["n_factors"]
    assert isinstance(got["n"], int) and got["n"] == 300
    assert isinstance(k, int) and got["parallel"]["n_factors"] == k  # chosen by parallel analysis
    assert set(got["bartlett"]) == {"chi2", "df", "p"} and got["bartlett"]["df"] == 190
    assert list(got["kmo_items"]) == items and list(got["communalities"]) == items
    assert list(got["loadings"]) == items and all(len(v) == k for v in got["loadings"].values())
    assert len(got["eigenvalues"]) == 20
    assert np.array(got["factor_correlations"]).shape == (k, k)
    assert (got["method"], got["rotation"]) == ("minres", "oblimin")


def test_help_lists_options() -> None:
    result = CliRunner().invoke(efa_command, ["--help"])
    for text in ("--n-factors", "--method", "minres|ml|pa", "--rotation",
                 "oblimin|promax|varimax|geomin|none", "--correlation", "pearson|polychoric"):
        assert text in result.stdout


def test_non_positive_definite_polychoric_is_exit_2(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    f = rng.standard_normal((30, 1))
    raw = np.clip(np.round(4 + 1.5 * f + 0.6 * rng.standard_normal((30, 20))), 1, 7)
    inst = load_instrument("jse-s")
    frame = pd.DataFrame(raw.astype(int), columns=inst.item_ids)
    for item in inst.reverse_items:
        frame[item] = 8 - frame[item]
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    result = CliRunner().invoke(efa_command, [str(path), "-i", "jse-s", "--n-factors", "1",
                                              "--correlation", "polychoric", "--n-iter", "10"])
    assert result.exit_code == 2
    assert "polychoric correlation matrix" in result.output
    assert "--correlation pearson" in result.output and "Traceback" not in result.output
