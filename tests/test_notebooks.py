"""The example notebooks run top to bottom on the demo data (so they cannot rot).

Each notebook is executed with nbclient in a fresh ``python3`` kernel, in a temporary working
folder; any cell error fails the test. The committed files must carry no outputs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: Seconds allowed per cell (each notebook as a whole runs in about 15 s).
CELL_TIMEOUT = 120

# notebook -> (number of figures, texts that must appear in the rich outputs)
EXPECTED = {
    "01-quickstart.ipynb": (0, ["respondents", "unscorable", "jse_scores.csv",
                                "Instrument(id='my-pt'"]),
    "02-psychometrics.ipynb": (3, ["Reliability", "Exploratory factor analysis",
                                   "published subscale", "alpha of the ten items",
                                   "Reliability by time",
                                   "Confirmatory factor analysis", "Measurement invariance",
                                   "Year-to-year comparisons are sound: True"]),
    "03-cohort-decline.ipynb": (4, ["Change across time", "points per year",
                                    "Group comparison", "Kruskal"]),
}


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def test_every_notebook_is_listed():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_without_outputs(name):
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [], f"{name}: outputs committed in cell {cell.source[:40]!r}"
        assert cell.execution_count is None
    assert nb.cells[0].cell_type == "markdown"  # each notebook starts by saying what it does


def _rich_text(nb: nbformat.NotebookNode) -> tuple[int, str]:
    figures, texts = 0, []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                texts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                data = out.get("data", {})
                figures += "image/png" in data
                texts.append(data.get("text/html", "") + data.get("text/plain", ""))
    return figures, "\n".join(texts)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs(name, tmp_path):
    nb = _read(name)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{name} failed:\n{exc}")
    errors = [out for cell in nb.cells for out in cell.get("outputs", [])
              if out.output_type == "error"]
    assert not errors
    n_figures, text = _rich_text(nb)
    n_expected, needles = EXPECTED[name]
    assert n_figures == n_expected
    for needle in needles:
        assert needle in text, f"{name}: {needle!r} not in the outputs"
    assert "Traceback" not in text
    assert "Empty DataFrame" not in text  # a table that silently came out empty
    # nothing written into the repository: the notebooks use temporary folders
    assert sorted(p.name for p in NOTEBOOKS.iterdir() if not p.name.startswith(".")) == sorted(
        EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebooks_need_no_matplotlib_magic_and_use_the_top_level_api(name):
    """The figures counted in test_notebook_runs come out without %matplotlib, as in a fresh
    kernel; the notebooks show the API a researcher reaches for (import empathy_metrics as em)."""
    code = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    assert "%matplotlib" not in code
    assert "import empathy_metrics as em" in code
