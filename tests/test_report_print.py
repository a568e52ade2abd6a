"""Print settings: paper size from the locale, CSS strings that cannot escape, @page rules."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from empathy_metrics.errors import InputError
from empathy_metrics.report._print import check_paper, css_string, default_paper, page_css


@pytest.mark.parametrize("env, paper", [
    ({"LANG": "en_US.UTF-8"}, "letter"),
    ({"LANG": "en_GB.UTF-8"}, "a4"),
    ({"LANG": "fr_CA.UTF-8"}, "letter"),
    ({"LANG": "de_DE@euro"}, "a4"),
    ({"LANG": "C.UTF-8"}, "a4"),
    ({}, "a4"),
    ({"LANG": "en_US.UTF-8", "LC_PAPER": "en_GB.UTF-8"}, "a4"),  # LC_PAPER before LANG
    ({"LC_PAPER": "en_GB.UTF-8", "LC_ALL": "es_MX.UTF-8"}, "letter"),  # LC_ALL first
])
def test_default_paper_follows_the_locale(env, paper):
    assert default_paper(env) == paper


def test_check_paper():
    assert check_paper("Letter") == "letter" and check_paper(" A4 ") == "a4"
    assert check_paper(None) in ("letter", "a4")
    with pytest.raises(InputError, match="unknown paper size 'legal'"):
        check_paper("legal")


@given(st.text(max_size=60))
def test_css_string_is_one_closed_string(text):
    out = css_string(text)
    assert out.startswith('"') and out.endswith('"')
    inner = out[1:-1]
    assert re.fullmatch(r"(?:[A-Za-z0-9]|\\[0-9a-f]{6})*", inner)
    # decoding the escapes gives the text back (line breaks as spaces)
    decoded = re.sub(r"\\([0-9a-f]{6})", lambda m: chr(int(m.group(1), 16)), inner)
    assert decoded == re.sub(r"[\r\n\t]", " ", text)


def test_page_css_numbers_pages_and_marks_them():
    css = page_css("letter", "Title", "Faculty only")
    assert "size: letter;" in css
    assert 'counter(page) " of " counter(pages)' in css
    assert "@top-center" in css and css_string("Faculty only") in css
    assert "@top-center" not in page_css("a4", "Title", None)


def test_long_lists_may_break_across_pages_but_page_one_stays_whole():
    """A long Key findings list continues on the next page (kept whole it left half a page
    empty); its items, and page one's lists, are never split."""
    from pathlib import Path

    import empathy_metrics.report as rpt

    css = (Path(rpt.__file__).parent / "report.css").read_text(encoding="utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    whole = set()
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        if re.search(r"(page-)?break-inside:\s*avoid", body):
            whole.update(s.strip() for s in selectors.split(","))
    assert not whole & {".list-block", ".notes", "ul", "ul.findings", ".section-findings"}
    assert {".list-block li", ".notes li"} <= whole
    assert {".page-one .list-block", ".page-one .notes"} <= whole
    assert {"figure", ".table-wrap"} <= whole  # tables and figures are never split
