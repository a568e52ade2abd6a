"""Print settings of the report: paper size from the locale, the page rules (CSS ``@page``).

The page rules go into the HTML itself, so a browser's "Print" and the PDF written with
WeasyPrint give the same pages: the paper size, page numbers ("Page 3 of 12") in the bottom
margin, the report title beside them and, with a confidentiality marking, that text in the top
margin of every page.
"""

from __future__ import annotations

import os

from ..errors import InputError

__all__ = ["PAPERS", "LETTER_TERRITORIES", "default_paper", "check_paper", "page_css",
           "css_string"]

#: Paper sizes the report knows (CSS ``size`` keywords).
PAPERS = ("letter", "a4")

#: Territories whose locales print on US Letter (as in glibc's ``LC_PAPER`` data); every other
#: locale, and the plain ``C``/``POSIX`` locale, prints on A4.
LETTER_TERRITORIES = frozenset({"US", "CA", "MX", "PR", "PH", "CL", "CO", "VE", "CR", "GT",
                                "PA", "SV", "DO", "NI", "HN", "BZ"})


def default_paper(environ: dict[str, str] | None = None) -> str:
    """``"letter"`` when the locale's territory prints on Letter, else ``"a4"``.

    The locale is the first set of ``LC_ALL``, ``LC_PAPER`` and ``LANG`` (the order in which
    POSIX resolves ``LC_PAPER``); its territory is the part after ``_`` (``en_US.UTF-8`` ->
    ``US``).
    """
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_PAPER", "LANG"):
        value = env.get(var)
        if value:
            name = value.split(".")[0].split("@")[0]
            territory = name.split("_")[1].upper() if "_" in name else ""
            return "letter" if territory in LETTER_TERRITORIES else "a4"
    return "a4"


def check_paper(paper: str | None) -> str:
    """The paper size to use: ``paper`` checked, or the locale's default when ``None``."""
    if paper is None:
        return default_paper()
    value = str(paper).strip().lower()
    if value not in PAPERS:
        raise InputError(f"unknown paper size {paper!r}", hint="use letter or a4")
    return value


def css_string(text: str) -> str:
    """``text`` as a CSS string literal: every character but ASCII letters and digits is
    written as a six-digit hexadecimal escape, so nothing in it can end the string or the
    stylesheet (line breaks become spaces)."""
    out = []
    for ch in str(text):
        if ch in "\r\n\t":
            ch = " "
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):06x}")
    return '"' + "".join(out) + '"'


def page_css(paper: str, title: str, confidential: str | None) -> str:
    """The ``@page`` rules: size, margins, page numbers, title and confidentiality marking."""
    font = 'font-family: "Source Sans 3", "Segoe UI", "Helvetica Neue", Arial, sans-serif;'
    top = (f"  @top-center {{ content: {css_string(confidential)}; font-weight: 700; {font}"
           " letter-spacing: .06em; color: #8a1c1c; font-size: 8.5pt; }\n"
           if confidential else "")
    return (
        "@page {\n"
        f"  size: {paper};\n"
        "  margin: 18mm 15mm 18mm;\n"
        f"{top}"
        f"  @bottom-left {{ content: {css_string(title)}; font-size: 8pt; color: #5b6773;"
        f" {font} }}\n"
        '  @bottom-right { content: "Page " counter(page) " of " counter(pages);'
        f" font-size: 8pt; color: #5b6773; {font} }}\n"
        "}\n")
