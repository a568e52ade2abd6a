"""The report as a PDF (WeasyPrint): pages, page one, page numbers, marking, paper, tables.

WeasyPrint is the optional ``[pdf]`` extra (the ``[test]`` extra installs it, and ``.ci/run``
installs the Pango libraries it needs). Without it the PDF tests are skipped, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli
from empathy_metrics.errors import InputError
from empathy_metrics.report import build_report
from empathy_metrics.report import render as render_mod

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"
MARK = 'CONFIDENTIAL <faculty & "staff">'
LABELS = {"columns": {"year": "Training year", "gender": "Gender"},
          "values": {"gender": {"women": "Women", "men": "Men", "nonbinary": "Non-binary"}}}
LETTER, A4 = (612.0, 792.0), (595.28, 841.89)


def _need_pdf_tools():
    try:
        import pypdf  # noqa: F401
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the PDF test must run in CI ({exc})")
        pytest.skip(f"WeasyPrint or pypdf is not usable here ({exc})")


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    _need_pdf_tools()
    from pypdf import PdfReader

    frame = pd.read_csv(DATA)
    rep = build_report(frame, "jse-s", time="year", id="id", cohort="cohort", group="gender",
                       source_path=DATA, paper="letter", confidential=MARK, progress=False,
                       labels=LABELS)
    out = tmp_path_factory.mktemp("pdf") / "yearly.pdf"
    rep.write(out)
    reader = PdfReader(out)
    pages = [p.extract_text() or "" for p in reader.pages]
    return rep, out, reader, pages


def _size(page) -> tuple[float, float]:
    box = page.mediabox
    return float(box.width), float(box.height)


def test_a_real_pdf_with_tables_beside_it(pdf):
    rep, out, reader, pages = pdf
    assert out.read_bytes()[:5] == b"%PDF-"
    assert 6 <= len(pages) <= 30, len(pages)
    folder = out.with_name("yearly_tables")
    csvs = sorted(p.name for p in folder.glob("*.csv"))
    assert csvs == sorted(f"{t.name}.csv" for t in rep.tables)
    assert (folder / "scores_by_time.csv").is_file()
    assert not out.with_name("yearly.html").exists()  # the PDF replaces the HTML


def test_page_one_is_the_executive_summary(pdf):
    rep, _, _, pages = pdf
    one = " ".join(pages[0].split())
    assert "Summary" in one and "newest class" in one.lower()
    assert "What you can conclude" in one and "What you cannot conclude" in one
    for card_label, value, _ in rep.section("summary").blocks[2][1]:
        assert value.replace("\u2212", "-") in one.replace("\u2212", "-"), card_label
    # the psychometrics are in the appendix, not on page one
    assert "Cronbach" not in one and "CFI" not in one and "loadings" not in one.lower()
    appendix_page = next(i for i, p in enumerate(pages) if "Technical appendix" in p and i > 1)
    assert any("Cronbach" in p for p in pages[appendix_page:])


def test_every_page_is_numbered_and_marked(pdf):
    _, _, reader, pages = pdf
    n = len(pages)
    for i, text in enumerate(pages, start=1):
        flat = " ".join(text.split())
        assert f"Page {i} of {n}" in flat, (i, flat[-200:])
        assert MARK in flat, i
    assert all(_size(p) == pytest.approx(LETTER, abs=0.5) for p in reader.pages)


def test_labels_are_applied(pdf):
    _, out, _, pages = pdf
    text = " ".join(" ".join(p.split()) for p in pages)
    assert "training year 1" in " ".join(pages[0].split()).lower()  # page one's sentence
    assert "Scores by training year" in text and "Training year" in text
    assert "Women" in text and "Men" in text
    assert "women" not in text.replace("Women", "")  # no raw code left
    groups = pd.read_csv(out.with_name("yearly_tables") / "group_stats.csv")
    assert {"Training year", "Gender"} <= set(groups.columns)
    assert set(groups["Gender"]) == {"Women", "Men", "Non-binary"}


def test_no_orphan_last_page(pdf):
    _, _, _, pages = pdf
    last = " ".join(pages[-1].split())
    body = re.sub(r"Page \d+ of \d+", "", last).replace(MARK, "")
    assert len(body) > 800, body  # not a page holding only a few references


def test_a4_paper(pdf, tmp_path):
    from pypdf import PdfReader

    rep = pdf[0]
    rep.paper = "a4"
    try:
        rep.write(tmp_path / "a4.pdf")
    finally:
        rep.paper = "letter"
    reader = PdfReader(tmp_path / "a4.pdf")
    assert all(_size(p) == pytest.approx(A4, abs=0.5) for p in reader.pages)


def test_without_weasyprint_a_clear_error_naming_the_install_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import now fails
    with pytest.raises(InputError, match="WeasyPrint") as info:
        render_mod.check_outputs(tmp_path / "r.pdf")
    assert 'pip install "empathy-metrics[pdf]"' in str(info.value.hint)
    res = CliRunner().invoke(cli, ["report", str(DATA), "-i", "jse-s", "--time", "year",
                                   "-o", str(tmp_path / "r.pdf")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert 'pip install "empathy-metrics[pdf]"' in res.output
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing computed


def test_cli_paper_and_confidential_reach_the_html(tmp_path):
    out = tmp_path / "r.html"
    frame = pd.read_csv(DATA)
    data = tmp_path / "survey.csv"
    frame[frame["year"] <= 2].to_csv(data, index=False)
    res = CliRunner().invoke(cli, ["report", str(data), "-i", "jse-s", "--time", "year",
                                   "--paper", "A4", "--confidential", "Internal </style>",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "size: a4;" in html
    assert "Internal &lt;/style&gt;" in html  # the on-screen banner, escaped
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "</" not in style  # the marking cannot end the stylesheet
    assert "Internal\\000020\\00003c\\00002fstyle\\00003e" in style
