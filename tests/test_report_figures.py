"""A report figure as SVG (report/_tables.Figure.from_matplotlib): one draw, savefig's bytes."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from matplotlib.layout_engine import ConstrainedLayoutEngine

from empathy_metrics import plots
from empathy_metrics._figure import Figure as PlotFigure
from empathy_metrics.cohorts import trend
from empathy_metrics.report._tables import Figure

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"


@pytest.fixture(scope="module")
def result():
    return trend(pd.read_csv(DATA), "jse-s", time="year", id="id", cohort="cohort", mixed=False)


def _svg(figure: Figure) -> bytes:
    return base64.b64decode(figure.uri.split(",", 1)[1])


def _counting(monkeypatch, cls, name):  # noqa: ANN001
    calls = []
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        calls.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, wrapper)
    return calls


@pytest.mark.parametrize("draw", [lambda r: plots.trend_plot(r),
                                  lambda r: plots.histogram_plot(r, "total")],
                         ids=["trend", "histogram"])
def test_a_laid_out_figure_is_drawn_once_and_laid_out_once(result, monkeypatch, draw):
    fig = draw(result)
    assert fig.get_layout_engine() is not None
    draws = _counting(monkeypatch, PlotFigure, "draw")
    layouts = _counting(monkeypatch, ConstrainedLayoutEngine, "execute")
    out = Figure.from_matplotlib(fig, "trend", "caption", "alt")
    assert draws == ["Figure"]  # savefig would draw twice
    assert layouts == ["ConstrainedLayoutEngine"]
    assert _svg(out).startswith(b"<?xml")


def test_the_single_draw_gives_savefigs_bytes_and_leaves_the_figure_as_it_was(result):
    fig = plots.trend_plot(result)
    canvas, dpi, engine = fig.canvas, fig.dpi, fig.get_layout_engine()
    out = _svg(Figure.from_matplotlib(fig, "trend", "caption", "alt"))
    assert fig.canvas is canvas and fig.dpi == dpi and fig.get_layout_engine() is engine
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "trend"}):
        plots.trend_plot(result).savefig(buf, format="svg", metadata={"Date": None})
    assert out == buf.getvalue()
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # still shows in a notebook


def test_a_figure_without_layout_engine_is_cropped_tight(result):
    fig = PlotFigure(figsize=(3, 2))
    fig.subplots().set_title("a title wider than the figure is cropped in, not cut")
    out = _svg(Figure.from_matplotlib(fig, "plain", "caption", "alt"))
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "plain"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    assert out == buf.getvalue()
