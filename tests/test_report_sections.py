"""The report's section registry: one module per section, found and ordered by the builder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from empathy_metrics.report import build_report, builder, sections
from empathy_metrics.report.sections import SectionSpec, build_order, section_specs

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"
ORDER = ["summary", "findings", "scores", "change", "attrition", "norms", "quality",
         "reliability", "factors", "comparability", "items", "methods"]


def test_every_section_module_is_found_in_report_order():
    specs = section_specs()
    assert [s.id for s in specs] == ORDER
    module_names = {p.stem for p in Path(sections.__file__).parent.glob("*.py")
                    if not p.stem.startswith("_")}
    assert module_names == set(ORDER)  # one module per section, named by its id


def test_sections_are_built_after_the_sections_they_need():
    order = [s.id for s in build_order(section_specs())]
    assert sorted(order) == sorted(ORDER)
    for spec in section_specs():
        for need in spec.needs:
            if need != "*":
                assert order.index(need) < order.index(spec.id), (spec.id, need)
    assert order[-1] == "methods"  # "*": its analysis time covers every other section


def test_build_order_keeps_report_order_when_nothing_is_needed():
    def spec(sid, order, needs=()):
        return SectionSpec(sid, order, lambda ctx: sid, lambda ctx, sec: None, needs)

    specs = [spec("a", 1, ("c",)), spec("b", 2), spec("c", 3), spec("z", 4, ("*",)),
             spec("d", 5)]
    assert [s.id for s in build_order(specs)] == ["b", "c", "a", "d", "z"]


def test_late_sections_and_what_needs_them_come_after_everything_else():
    """The section built in a child (and every section needing it) is collected last, so
    that this process builds the others meanwhile; "*" still comes at the very end."""
    def spec(sid, order, needs=()):
        return SectionSpec(sid, order, lambda ctx: sid, lambda ctx, sec: None, needs)

    specs = [spec("sum", 1, ("slow",)), spec("a", 2), spec("slow", 3), spec("b", 4),
             spec("uses_sum", 5, ("sum",)), spec("c", 6), spec("z", 7, ("*",))]
    assert [s.id for s in build_order(specs)] == ["a", "slow", "sum", "b", "uses_sum", "c",
                                                  "z"]
    assert [s.id for s in build_order(specs, late=("slow",))] == [
        "a", "b", "c", "slow", "sum", "uses_sum", "z"]
    real = [s.id for s in build_order(section_specs(), late=("comparability",))]
    assert real.index("items") < real.index("comparability") < real.index("summary")


def test_a_new_section_is_one_module(tmp_path, monkeypatch):
    """Dropping one module into the package adds a section, placed by its ``order``."""
    (tmp_path / "extra.py").write_text(textwrap.dedent('''
        from empathy_metrics.report._tables import Column, Table
        from empathy_metrics.report.sections import SectionSpec

        def _build(ctx, section):
            section.para(f"{len(ctx.frame)} rows by {ctx.time}.")
            frame = ctx.tr.by_time[["scale", "time", "n", "suppressed"]]
            section.add(Table("extra_counts", "Counts", frame,
                              [Column.text("time"), Column.int("n")], min_cell=ctx.min_cell))
            return "built"

        SECTION = SectionSpec("extra", 65, lambda ctx: f"Extra by {ctx.time}", _build,
                              needs=("quality",))
    '''))
    monkeypatch.setattr(sections, "__path__", [*sections.__path__, str(tmp_path)])
    specs = section_specs()
    ids = [s.id for s in specs]
    assert ids[ids.index("quality") + 1] == "extra"
    # build only the new section and the one it needs (fast), through the real builder
    monkeypatch.setattr(builder, "section_specs",
                        lambda: [s for s in specs if s.id in ("quality", "extra")])
    frame = pd.read_csv(DATA)
    rep = build_report(frame, "jse-s", time="year", progress=False)
    assert [s.id for s in rep.sections] == ["quality", "extra"]
    extra = rep.section("extra")
    assert extra.title == "Extra by year"
    assert ("p", f"{len(frame)} rows by year.") in extra.blocks
    assert [t.name for t in rep.tables][-1] == "extra_counts"
    assert 'data-table="extra_counts"' in rep.to_html()


def test_section_results_are_shared_through_the_context(monkeypatch):
    seen = {}

    def first(ctx, section):
        return 42

    def second(ctx, section):
        seen["first"] = ctx.results["first"]

    specs = [SectionSpec("second", 2, lambda ctx: "Second", second, needs=("first",)),
             SectionSpec("first", 1, lambda ctx: "First", first)]
    monkeypatch.setattr(builder, "section_specs", lambda: sorted(specs, key=lambda s: s.order))
    rep = build_report(pd.read_csv(DATA), "jse-s", time="year", progress=False)
    assert seen == {"first": 42}
    assert [s.id for s in rep.sections] == ["first", "second"]


@pytest.mark.parametrize("spec", section_specs(), ids=lambda s: s.id)
def test_every_spec_is_well_formed(spec):
    assert spec.id.isidentifier() and callable(spec.build) and callable(spec.title)
    assert all(n == "*" or n in ORDER for n in spec.needs)


def test_progress_lines_for_slow_steps_and_a_bar_in_a_terminal(capsys, monkeypatch):
    import sys

    from empathy_metrics.report._context import Progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert Progress.mode_for(None) == "off" and Progress.mode_for(True) == "lines"
    assert Progress.mode_for(False) == "off"
    with Progress("lines", 3) as bar:
        bar.update(1, "The mixed model", 2.345)
        bar.update(1, "Alpha plot", 0.2)  # under a second: no line
    err = capsys.readouterr().err
    assert err == "Building report: The mixed model (2.3 s)\n"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert Progress.mode_for(None) == "bar" and Progress.mode_for(True) == "bar"


def test_build_report_times_every_step(monkeypatch):
    _ = monkeypatch
    rep = build_report(pd.read_csv(DATA), "jse-s", time="year", progress=False,
                       options={"invariance": False, "parallel_iter": 5})
    assert {"Scoring", "Scores by time, cohort and group", "Trend plot",
            "The exploratory factor analysis"} <= set(rep.timings)
    assert all(v >= 0 for v in rep.timings.values())
