"""The yearly report: sections, escaping, small-cell suppression, self-containment, outputs."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from empathy_metrics.cohorts import trend
from empathy_metrics.errors import InputError
from empathy_metrics.outputs import MANIFEST_NAME
from empathy_metrics.report import build_report
from empathy_metrics.report import render as render_mod

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"
TITLE = "<script>alert(1)</script>"
LABEL = 'w&<>"omen'  # a group label with every HTML metacharacter
SECTIONS = ["summary", "findings", "scores", "change", "attrition", "norms", "quality",
            "reliability", "factors", "comparability", "items", "methods"]
#: (cohort, year) cell cut down to SMALL_N rows, below the threshold MIN_CELL
SMALL_CELL, SMALL_N, MIN_CELL = (2022, 4), 5, 10


def _data() -> pd.DataFrame:
    raw = pd.read_csv(DATA)
    raw["gender"] = raw["gender"].replace({"women": LABEL})
    cohort, year = SMALL_CELL
    cell = raw.index[(raw["cohort"] == cohort) & (raw["year"] == year)]
    return raw.drop(cell[SMALL_N:]).reset_index(drop=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    path = tmp_path_factory.mktemp("data") / "survey.csv"
    frame = _data()
    frame.to_csv(path, index=False)
    return frame, path


@pytest.fixture(scope="module")
def built(data, tmp_path_factory):
    frame, path = data
    rep = build_report(frame, "jse-s", time="year", id="id", cohort="cohort", group="gender",
                       title=TITLE, min_cell=MIN_CELL, source_path=path)
    out = tmp_path_factory.mktemp("out") / "yearly.html"
    rep.write(out)
    return rep, out, out.read_text(encoding="utf-8")


def _row_cells(html: str, table: str) -> list[list[str]]:
    """Cell texts per body row of the table with ``data-table="<table>"``."""
    m = re.search(rf'<table[^>]*data-table="{table}".*?</table>', html, re.S)
    assert m, f"table {table} not in the HTML"
    body = m.group(0).split("<tbody>")[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_every_section_with_tables_and_figures(built):
    rep, _, html = built
    assert [s.id for s in rep.sections] == SECTIONS
    for sid in SECTIONS:
        assert f'<section id="{sid}"' in html
        assert rep.section(sid).unavailable is None, (sid, rep.section(sid).unavailable)
    figures = {f.name for f in rep.figures}
    assert {"trend_total", "trend_subscales", "distribution_total", "histogram_total",
            "cohorts", "alpha", "scree", "loadings", "item_change"} <= figures
    assert html.count('<img src="data:image/svg+xml;base64,') == len(rep.figures)
    tables = {t.name for t in rep.tables}
    assert {"data_quality", "scores_by_time", "cohort_trajectories", "group_stats",
            "change_vs_reference", "mixed_model", "reliability_by_time", "efa_loadings",
            "item_change", "norms", "provenance", "cohort_differences",
            "score_distribution"} <= tables
    # the CFA and invariance come from empathy_metrics.cfa when it is installed
    if "empathy_metrics.cfa" in sys.modules:
        assert {"cfa_fit", "invariance_fit"} <= tables
        assert "comparisons" in html and "invariance" in html.lower()


def test_summary_words_use_the_trend_numbers(built, data):
    rep, _, html = built
    frame, _ = data
    tr = trend(frame, "jse-s", time="year", id="id", cohort="cohort", group="gender",
               min_cell=MIN_CELL, mixed=False)
    row = tr.by_time[(tr.by_time.scale == "total") & (tr.by_time.time == 3)].iloc[0]
    assert row.diff_vs_ref < 0 and row.diff_ci_high < 0  # the simulated drop in year 3
    want = (f"Total empathy of the students answering in year 3 was {abs(row.diff_vs_ref):.1f} "
            "points lower than that of the students answering in "
            f"year 1 (95% CI {abs(row.diff_ci_high):.1f} to {abs(row.diff_ci_low):.1f} lower; "
            f"d = \u2212{abs(row.d_vs_ref):.2f}")
    summary = " ".join(rep.section("findings").bullets)
    assert want in summary
    assert want in html


def test_text_from_data_and_options_is_escaped(built):
    _, _, html = built
    assert TITLE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert LABEL not in html
    assert "w&amp;&lt;&gt;&#34;omen" in html
    assert "<script" not in html.lower()  # the report has no script at all


def test_small_cells_never_show_their_numbers(built):
    rep, out, html = built
    cohort, year = SMALL_CELL
    label = f"suppressed: fewer than {MIN_CELL} respondents"
    rows = [r for r in _row_cells(html, "cohort_trajectories")
            if r[:2] == [str(cohort), str(year)]]
    assert len(rows) == 1 and rows[0][2:] == [label]
    # every group cell of the 4-respondent group is suppressed, as is its complement
    groups = _row_cells(html, "group_stats")
    nonbinary = [r for r in groups if r[0] == "nonbinary"]
    assert nonbinary and all(r[2:] == [label] for r in nonbinary)
    table = next(t for t in rep.tables if t.name == "cohort_trajectories")
    csv = pd.read_csv(out.with_name("yearly_tables") / table.csv_name)
    cell = csv[(csv["cohort"] == cohort) & (csv["time"] == year)]
    assert len(cell) == 4 and cell["suppressed"].all()  # every scale
    stats_cols = ["n", "mean", "sd", "ci_low", "ci_high"]
    assert cell[stats_cols].isna().all().all()
    assert "primary_suppressed" not in csv.columns  # which cell is the small one stays hidden
    from openpyxl import load_workbook

    wb = load_workbook(out.with_name("yearly_tables.xlsx"), read_only=True)
    sheet = next(ws for ws in wb.worksheets if ws.title.endswith("cohort_trajectories"))
    values = list(sheet.values)
    head = list(values[0])
    idx = {c: head.index(c) for c in ["cohort", "time", "suppressed", *stats_cols]}
    hidden = [r for r in values[1:] if r[idx["cohort"]] == cohort and r[idx["time"]] == year]
    assert len(hidden) == 4
    assert all(r[idx["suppressed"]] == "small" for r in hidden)  # the small cell itself
    assert all(r[idx[c]] is None for r in hidden for c in stats_cols)
    # the true mean of the small cell appears in no CSV and no sheet
    frame = _data()
    small = frame[(frame.cohort == cohort) & (frame.year == year)]
    from empathy_metrics.scoring import score

    true_mean = f"{score(small, 'jse-s').scores['total'].mean():.2f}"
    folder = out.with_name("yearly_tables")
    assert not any(true_mean in p.read_text() for p in folder.glob("*.csv"))


def test_suppressed_time_is_hidden_everywhere(tmp_path):
    """A year with 12 answers of which only 7 score on one subscale: suppressed (with a
    complement) in every table, and left out of the mixed model fitted on the total alone."""
    raw = pd.read_csv(DATA)
    extra = raw[raw["year"] == 4].head(12).assign(year=5)
    extra.iloc[:5, extra.columns.get_loc("JSE3")] = np.nan  # 2-item subscale: unscorable
    frame = pd.concat([raw, extra], ignore_index=True)
    frame.attrs["exclusions"] = {"survey preview": 12, "unfinished": 3}  # as read_responses
    rep = build_report(frame, "jse-s", time="year", id="id", min_cell=MIN_CELL,
                       options={"invariance": False})
    by_name = {t.name: t.data for t in rep.tables}
    scores = by_name["scores_by_time"]
    hidden_times = set(scores.loc[scores["suppressed"], "time"])
    assert 5 in hidden_times and len(hidden_times) >= 2  # the small year and its complement
    # the mixed model is fitted on the shown years only: no term, no count from a hidden one
    terms = set(by_name["mixed_model"]["term"])
    assert {f"time[{t}]" for t in hidden_times}.isdisjoint(terms)
    assert {f"time[{t}]" for t in {2, 3, 4} - hidden_times} <= terms
    shown_n = scores.loc[(scores["scale"] == "total") & ~scores["suppressed"], "n"].sum()
    assert f"{int(shown_n):,} answers" in " ".join(
        b[1] for b in rep.section("change").blocks if isinstance(b, tuple))
    ex = by_name["exclusions"].set_index("measure")
    assert ex.loc["survey preview", "count"] == 12 and not ex.loc["survey preview", "suppressed"]
    assert ex.loc["unfinished", "suppressed"] and pd.isna(ex.loc["unfinished", "count"])
    hidden = by_name["scores_by_time"].query("time == 5")
    assert len(hidden) == 4 and hidden["suppressed"].all()
    assert hidden[["n", "mean", "sd"]].isna().all().all()
    rel = by_name["reliability_by_time"].query("time == 5")
    assert len(rel) == 4 and rel["suppressed"].all() and rel["alpha"].isna().all()
    norms = by_name["norms"].query("time == 5")
    assert norms["suppressed"].all() and norms["mean_z"].isna().all()
    assert by_name["item_change"]["5"].isna().all()
    dist = by_name["score_distribution"]
    hidden_dist = dist[dist["time"].isin(hidden_times)]
    assert len(hidden_dist) == 4 * len(hidden_times) and hidden_dist["suppressed"].all()
    stats_cols = ["n", "mean", "sd", "min", "q1", "median", "q3", "max", "mode"]
    assert hidden_dist[stats_cols].isna().all().all()
    summary = " ".join(rep.section("findings").bullets)
    assert "year 5" not in summary
    page_one = " ".join(str(b) for b in rep.section("summary").blocks)
    assert "year 5" not in page_one
    html = rep.to_html()
    assert "suppressed: fewer than 10 respondents" in html


def test_self_contained_no_external_resources(built):
    _, _, html = built
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html, re.I)
    assert "@import" not in html and "<link" not in html.lower()
    srcs = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
    assert srcs and all(s.startswith("data:image/svg+xml;base64,") for s in srcs)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith("#") for h in hrefs)  # only in-page links
    # print stylesheet: sections start on a new page, figures fit the page width
    assert "@media print" in html and "break-before: page" in html
    assert re.search(r"figure img\s*\{[^}]*max-width:\s*100%", html)


def test_provenance_sha256_and_versions(built, data):
    rep, out, html = built
    _, path = data
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert rep.provenance["Input SHA-256"] == digest
    assert digest in html
    table = next(t for t in rep.tables if t.name == "provenance")
    csv = pd.read_csv(out.with_name("yearly_tables") / table.csv_name)
    assert digest in csv["value"].tolist()
    soft = rep.provenance["Software"]
    assert f"numpy {np.__version__}" in soft and f"pandas {pd.__version__}" in soft
    assert "Hojat" in rep.provenance["Instrument citation"]


def test_csv_folder_and_xlsx_hold_every_table(built):
    rep, out, _ = built
    folder = out.with_name("yearly_tables")
    names = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST_NAME)
    assert names == sorted(t.csv_name for t in rep.tables)
    from openpyxl import load_workbook

    wb = load_workbook(out.with_name("yearly_tables.xlsx"), read_only=True)
    assert len(wb.worksheets) == len(rep.tables)
    scores = next(t for t in rep.tables if t.name == "scores_by_time")
    sheet = next(ws for ws in wb.worksheets if ws.title.endswith("scores_by_time"))
    values = list(sheet.values)
    csv = pd.read_csv(folder / scores.csv_name)
    assert list(values[0]) == list(csv.columns)
    means = [r[list(values[0]).index("mean")] for r in values[1:]]
    np.testing.assert_allclose(np.array(means, dtype=float), csv["mean"].to_numpy(float),
                               rtol=1e-12)  # full precision in both


def test_notebook_display_is_a_sandboxed_frame(built):
    rep, _, _ = built
    shown = rep._repr_html_()
    assert shown.startswith('<iframe sandbox=""') and "<style>" not in shown
    assert "&amp;lt;script&amp;gt;" in shown  # the escaped title, escaped again for srcdoc


def test_xlsx_keeps_formula_like_labels_as_text(tmp_path):
    from types import SimpleNamespace

    from openpyxl import load_workbook

    from empathy_metrics.report._tables import Column, Table

    frame = pd.DataFrame({"group": ["=1+1", "@SUM(A1)"], "n": [12, 15], "suppressed": False})
    table = Table("groups", "Groups", frame, [Column.text("group"), Column.int("n")], number=1)
    render_mod._write_xlsx(SimpleNamespace(tables=[table]), tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx").worksheets[0]
    assert ws.title == "groups"  # the sheet is named as the CSV file, no number
    assert [ws.cell(row=r, column=1).value for r in (2, 3)] == ["'=1+1", "'@SUM(A1)"]
    assert [ws.cell(row=r, column=1).data_type for r in (2, 3)] == ["s", "s"]


def test_write_is_all_or_nothing(built, tmp_path, monkeypatch):
    rep, _, _ = built
    target = tmp_path / "r.html"

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(render_mod, "_write_xlsx", boom)
    with pytest.raises(OSError, match="disk full"):
        rep.write(target)
    assert list(tmp_path.iterdir()) == []  # no HTML, no CSV folder, no temporary files
    monkeypatch.undo()
    rep.write(target)
    before = {p.name for p in tmp_path.iterdir()}
    assert before == {"r.html", "r_tables", "r_tables.xlsx"}
    old = target.read_text()
    monkeypatch.setattr(render_mod, "_write_xlsx", boom)
    with pytest.raises(OSError):
        rep.write(target)
    assert {p.name for p in tmp_path.iterdir()} == before  # the earlier report is intact
    assert target.read_text() == old


def test_the_workbook_is_written_here_when_its_process_dies(built, tmp_path, monkeypatch):
    import os

    from openpyxl import load_workbook

    rep, _, _ = built
    parent, real = os.getpid(), render_mod._write_xlsx
    calls = []

    def dies_in_the_child(report, target):
        if os.getpid() != parent:
            os._exit(3)
        calls.append(target)
        real(report, target)

    monkeypatch.setattr(render_mod, "_write_xlsx", dies_in_the_child)
    rep.write(tmp_path / "r.html")
    assert load_workbook(tmp_path / "r_tables.xlsx").sheetnames == [t.name for t in rep.tables]
    assert {p.name for p in tmp_path.iterdir()} == {"r.html", "r_tables", "r_tables.xlsx"}
    assert len(calls) == 1  # written once, in this process


def test_unwritable_output_fails_before_writing(tmp_path):
    with pytest.raises(InputError, match="output folder does not exist"):
        render_mod.check_outputs(tmp_path / "missing" / "r.html")
    (tmp_path / "r_tables").write_text("in the way")
    with pytest.raises(InputError, match="in the way of the output folder"):
        render_mod.check_outputs(tmp_path / "r.html")


def test_bad_arguments_raise_input_errors():
    frame = pd.read_csv(DATA)
    with pytest.raises(InputError, match="time column 'wave' not found"):
        build_report(frame, "jse-s", time="wave")
    with pytest.raises(InputError, match="unknown report option"):
        build_report(frame, "jse-s", time="year", options={"bootstrap": 10})
    with pytest.raises(InputError, match="min_cell"):
        build_report(frame, "jse-s", time="year", min_cell=0)


def test_a_missing_analysis_module_is_reported_not_fatal(monkeypatch):
    """Without empathy_metrics.cfa the report still builds and says why CFA is missing."""
    monkeypatch.setitem(sys.modules, "empathy_metrics.cfa", None)  # import now fails
    frame = pd.read_csv(DATA)
    rep = build_report(frame, "jse-s", time="year", min_cell=MIN_CELL,
                       options={"mixed_scales": []})
    notes = " ".join(rep.section("factors").notes + rep.section("comparability").notes)
    assert "confirmatory factor analysis could not be run" in notes
    assert "not installed" in notes
    assert "could not be checked" in " ".join(rep.section("findings").bullets)
    html = rep.to_html()
    assert "could not be run" in html
    assert {t.name for t in rep.tables} >= {"efa_loadings", "scores_by_time"}


def test_instrument_without_total_uses_its_first_scale(tmp_path):
    from empathy_metrics.instruments import load_instrument

    inst = load_instrument("iri")
    assert "total" not in inst.scales
    rng = np.random.default_rng(3)
    n = 240
    frame = pd.DataFrame(rng.integers(inst.response_min, inst.response_max + 1,
                                      size=(n, len(inst.item_ids))), columns=inst.item_ids)
    wave = "wave <&>"  # a column name with markup characters
    frame[wave] = np.repeat(["T1", "T2"], n // 2)
    rep = build_report(frame, inst, time=wave, options={"invariance": False})
    first = inst.scale_name(list(inst.scales)[0])
    summary = " ".join(rep.section("findings").bullets)
    assert f"{first} score of the students answering in {wave} T2 was" in summary
    html = rep.to_html()
    assert wave not in html and "wave &lt;&amp;&gt; T2" in html
    assert rep.section("norms").unavailable  # IRI carries no norms
    rep.write(tmp_path / "iri.html")
    assert (tmp_path / "iri_tables.xlsx").is_file()


def test_distribution_table_and_histogram(built, data):
    rep, out, html = built
    frame, _ = data
    from empathy_metrics.scoring import score

    section = rep.section("scores")
    table = {t.name: t for t in section.tables}["score_distribution"]
    head = [c.label for c in table.columns]
    # quartiles by their percentile, never "Q3" (which may well be a survey's time column)
    assert head == ["Scale", "Year", "n", "Mean", "SD", "Min", "25th pct", "Median", "75th pct",
                    "Max",
                    "Mode"]
    csv = pd.read_csv(out.parent / "yearly_tables" / table.csv_name)
    assert set(csv["scale"]) == {"perspective_taking", "compassionate_care",
                                 "standing_in_patients_shoes", "total"}
    total = score(frame, "jse-s").scores["total"]
    rows = _row_cells(html, "score_distribution")
    for t, y in total.groupby(frame["year"]):
        y = y.dropna().to_numpy(float)
        r = csv[(csv.scale == "total") & (csv.time == t)].iloc[0]
        assert not r["suppressed"] and r["n"] == y.size
        assert [r["q1"], r["median"], r["q3"]] == pytest.approx(np.percentile(y, [25, 50, 75]),
                                                               rel=1e-12)
        # the single lowest / highest score is never printed: a coded bound instead
        if (y == y.min()).sum() < MIN_CELL:
            assert r["min_coded"] and r["min"] > y.min()
            assert [c for c in rows if c[1] == str(t)][0][5].startswith("&lt; ")
        if (y == y.max()).sum() < MIN_CELL:
            assert r["max_coded"] and r["max"] <= y.max()
    fig = {f.name: f for f in section.figures}["histogram_total"]
    assert 'data-figure="histogram_total"' in html and fig.uri.startswith("data:image/svg")
    assert "open-ended" in fig.caption


def test_histogram_bins_of_a_small_year_are_hidden(tmp_path):
    """A year of 9 respondents: no bin or distribution value of it (or its complement)."""
    raw = pd.read_csv(DATA)
    extra = raw[raw["year"] == 4].head(9).assign(year=5)
    frame = pd.concat([raw, extra], ignore_index=True)
    rep = build_report(frame, "jse-s", time="year", id="id", min_cell=MIN_CELL,
                       options={"invariance": False})
    dist = {t.name: t.data for t in rep.tables}["score_distribution"]
    five = dist[dist["time"] == 5]
    assert len(five) == 4 and five["suppressed"].all()
    assert five[["n", "mean", "min", "max", "mode"]].isna().all().all()
    html = rep.to_html()
    rows = [r for r in _row_cells(html, "score_distribution") if r[1] == "5"]
    assert rows and all(r[2] == "suppressed: fewer than 10 respondents" for r in rows)
    tr = trend(frame, "jse-s", time="year", mixed=False)
    bins = tr.histogram[tr.histogram["time"] == 5]
    assert bins["suppressed"].all() and bins["count"].isna().all()
