"""Each plot renders from result objects with the expected elements (inspected artists)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from empathy_metrics import plots
from empathy_metrics.cohorts import trend
from empathy_metrics.errors import InputError

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"


@pytest.fixture(scope="module")
def result():
    raw = pd.read_csv(DATA)
    # cohort 2022 has only 6 respondents in year 4: that cell (and its complements) is hidden;
    # year 4 overall keeps n >= 10
    keep = ~((raw.cohort == 2022) & (raw.year == 4)) | (raw.index % 6 == 0)
    return trend(raw[keep], "jse-s", time="year", id="id", cohort="cohort",
                 scales=["perspective_taking", "total"], mixed=False)


@pytest.fixture(scope="module")
def suppressed_year():
    raw = pd.read_csv(DATA)
    small = pd.concat([raw[raw.year < 4], raw[raw.year == 4].head(5)])
    return trend(small, "jse-s", time="year", scales=["total"], mixed=False)


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_trend_plot_elements(result, tmp_path):
    fig = plots.trend_plot(result)
    assert isinstance(fig, Figure)
    ax_pt, ax_total = fig.axes[:2]
    assert ax_total.get_title() == "Total"
    assert "possible range 20–140" in ax_total.get_ylabel()
    lo, hi = ax_total.get_ylim()
    assert 20 <= lo < hi <= 140
    n_labels = [t.get_text() for t in ax_total.texts]
    total = result.by_time[result.by_time.scale == "total"]
    assert n_labels == [f"n={int(n)}" for n in total["n"]]
    mean_line = [ln for ln in ax_total.lines if ln.get_gid() == "mean"][0]
    assert np.allclose(mean_line.get_ydata(), total["mean"].to_numpy(float))
    out = tmp_path / "trend.png"
    fig.savefig(out)
    assert out.stat().st_size > 1000 and out.read_bytes()[:4] == b"\x89PNG"


def test_suppressed_time_is_a_mark_not_a_value(suppressed_year):
    fig = plots.trend_plot(suppressed_year)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    # year 4 (small) and its complement, told apart
    assert labels.count("n < 10") == 1 and labels.count("hidden (complement)") == 1
    mean_line = [ln for ln in ax.lines if ln.get_gid() == "mean"][0]
    assert len(mean_line.get_xdata()) == 2
    assert [ln for ln in ax.lines if ln.get_gid() == "suppressed"]
    dist = plots.distribution_plot(suppressed_year)
    assert "n < 10" in _texts(dist)


def test_cohort_plot(result):
    fig = plots.cohort_plot(result)
    ax = fig.axes[0]
    assert ax.get_title() == "Total by entering cohort"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 4 and legend[0].startswith("2019 (n=")
    assert not any("n=0" in t for t in legend)
    marks = [t for t in ax.texts if t.get_gid() == "suppressed_label"]
    assert marks and "n < 10" in " ".join(t.get_text() for t in marks)
    xs = [t.xy[0] for t in marks]
    assert len(xs) == len(set(xs))  # one label per hidden time: nothing overprinted
    assert "possible range 20–140" in ax.get_ylabel() and ax.get_xlabel() == "year"
    # the 2022 line has a gap (NaN) at the hidden year-4 cell, not a value
    ct = result.cohort_trajectories
    hidden = ct[(ct.scale == "total") & ct.suppressed]
    assert ((hidden.cohort == 2022) & (hidden.time == 4)).any()
    drawn = {c.get_label(): np.asarray(c.lines[0].get_ydata(), dtype=float)
             for c in ax.containers}
    assert np.isnan(drawn[legend[3]][-1])
    # every drawn value is a shown mean; every hidden cell is a gap
    for label, ys in drawn.items():
        cells = ct[(ct.scale == "total") & (ct.cohort == int(label[:4]))].sort_values("time")
        assert np.array_equal(np.isnan(ys), cells["suppressed"].to_numpy(bool))
        assert ys[~np.isnan(ys)] == pytest.approx(cells.loc[~cells.suppressed, "mean"]
                                                  .to_numpy(float))


def test_distribution_plot(result):
    fig = plots.distribution_plot(result, "perspective_taking")
    ax = fig.axes[0]
    assert ax.get_ylim() == (10.0, 70.0)
    assert sum(t.get_text().startswith("n=") for t in ax.texts) == 4


def test_item_change_heatmap(result):
    fig = plots.item_change_heatmap(result)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["JSE1", "JSE2"]
    assert ax.images[0].get_array().shape == (20, 4)
    assert "Item mean change" in ax.get_title()


def test_scree_and_loadings_from_efa_like_result():
    parallel = SimpleNamespace(observed_pc=[3.1, 1.4, 1.1, 0.6], observed_fa=[2.6, 0.9, 0.5, 0.1],
                               simulated_pc=[1.3, 1.15, 1.0, 0.9],
                               simulated_fa=[0.4, 0.25, 0.1, 0.0], n_factors=2)
    loadings = pd.DataFrame([[0.7, 0.1], [0.6, -0.2], [0.05, 0.8]], index=["A", "B", "C"],
                            columns=["MR1", "MR2"])
    efa = SimpleNamespace(eigenvalues=np.array([3.1, 1.4, 1.1, 0.6]), parallel=parallel,
                          loadings=loadings)
    fig = plots.scree_plot(efa)
    ax = fig.axes[0]
    assert "suggests 2 factors" in ax.get_title()
    assert {ln.get_gid() for ln in ax.lines} >= {"parallel_pc", "parallel_fa"}
    fig.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)  # factor numbers, not 1.5
    fig2 = plots.loadings_heatmap(efa)
    assert "0.80" in _texts(fig2)
    with pytest.raises(InputError):
        plots.scree_plot(SimpleNamespace())


def test_alpha_plot_with_suppressed_time():
    rel = {1: SimpleNamespace(alpha=0.82, alpha_ci=(0.78, 0.86)), 2: None,
           3: SimpleNamespace(alpha=0.79, alpha_ci=(0.74, 0.84))}
    fig = plots.alpha_plot(rel)
    ax = fig.axes[0]
    assert ax.get_ylim() == (0.0, 1.0)
    assert "n < 10" in _texts(fig)
    assert len(ax.containers) == 2  # two error bars drawn


def test_errors_for_missing_parts(suppressed_year):
    with pytest.raises(InputError, match="cohort"):
        plots.cohort_plot(suppressed_year)
    with pytest.raises(InputError, match="not in the result"):
        plots.trend_plot(suppressed_year, scales=["empathy"])


def test_scree_and_loadings_from_real_efa_result():
    efa_module = pytest.importorskip("empathy_metrics.efa")
    raw = pd.read_csv(DATA)
    res = efa_module.efa(raw[raw.year == 1], "jse-s", n_factors=2, n_iter=20, seed=1)
    fig = plots.scree_plot(res)
    ax = fig.axes[0]
    observed = [ln for ln in ax.lines if ln.get_label() == "observed (FA)"][0]
    assert np.allclose(observed.get_ydata(), res.parallel.observed_fa)
    fig.canvas.draw()  # 20 items: matplotlib's default ticks were 2.5, 5.0, 7.5, ...
    assert all(float(t).is_integer() for t in ax.get_xticks())
    heat = plots.loadings_heatmap(res)
    assert heat.axes[0].images[0].get_array().shape == res.loadings.shape


def test_distribution_plot_points_and_suppression(result, suppressed_year, tmp_path):
    fig = plots.distribution_plot(result, "total", points=True)  # explicit opt-in
    ax = fig.axes[0]
    pts = [c for c in ax.collections if c.get_gid() == "points"]
    total = result.by_time[result.by_time.scale == "total"]
    assert [len(c.get_offsets()) for c in pts] == [int(n) for n in total["n"]]
    assert "possible range 20–140" in ax.get_ylabel() and ax.get_ylim() == (20.0, 140.0)
    # the drawn points are the scores, not re-computed numbers
    ys = np.sort(np.concatenate([np.asarray(c.get_offsets())[:, 1] for c in pts]))
    want = np.sort(result.scores.loc[result.scores.scale == "total", "value"].to_numpy(float))
    assert ys.tolist() == pytest.approx(want.tolist())
    hidden = plots.distribution_plot(suppressed_year, points=True)
    hax = hidden.axes[0]
    n_points = sum(len(c.get_offsets()) for c in hax.collections if c.get_gid() == "points")
    shown_n = suppressed_year.by_time.loc[~suppressed_year.by_time.suppressed, "n"].sum()
    assert n_points == shown_n  # no point of a suppressed time is drawn
    hidden_labels = [t.get_text() for t in hax.texts if not t.get_text().startswith("n=")]
    assert sorted(hidden_labels) == ["hidden (complement)", "n < 10"]
    assert len(plots.distribution_plot(result).axes[0].collections) == 0  # default: none
    out = tmp_path / "dist.png"
    fig.savefig(out)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_item_change_heatmap_n_labels_and_suppressed_column(tmp_path):
    from empathy_metrics.cohorts import item_change

    raw = pd.read_csv(DATA)
    small = pd.concat([raw[raw.year < 4], raw[raw.year == 4].head(5)])
    ic = item_change(small, "jse-s", time="year")
    fig = plots.item_change_heatmap(ic)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "1\n(n=164)"
    assert sum("hidden" in t for t in ticks) == 2  # year 4 and its complement
    assert sorted(t.get_text() for t in ax.texts) == [
        "hidden so that a small group cannot be worked out",
        "suppressed: fewer than 10 respondents"]
    arr = ax.images[0].get_array()
    assert arr.mask[:, 3].all() and not arr.mask[:, 0].any()
    assert "items 1–7" in fig.axes[1].get_ylabel()
    out = tmp_path / "items.png"
    fig.savefig(out)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_alpha_plot_from_reliability_by_time(tmp_path):
    from empathy_metrics.cohorts import reliability_by_time

    raw = pd.read_csv(DATA)
    small = pd.concat([raw[raw.year < 4], raw[raw.year == 4].head(5)])
    rb = reliability_by_time(small, "jse-s", time="year", scales=["total"])
    fig = plots.alpha_plot(rb)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("n < 10") + texts.count("hidden (complement)") == 2
    assert texts.count("n < 10") >= 1
    shown = rb.table[~rb.table.suppressed]
    assert [t for t in texts if t.startswith("n=")] == [f"n={int(n)}" for n in shown["n"]]
    drawn = [c.lines[0].get_ydata()[0] for c in ax.containers]
    assert drawn == pytest.approx(shown["alpha"].to_numpy(float))
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_title() == "Reliability by time: total"
    assert ax.get_xlabel() == "year"
    with pytest.raises(InputError, match="not in the result"):
        plots.alpha_plot(rb, scale="empathy")
    out = tmp_path / "alpha.png"
    fig.savefig(out)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_efa_plots_show_n():
    efa_module = pytest.importorskip("empathy_metrics.efa")
    raw = pd.read_csv(DATA)
    res = efa_module.efa(raw[raw.year == 1], "jse-s", n_factors=2, n_iter=20, seed=1)
    assert f"n={res.n}" in plots.scree_plot(res).axes[0].get_title()
    assert f"n={res.n}" in plots.loadings_heatmap(res).axes[0].get_title()


def test_palette_is_okabe_ito(result):
    fig = plots.trend_plot(result)
    mean_line = [ln for ln in fig.axes[0].lines if ln.get_gid() == "mean"][0]
    assert mean_line.get_color() in plots.OKABE_ITO
    cohort = plots.cohort_plot(result)
    colours = {ln.get_color() for ln in cohort.axes[0].lines
               if ln.get_gid() not in ("suppressed", "axis_break")}  # the break mark is black
    assert colours <= set(plots.OKABE_ITO)


def _bars(ax, gid: str) -> list:
    return [p for p in ax.patches if p.get_gid() == gid]


def test_histogram_plot_draws_the_protected_bins(result, tmp_path):
    from matplotlib.colors import to_hex

    fig = plots.histogram_plot(result, "total")
    order = sorted(result.times)
    assert len(fig.axes) == len(order)
    hist = result.histogram[result.histogram.scale == "total"]
    bt = result.by_time[result.by_time.scale == "total"].set_index("time")
    for ax, t in zip(fig.axes, order, strict=True):
        bins = hist[hist.time == t]
        assert ax.get_title("left") == f"year {t} (n={int(bt.loc[t, 'n'])})"
        shown = bins[~bins.suppressed]
        heights = sorted(p.get_height() for p in _bars(ax, "bin") + _bars(ax, "open_bin"))
        assert heights == sorted(shown["count"].astype(float))  # one bar per shown bin
        opens = [p for p in _bars(ax, "open_bin")]
        assert {p.get_hatch() for p in opens} == {"//"}
        labels = {tx.get_text() for tx in ax.texts if tx.get_gid() == "open_label"}
        assert labels == set(shown.loc[shown.open.notna(), "label"])
        marks = [ln for ln in ax.lines if ln.get_gid() == "suppressed"]
        assert len(marks) == int(bins.suppressed.sum())
        assert {to_hex(p.get_facecolor(), keep_alpha=False) for p in ax.patches
                if p.get_gid() in ("bin", "open_bin")} <= {c.lower() for c in plots.OKABE_ITO}
        assert ax.get_xlim()[0] == 20 and ax.get_xlim()[1] >= 140
    assert "possible range 20–140" in fig.axes[-1].get_xlabel()
    out = tmp_path / "hist.png"
    fig.savefig(out)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_histogram_plot_suppressed_time_and_bins(suppressed_year):
    from empathy_metrics.cohorts import score_histogram

    hidden = set(suppressed_year.by_time.loc[suppressed_year.by_time.suppressed, "time"])
    fig = plots.histogram_plot(suppressed_year)
    for ax, t in zip(fig.axes, sorted(suppressed_year.times), strict=True):
        if t in hidden:
            assert ax.get_title("left").endswith("suppressed")
            assert [tx.get_text() for tx in ax.texts][0] in (
                "suppressed: fewer than 10 respondents",
                "hidden so that a small group cannot be worked out")
            assert not ax.patches
        else:
            assert "n=" in ax.get_title("left") and ax.patches
    # a HistogramResult draws too; its min_cell labels the marks
    h = score_histogram(suppressed_year, bin_width=2, min_cell=20)
    fig2 = plots.histogram_plot(h)
    assert "n < 20" in fig2.get_suptitle()
    marks = sum(1 for ax in fig2.axes for ln in ax.lines if ln.get_gid() == "suppressed")
    small = h.table[(h.table.suppressed) & h.table.open.isna()]
    assert len(small) > 0 and marks == len(small)
    with pytest.raises(InputError):
        plots.histogram_plot(suppressed_year, "perspective_taking")
