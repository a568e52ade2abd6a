"""Figures written as SVG in a second process (report/_pool.py): same bytes, same notes."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.artist import Artist

from empathy_metrics.report import build_report, builder
from empathy_metrics.report._pool import FigurePool
from empathy_metrics.report.sections import SectionSpec, section_specs

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"
OPTIONS = {"invariance": False, "parallel_iter": 5}

pytestmark = pytest.mark.skipif(not FigurePool().parallel,
                                reason="needs the fork start method and two CPUs")


class Boom(Artist):
    """An artist whose drawing fails (as a figure that cannot be written)."""

    def draw(self, renderer):  # noqa: ANN001
        raise ValueError("cannot draw this")


class Careful(Artist):
    def draw(self, renderer):  # noqa: ANN001
        warnings.warn("a warning while writing", UserWarning, stacklevel=1)


def _html_without_times(rep) -> str:
    import re

    html = rep.to_html()
    html = re.sub(r"Generated [^<]*", "", html)
    return re.sub(r"<td class=\"txt\">(Date|Analysis time)</td><td class=\"txt\">[^<]*", "",
                  html)


def test_parallel_figures_are_the_serial_bytes(monkeypatch):
    specs = [s for s in section_specs() if s.id in ("summary", "scores", "items",
                                                    "structure")]
    monkeypatch.setattr(builder, "section_specs", lambda: specs)
    frame = pd.read_csv(DATA)
    kw = dict(time="year", id="id", cohort="cohort", group="gender", progress=False,
              options=OPTIONS)
    par = build_report(frame, "jse-s", parallel=True, **kw)
    ser = build_report(frame, "jse-s", parallel=False, **kw)
    assert len(par.figures) >= 6
    assert [(f.name, f.uri) for f in par.figures] == [(f.name, f.uri) for f in ser.figures]
    assert all(f.uri.startswith("data:image/svg+xml;base64,") for f in par.figures)
    assert [s.notes for s in par.sections] == [s.notes for s in ser.sections]
    assert _html_without_times(par) == _html_without_times(ser)


def _figures_section(ctx, section):
    from empathy_metrics._figure import Figure

    def fig(*artists, unpicklable=False):
        def draw():
            f = Figure(figsize=(3, 2))
            ax = f.subplots()
            ax.plot([1, 2, 3], [3, 1, 2])
            for a in artists:
                f.add_artist(a)
            if unpicklable:
                f.not_sent = lambda: None  # a lambda cannot be pickled
            return f
        return draw

    ctx.fig(section, "Good figure", fig(), "good", "A good figure.", "good")
    ctx.fig(section, "Broken figure", fig(Boom()), "broken", "Never shown.", "broken")
    ctx.fig(section, "Careful figure", fig(Careful()), "careful", "Shown.", "careful")
    ctx.fig(section, "Local figure", fig(unpicklable=True), "local", "Shown.", "local")


@pytest.mark.parametrize("parallel", [True, False])
def test_a_figure_that_fails_is_a_note_and_warnings_are_notes(monkeypatch, parallel):
    spec = SectionSpec("figs", 10, lambda ctx: "Figures", _figures_section)
    monkeypatch.setattr(builder, "section_specs", lambda: [spec])
    rep = build_report(pd.read_csv(DATA), "jse-s", time="year", progress=False,
                       parallel=parallel)
    sec = rep.section("figs")
    assert [f.name for f in sec.figures] == ["good", "careful", "local"]
    assert all(f.uri.startswith("data:image/svg+xml;base64,") for f in sec.figures)
    assert [f.number for f in sec.figures] == [1, 2, 3]
    assert any(n.startswith("Broken figure could not be run (ValueError: cannot draw this")
               for n in sec.notes), sec.notes
    assert "Careful figure: a warning while writing" in sec.notes
