"""Figures written as SVG in a second process (report/_pool.py): same bytes, same notes."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import warnings
from functools import partial
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
    specs = [s for s in section_specs() if s.id in ("summary", "scores", "items", "factors",
                                                    "comparability")]
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


class Unsendable(ValueError):
    """An error whose pickle cannot be loaded (a required argument): drawn again here."""

    def __init__(self, what, why):
        super().__init__(f"{what}: {why}")


def _drawing(kind):
    from empathy_metrics._figure import Figure

    f = Figure(figsize=(3, 2))
    ax = f.subplots()
    ax.plot([1, 2, 3], [3, 1, 2])
    ax.set_title("mean by year")
    if kind == "broken":
        raise ValueError("no data to draw")
    if kind == "unsendable":
        raise Unsendable("draw", "cannot travel")
    if kind == "careful":
        warnings.warn("a warning while drawing", UserWarning, stacklevel=1)
    return f


def _picklable_section(ctx, section):
    for kind in ("good", "broken", "careful", "unsendable"):
        ctx.fig(section, f"{kind} figure", partial(_drawing, kind), kind, "A figure.", kind)


def test_picklable_figures_are_drawn_in_the_worker_with_the_serial_notes(monkeypatch):
    spec = SectionSpec("figs", 10, lambda ctx: "Figures", _picklable_section)
    monkeypatch.setattr(builder, "section_specs", lambda: [spec])
    frame = pd.read_csv(DATA)
    par, ser = (build_report(frame, "jse-s", time="year", progress=False, parallel=p,
                             labels={"columns": {"year": "Training year"}})
                for p in (True, False))
    a, b = par.section("figs"), ser.section("figs")
    assert [(f.name, f.uri) for f in a.figures] == [(f.name, f.uri) for f in b.figures]
    assert [f.name for f in a.figures] == ["good", "careful"]
    assert a.notes == b.notes
    assert "broken figure could not be run (ValueError: no data to draw)." in a.notes
    assert "unsendable figure could not be run (Unsendable: draw: cannot travel)." in a.notes
    assert "careful figure: a warning while drawing" in a.notes
    svg = base64.b64decode(a.figures[0].uri.split(",")[1]).decode()
    assert "training year" in svg  # the display labels were applied in the worker
    assert "good figure" in par.timings and "careful figure" in par.timings


def test_the_main_process_needs_neither_matplotlib_nor_scipy_stats_and_times_the_figures():
    code = f"""
import sys
from concurrent.futures import Future
import pandas as pd
Future.cancel = lambda self: False  # nothing taken back (that would draw here)
from empathy_metrics.report import build_report
from empathy_metrics.report._pool import FigurePool
rep = build_report(pd.read_csv({str(DATA)!r}), "jse-s", time="year", id="id",
                   cohort="cohort", progress=False, options={OPTIONS!r})
assert FigurePool().parallel
assert len(rep.figures) >= 6 and all(f.uri for f in rep.figures)
print(sorted(m for m in sys.modules if m.startswith("matplotlib") or m == "scipy.stats"))
value = rep.provenance["Analysis time"]
wait = rep.timings["Figures (written in a second process)"]
print(value.endswith(" s (analyses and figures)"), float(value.split()[0]) >= wait - 0.05)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True True"], out.stdout + out.stderr


DRAWN_HERE: list[str] = []


def _slow_or_quick(kind):
    import time

    DRAWN_HERE.append(kind)  # in the process that draws: the worker's copy or this one's
    if kind == "slow":
        time.sleep(2.0)
    return _drawing("good" if kind != "broken" else "broken")


def _queued_section(ctx, section):
    for kind in ("slow", "q1", "q2", "broken", "q3", "q4"):
        ctx.fig(section, f"{kind} figure", partial(_slow_or_quick, kind), kind, "A figure.",
                kind)


def test_figures_the_worker_has_not_started_are_drawn_here_in_order(monkeypatch):
    from empathy_metrics.report import _pool

    # one worker, busy with "slow": what it has not started is certain (with two, the second
    # worker may start some of the quick ones before the take-back, depending on the load)
    monkeypatch.setattr(_pool, "WORKERS", 1)
    spec = SectionSpec("figs", 10, lambda ctx: "Figures", _queued_section)
    monkeypatch.setattr(builder, "section_specs", lambda: [spec])
    frame = pd.read_csv(DATA)
    DRAWN_HERE.clear()
    par = build_report(frame, "jse-s", time="year", progress=False, parallel=True)
    taken = list(DRAWN_HERE)
    ser = build_report(frame, "jse-s", time="year", progress=False, parallel=False)
    assert "slow" not in taken and {"q3", "q4"} <= set(taken)  # the worker sleeps meanwhile
    a, b = par.section("figs"), ser.section("figs")
    assert [f.name for f in a.figures] == ["slow", "q1", "q2", "q3", "q4"]
    assert [(f.name, f.uri) for f in a.figures] == [(f.name, f.uri) for f in b.figures]
    assert a.notes == b.notes == ["broken figure could not be run (ValueError: no data to draw)."]


def _structure_like(kind):
    def build(ctx, section):
        import os

        section.para(f"built in {'this process' if os.getpid() == PARENT[0] else 'a child'}")
        ctx.run(section, "An analysis", lambda: 1)
        if kind == "error":
            raise ValueError("the structure failed")
        if kind == "unsendable":
            import threading

            return threading.Lock()  # cannot be pickled: built again here
        if kind == "dies" and os.getpid() != PARENT[0]:
            os._exit(5)
        return {"verdict": kind, "render": lambda r: f"{kind}:{r}"}
    return build


def _summary_like(ctx, section):
    res = ctx.results["comparability"]
    section.para(res["render"]("x") if isinstance(res, dict) else type(res).__name__)


PARENT: list[int] = []


@pytest.mark.parametrize("kind", ["ok", "error", "unsendable", "dies"])
def test_the_comparability_section_is_built_in_a_child_with_the_same_result(monkeypatch, kind):
    import os

    PARENT[:] = [os.getpid()]
    spec = SectionSpec("comparability", 120, lambda ctx: "Comparability",
                       _structure_like(kind))
    after = SectionSpec("summary", 10, lambda ctx: "Summary", _summary_like,
                        needs=("comparability",))
    monkeypatch.setattr(builder, "section_specs", lambda: [after, spec])
    frame = pd.read_csv(DATA)
    if kind == "error":
        with pytest.raises(ValueError, match="the structure failed"):
            build_report(frame, "jse-s", time="year", progress=False)
        return
    rep = build_report(frame, "jse-s", time="year", progress=False)
    where = {"ok": "a child", "unsendable": "this process", "dies": "this process"}[kind]
    assert rep.section("comparability").blocks == [("p", f"built in {where}")]
    assert "An analysis" in rep.timings
    summary = rep.section("summary").blocks
    assert summary == [("p", {"ok": "ok:x", "dies": "dies:x", "unsendable": "lock"}[kind])]


def test_workers_started_early_are_taken_over_or_stopped():
    """The command line forks the figure workers before the library is imported
    (workers_started_early): the report's pool takes them over, warm; unused, they stop at
    the end of the block; the report package itself loads without the analyses."""
    from empathy_metrics.report import _pool

    with _pool.workers_started_early():
        early = _pool._EARLY[0]
        workers = early._workers
        assert workers is not None and len(workers.warming) == _pool.WORKERS
        pool = FigurePool(parallel=True)
        assert pool._workers is workers and early._workers is None
        assert FigurePool(parallel=True)._workers is None  # taken once
        pool.close()
    assert not _pool._EARLY
    with _pool.workers_started_early():
        workers = _pool._EARLY[0]._workers
        pids = [f.result(timeout=60) for f in workers.warming]
        assert len(set(pids)) == _pool.WORKERS
    for pid in pids:  # nobody took them: stopped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    code = ("import sys, empathy_metrics.report._pool; "
            "print(sorted(m for m in sys.modules if m.startswith(('scipy', 'matplotlib')) "
            "or m.endswith(('builder', 'cohorts'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_commands_build_the_report_with_the_workers_started_early(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from empathy_metrics.cli import cli
    from empathy_metrics.report import _pool

    seen = []
    real = FigurePool.__init__

    def spy(self, parallel=True):
        seen.append(bool(_pool._EARLY) and _pool._EARLY[0]._workers is not None)
        real(self, parallel)

    monkeypatch.setattr(FigurePool, "__init__", spy)
    result = CliRunner().invoke(cli, ["report", str(DATA), "-i", "jse-s", "--time", "year",
                                      "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert seen[:2] == [False, True]  # the early pool, then the report's taking it over


def test_no_worker_can_be_started_then_every_figure_is_drawn_here(monkeypatch):
    """A machine out of processes (fork fails): the report is the serial one, not an error."""
    from empathy_metrics.report import _pool

    def cannot_fork(*args, **kwargs):
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(_pool, "Workers", cannot_fork)
    specs = [s for s in section_specs() if s.id in ("summary", "scores", "items")]
    monkeypatch.setattr(builder, "section_specs", lambda: specs)
    frame = pd.read_csv(DATA)
    kw = dict(time="year", id="id", cohort="cohort", progress=False, options=OPTIONS)
    par = build_report(frame, "jse-s", parallel=True, **kw)
    ser = build_report(frame, "jse-s", parallel=False, **kw)
    assert len(par.figures) >= 3
    assert [(f.name, f.uri) for f in par.figures] == [(f.name, f.uri) for f in ser.figures]
    assert [s.notes for s in par.sections] == [s.notes for s in ser.sections]
