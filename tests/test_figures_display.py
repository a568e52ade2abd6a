"""Figures in notebooks: shown as the last expression of a cell in a fresh kernel (no
``%matplotlib``), saved with ``savefig``, multi-panel plots wrap, no text is clipped."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from nbclient import NotebookClient

from empathy_metrics import plots
from empathy_metrics._figure import Figure, wrap_text
from empathy_metrics.cohorts import item_change, reliability_by_time, trend
from empathy_metrics.errors import InputError

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def result(raw):
    return trend(raw, "jse-s", time="year", id="id", cohort="cohort", mixed=False)


def _all_figures(raw, result):
    from empathy_metrics.efa import efa

    fa = efa(raw[raw.year == 1], "jse-s", n_factors=3, n_iter=10, seed=1)
    return {
        "trend": plots.trend_plot(result),
        "trend_total": plots.trend_plot(result, scales=["total"]),
        "cohort": plots.cohort_plot(result, "standing_in_patients_shoes"),
        "distribution": plots.distribution_plot(result, "standing_in_patients_shoes"),
        "histogram": plots.histogram_plot(result, "total"),
        "items": plots.item_change_heatmap(item_change(raw, "jse-s", time="year")),
        "scree": plots.scree_plot(fa),
        "loadings": plots.loadings_heatmap(fa),
        "alpha": plots.alpha_plot(reliability_by_time(raw, "jse-s", time="year")),
    }


def test_every_plot_displays_saves_and_keeps_its_text_inside(raw, result, tmp_path):
    for name, fig in _all_figures(raw, result).items():
        assert isinstance(fig, Figure), name
        png = fig._repr_png_()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", name
        for fmt in ("png", "svg", "pdf"):
            out = tmp_path / f"{name}.{fmt}"
            fig.savefig(out)
            assert out.stat().st_size > 1000, (name, fmt)
        fig.canvas.draw()  # the layout as the notebook's PNG has it
        renderer = fig.canvas.get_renderer()
        # everything drawn (titles, labels, drawn tick labels, legends, annotations), inches
        tight = fig.get_tightbbox(renderer)
        width, height = fig.get_size_inches()
        clipped = [t.get_text() for t in fig.findobj(Text)
                   if t.get_visible() and t.get_text().strip() and t.axes is None
                   and not fig.bbox.contains(*t.get_window_extent(renderer).min)]
        assert (tight.x0 >= -0.01 and tight.y0 >= -0.01 and tight.x1 <= width + 0.01
                and tight.y1 <= height + 0.01), f"{name}: drawn beyond the figure {tight} " \
            f"({width} x {height} in) {clipped}"


def test_the_long_title_of_one_panel_wraps_instead_of_being_cut(result):
    fig = plots.trend_plot(result, scales=["total"])
    fig._repr_png_()
    title = fig._suptitle.get_text()
    assert "\n" in title and title.replace("\n", " ").startswith(result.instrument.name)
    assert wrap_text("short", 4, 12) == "short"


def test_titles_at_their_fixed_height_sit_clear_above_the_panel(raw, result):
    # the plots place titles at y=1 (no automatic placement, which costs a measuring of every
    # axis at each layout pass): nothing of the panel (top ticks, offset text) may reach them
    for name, fig in _all_figures(raw, result).items():
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            below = [ax.xaxis.get_tightbbox(renderer), ax.yaxis.get_tightbbox(renderer)]
            for title in (ax.title, ax._left_title, ax._right_title):
                if not title.get_text():
                    continue
                box = title.get_window_extent(renderer)
                assert box.y0 >= ax.bbox.y1, (name, title.get_text())
                assert not any(b is not None and b.height > 0 and box.overlaps(b)
                               for b in below), (name, title.get_text())

def test_multi_panel_plots_wrap_into_rows(result):
    def grid(fig):
        spec = fig.axes[0].get_subplotspec().get_gridspec()
        return spec.nrows, spec.ncols, len(fig.axes)

    assert grid(plots.trend_plot(result)) == (2, 2, 4)  # four scales: 2 x 2, not 1 x 4
    assert grid(plots.trend_plot(result, ncols=1)) == (4, 1, 4)
    assert grid(plots.trend_plot(result, ncols=3)) == (2, 3, 4)  # the empty cells removed
    assert grid(plots.trend_plot(result, scales=["total"], ncols=3)) == (1, 1, 1)
    fig = plots.trend_plot(result, ncols=4)
    assert fig.get_figwidth() == pytest.approx(4 * 4.2)
    for bad in (0, -1, 1.5, "2"):
        with pytest.raises(InputError, match="ncols"):
            plots.trend_plot(result, ncols=bad)


def test_a_figure_shows_once_in_a_fresh_kernel_without_matplotlib_magic(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import pandas as pd\nimport empathy_metrics as em\n"
            "from empathy_metrics import plots\n"
            f"tr = em.trend(pd.read_csv({str(DATA)!r}), 'jse-s', time='year', mixed=False)"),
        nbformat.v4.new_code_cell("plots.trend_plot(tr, scales=['total'])"),
        nbformat.v4.new_code_cell("fig = plots.trend_plot(tr)\nfig.savefig('trend.png')\n"
                                  "import sys\n'matplotlib.pyplot' in sys.modules"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [out for out in nb.cells[1].outputs
             if out.output_type in ("execute_result", "display_data")]
    assert len(shown) == 1 and "image/png" in shown[0]["data"]  # a picture, exactly once
    assert shown[0]["data"]["image/png"]  # base64 of the PNG
    last = nb.cells[2].outputs
    assert [o["data"]["text/plain"] for o in last if o.output_type == "execute_result"] == [
        "False"]  # no pyplot state: nothing shown twice, nothing left open
    assert not [o for o in last if o.output_type == "display_data"]
    assert (tmp_path / "trend.png").read_bytes()[:4] == b"\x89PNG"
    assert np.all([c.cell_type == "code" for c in nb.cells])
