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


LABEL = {"fontsize": 10, "rotation": 0, "ha": "center", "va": "center",
         "rotation_mode": "default", "fontweight": "normal", "family": "sans-serif",
         "linespacing": 1.2, "multialignment": "left"}
#: One change at a time: a layout reused for a text that differs in only that would show.
CHANGES = [{}, {"fontsize": 14}, {"rotation": 30}, {"ha": "left"}, {"va": "top"},
           {"ha": "left", "rotation": 30},
           {"ha": "left", "rotation": 30, "rotation_mode": "anchor"},
           {"fontweight": "bold"}, {"family": "serif"}, {"linespacing": 2.0},
           {"multialignment": "right"}, {}]


def _labels_figure(**change) -> PlotFigure:  # noqa: ANN003
    fig = PlotFigure(figsize=(4, 3), layout="constrained")
    ax = fig.subplots()
    ax.set_xticks([0, 1, 2], ["year 1", "year 2", "year 3"])
    ax.set_title("a title")
    ax.text(1, 0.5, "year 1\nand a longer line", **{**LABEL, **change})
    # wrapped where it meets the figure's edge: its layout depends on where it sits
    ax.text(0.3 * len(change), 0.8, "a long note that wraps at the figure's edge " * 2,
            wrap=True)
    ax.text(0, 0.2, r"$\alpha_{year}$ 1")
    return fig


def test_reused_text_layouts_give_the_bytes_of_an_uncached_draw(result):
    from empathy_metrics.report import _svg as svg_module

    svg_module._LAYOUTS.clear()
    draws = [lambda: plots.trend_plot(result), lambda: plots.histogram_plot(result, "total"),
             lambda: plots.cohort_plot(result, "total"), lambda: plots.trend_plot(result),
             *[lambda c=c: _labels_figure(**c) for c in CHANGES]]
    for k, draw in enumerate(draws):  # the layouts of earlier figures are reused by later ones
        out = _svg(Figure.from_matplotlib(draw(), f"f{k}", "caption", "alt"))
        buf = io.BytesIO()
        with matplotlib.rc_context({"svg.hashsalt": f"f{k}"}):
            draw().savefig(buf, format="svg", metadata={"Date": None})
        assert out == buf.getvalue(), k
    assert svg_module._LAYOUTS


def test_texts_are_laid_out_once_and_the_method_is_put_back(result, monkeypatch):
    from matplotlib.text import Text

    from empathy_metrics.report import _svg as svg_module

    original = Text._get_layout
    laid_out, asked = _counting_function(original), _counting_function(svg_module._cached_layout)
    monkeypatch.setattr(svg_module, "_ORIGINAL_LAYOUT", laid_out)
    monkeypatch.setattr(Text, "_get_layout", laid_out)
    monkeypatch.setattr(svg_module, "_cached_layout", asked)
    monkeypatch.setattr(svg_module, "_LAYOUTS", {})
    Figure.from_matplotlib(plots.trend_plot(result), "trend", "caption", "alt")
    assert Text._get_layout is laid_out  # put back
    assert 0 < len(laid_out.calls) <= len(asked.calls) / 3  # each text ~6 times asked
    fig = plots.trend_plot(result)
    fig.text(0.5, 0.5, "x").draw = lambda renderer: 1 / 0  # a text that cannot be drawn
    with pytest.raises(ZeroDivisionError):
        Figure.from_matplotlib(fig, "broken", "caption", "alt")
    assert Text._get_layout is laid_out


def _counting_function(function):  # noqa: ANN001, ANN202
    def counted(*args, **kwargs):  # noqa: ANN002, ANN003
        counted.calls.append(1)
        return function(*args, **kwargs)

    counted.calls = []
    return counted
