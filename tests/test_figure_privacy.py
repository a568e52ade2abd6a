"""Figures follow the table rule (issue 8 item 3): no drawn mark encodes a score that fewer
than min_cell respondents share. Checked on the SVG the report embeds, with data built so that
Tukey whiskers would sit on single students' scores."""

from __future__ import annotations

import base64
import re
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from empathy_metrics.cohorts import trend
from empathy_metrics.instruments import load_instrument
from empathy_metrics.suppression import protected_whiskers

INST = load_instrument("jse-s")
MIN_CELL = 10
#: per year: scores shared by 12 students each, and four students with a score of their own
#: inside the Tukey fences (Q1 - 1.5 IQR, Q3 + 1.5 IQR), so that Tukey whiskers would end on
#: two of them
YEARS = {1: ([100, 105, 110], [86, 91, 119, 124]), 2: ([101, 106, 111], [87, 93, 118, 126])}


def _answers(total: int) -> list[int]:
    """20 JSE-S answers whose keyed sum is ``total``."""
    q, r = divmod(total, 20)
    keyed = [q + 1] * r + [q] * (20 - r)
    return [8 - v if item in INST.reverse_items else v
            for item, v in zip(INST.item_ids, keyed, strict=True)]


def exposing_data() -> pd.DataFrame:
    rows = []
    for year, (shared, single) in YEARS.items():
        totals = [s for s in shared for _ in range(12)] + single
        for k, total in enumerate(totals):
            rows.append({"student_id": f"S{year}{k:02d}", "year": year,
                         **dict(zip(INST.item_ids, _answers(total), strict=True))})
    return pd.DataFrame(rows)


def rare_scores(frame: pd.DataFrame) -> np.ndarray:
    """Scores held by 1 .. min_cell - 1 respondents."""
    from empathy_metrics.scoring import score

    totals = score(frame, INST).scores["total"]
    counts = totals.value_counts()
    return np.sort(counts[(counts > 0) & (counts < MIN_CELL)].index.to_numpy(dtype=float))


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def drawn_values(svg: bytes) -> np.ndarray:
    """The y data value of every point drawn inside the axes of a one-panel matplotlib SVG:
    path vertices and marker positions, mapped through the y tick positions and labels."""
    root = ET.fromstring(svg, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    ns = {"s": "http://www.w3.org/2000/svg", "x": "http://www.w3.org/1999/xlink"}
    ticks = []
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if re.fullmatch(r"ytick_\d+", g.get("id", "")):
            use = g.find(".//s:use", ns)
            label = [c.text for c in g.iter() if c.tag is ET.Comment]
            if use is not None and label:
                ticks.append((float(use.get("y")), float(label[0].strip().replace("\u2212", "-"))))
    assert len(ticks) >= 2, "no y ticks found"
    (y1, v1), (y2, v2) = ticks[0], ticks[-1]
    scale = (v2 - v1) / (y2 - y1)
    ys: list[float] = []
    axes = root.find(".//s:g[@id='axes_1']", ns)
    for child in axes:
        gid = child.get("id", "")
        if gid.startswith(("matplotlib.axis", "text_")):
            continue  # tick marks and their labels: positions on the scale, not data
        for el in child.iter():
            if not isinstance(el.tag, str):
                continue  # a comment
            if el.tag.endswith("path") and el.get("d") and not el.get("id"):
                nums = _numbers(el.get("d"))
                ys += nums[1::2]
            elif el.tag.endswith("use") and el.get("y") is not None:
                ys.append(float(el.get("y")))
    return v1 + (np.array(ys) - y1) * scale


def test_protected_whiskers_are_tail_means_inside_the_box():
    y = np.array([100.0] * 12 + [105.0] * 12 + [110.0] * 12 + [86, 91, 119, 124])
    lo, hi = protected_whiskers(y, MIN_CELL)
    assert lo == pytest.approx((86 + 91 + 8 * 100) / 10)
    assert hi == pytest.approx((119 + 124 + 8 * 110) / 10)
    small = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])  # tails overlap: clamp to box
    lo, hi = protected_whiskers(small, MIN_CELL)
    assert np.percentile(small, 25) >= lo and hi >= np.percentile(small, 75)
    assert np.isnan(protected_whiskers(small[:5], MIN_CELL)).all()


@pytest.fixture(scope="module")
def exposed_report(tmp_path_factory):
    from empathy_metrics.report import build_report

    frame = exposing_data()
    rep = build_report(frame, "jse-s", time="year", id="student_id", min_cell=MIN_CELL,
                       options={"invariance": False, "parallel_iter": 5})
    return frame, rep, rep.to_html()


def _embedded_svg(html: str, name: str) -> bytes:
    m = re.search(rf'data-figure="{name}".*?src="data:image/svg\+xml;base64,([^"]+)"', html,
                  re.S)
    assert m, f"figure {name} not embedded"
    return base64.b64decode(m.group(1))


def test_report_box_plot_draws_no_single_students_score(exposed_report):
    frame, rep, html = exposed_report
    rare = rare_scores(frame)
    assert set(rare) >= {86.0, 124.0, 87.0, 126.0}
    svg = _embedded_svg(html, "distribution_total")
    values = drawn_values(svg)
    assert values.size > 20
    gaps = np.abs(values[:, None] - rare[None, :]).min(axis=1)
    assert gaps.min() > 0.05, values[gaps.argmin()]
    # the shared quartiles are drawn (the check above can see a value when it is there)
    assert np.abs(values - 100.0).min() < 0.05 and np.abs(values - 110.0).min() < 0.05
    caption = re.search(r'data-figure="distribution_total".*?<figcaption>(.*?)</figcaption>',
                        html, re.S).group(1)
    assert f"mean of the {MIN_CELL} lowest" in caption


def test_tukey_whiskers_would_have_been_caught():
    """The same check flags a box plot whose whiskers end on single scores."""
    import io

    from empathy_metrics._figure import Figure

    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.bxp([{"med": 105, "q1": 100, "q3": 110, "whislo": 86, "whishi": 124, "fliers": []}])
    ax.set_ylim(20, 140)
    buf = io.BytesIO()
    fig.savefig(buf, format="svg")
    values = drawn_values(buf.getvalue())
    assert np.abs(values - 86).min() < 0.05 and np.abs(values - 124).min() < 0.05


def test_individual_points_only_by_explicit_opt_in():
    from empathy_metrics.plots import distribution_plot

    result = trend(exposing_data(), INST, time="year", min_cell=MIN_CELL)
    fig = distribution_plot(result)
    assert not [a for a in fig.axes[0].collections if a.get_gid() == "points"]
    fig = distribution_plot(result, points=True)
    assert [a for a in fig.axes[0].collections if a.get_gid() == "points"]
    assert "individual scores" in fig.axes[0].get_title()
