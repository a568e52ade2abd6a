"""Render a :class:`~empathy_metrics.report.builder.Report` to HTML, CSV and XLSX.

The HTML is one self-contained file: the stylesheet is inlined, figures are SVG ``data:`` URIs,
no script and no external URL. Every piece of text is escaped by jinja2's autoescaping (titles,
column names and group labels come from users' data and options).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from .. import outputs
from ..errors import InputError

__all__ = ["render_html", "write_outputs", "output_paths", "check_outputs", "REPORT_SUFFIXES"]

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("empathy_metrics.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env


def _css() -> str:
    return resources.files("empathy_metrics.report").joinpath("report.css").read_text("utf-8")


def render_html(report: Any) -> str:
    """The report as an HTML document (string)."""
    from ._tables import Figure, Table

    def kind(block: Any) -> str:
        if isinstance(block, Table):
            return "table"
        if isinstance(block, Figure):
            return "figure"
        return block[0]

    from .. import __version__

    template = _env().get_template("report.html.j2")
    return template.render(report=report, css=_css(), kind=kind, version=__version__)


def output_paths(path: str | Path) -> tuple[Path, Path, Path]:
    """``(html, tables folder, xlsx)`` for a report written to ``path``."""
    path = Path(path)
    return path, path.with_name(f"{path.stem}_tables"), path.with_name(f"{path.stem}_tables.xlsx")


#: Suffixes of the report file.
REPORT_SUFFIXES = (".html", ".htm")


def check_outputs(path: str | Path, inputs: Iterable[Any] = ()) -> tuple[Path, Path, Path]:
    """Fail early (before any computing) when the report's outputs break the output rule.

    See :mod:`empathy_metrics.outputs`: no output may be an input (``inputs``: data, column
    map, instrument file), the tables folder and workbook are replaced only when the tool
    wrote them, and the folder must be writable.
    """
    html, folder, xlsx = output_paths(path)
    if html.suffix.lower() == ".pdf":
        raise InputError("PDF output is not available: the report is written as HTML",
                         file=str(html),
                         hint="write report.html and print it to PDF from a browser "
                              "(File > Print > Save as PDF)")
    outputs.check_outputs(files=[html], inputs=inputs, suffixes=REPORT_SUFFIXES)
    outputs.check_outputs(files=[xlsx], folders=[folder], inputs=inputs)
    return html, folder, xlsx


def _sheet_name(table: Any, used: set[str]) -> str:
    base = _SHEET_BAD.sub("_", f"{table.number:02d} {table.name}")[:31]
    name, i = base, 2
    while name.lower() in used:
        suffix = f"~{i}"
        name = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(name.lower())
    return name


def _write_xlsx(report: Any, target: Path) -> None:
    used: set[str] = set()
    sheets = {_sheet_name(t, used): t.export_frame() for t in report.tables}
    outputs.write_xlsx(sheets, target)


def write_outputs(report: Any, path: str | Path, inputs: Iterable[Any] | None = None) -> Path:
    """Write the HTML, the CSV folder and the XLSX workbook, following the output rule.

    Everything is written to temporary names first; only when all three are complete are
    they moved into place (the folder's files one by one, see
    :func:`empathy_metrics.outputs.commit_folder`). ``inputs`` default to the report's own
    (``report.inputs``).
    """
    if inputs is None:
        inputs = getattr(report, "inputs", ())
    html_path, folder, xlsx_path = check_outputs(path, inputs)
    parent = html_path.parent if str(html_path.parent) else Path(".")
    text = report.to_html()
    fd, tmp_x = tempfile.mkstemp(prefix=f".{xlsx_path.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    fd, tmp_h = tempfile.mkstemp(prefix=f".{html_path.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    tmp_xlsx, tmp_html = Path(tmp_x), Path(tmp_h)
    try:
        with outputs.staged_folder(folder) as tmp_dir:
            for table in report.tables:
                # UTF-8 with a byte-order mark, so that Excel shows non-ASCII labels correctly
                outputs.write_csv(table.export_frame(), tmp_dir / table.csv_name,
                                  encoding="utf-8-sig")
            _write_xlsx(report, tmp_xlsx)
            tmp_html.write_text(text, encoding="utf-8")
            for p in (tmp_xlsx, tmp_html):
                os.chmod(p, 0o644)
            outputs.commit_folder(tmp_dir, folder)
        os.replace(tmp_xlsx, xlsx_path)
        os.replace(tmp_html, html_path)
    except BaseException:
        for p in (tmp_xlsx, tmp_html):
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    return html_path
