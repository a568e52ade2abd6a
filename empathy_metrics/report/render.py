"""Render a :class:`~empathy_metrics.report.builder.Report` to HTML, CSV and XLSX.

The HTML is one self-contained file: the stylesheet is inlined, figures are SVG ``data:`` URIs,
no script and no external URL. Every piece of text is escaped by jinja2's autoescaping (titles,
column names and group labels come from users' data and options).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import check_writable
from ..errors import InputError

__all__ = ["render_html", "write_outputs", "output_paths", "check_outputs"]

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


def check_outputs(path: str | Path) -> tuple[Path, Path, Path]:
    """Fail early (before any computing) when the report's outputs cannot be written."""
    html, folder, xlsx = output_paths(path)
    check_writable(html)
    check_writable(xlsx)
    if folder.exists() and not folder.is_dir():
        raise InputError("a file is in the way of the tables folder", file=str(folder),
                         hint="move it, or choose another report name")
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


def _cell_value(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, (int, float, bool, str)):
        return value
    return str(value)


def _write_xlsx(report: Any, target: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    bold = Font(bold=True)
    for table in report.tables:
        ws = wb.create_sheet(_sheet_name(table, used))
        frame = table.export_frame()
        header = [str(c) for c in frame.columns]
        for j, name in enumerate(header, start=1):
            cell = ws.cell(row=1, column=j, value=name)
            cell.data_type = "s"  # a column named '=...' stays text
            cell.font = bold
        for i, row in enumerate(frame.itertuples(index=False), start=2):
            for j, value in enumerate(row, start=1):
                v = _cell_value(value)
                cell = ws.cell(row=i, column=j, value=v)
                if isinstance(v, str):
                    cell.data_type = "s"  # never a formula, whatever the label says
        ws.freeze_panes = "A2"
        for j, name in enumerate(header, start=1):
            width = max([len(name)] + [len(str(_cell_value(v) or "")) for v in
                                       frame.iloc[:200, j - 1]]) + 2
            ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(width, 60)
    wb.save(target)


def write_outputs(report: Any, path: str | Path) -> Path:
    """Write the HTML, the CSV folder and the XLSX workbook; all or nothing."""
    html_path, folder, xlsx_path = check_outputs(path)
    parent = html_path.parent if str(html_path.parent) else Path(".")
    text = report.to_html()
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
    fd, tmp_x = tempfile.mkstemp(prefix=f".{xlsx_path.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    fd, tmp_h = tempfile.mkstemp(prefix=f".{html_path.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    tmp_xlsx, tmp_html = Path(tmp_x), Path(tmp_h)
    backup: Path | None = None
    try:
        for table in report.tables:
            # UTF-8 with a byte-order mark, so that Excel shows non-ASCII labels correctly
            table.export_frame().to_csv(tmp_dir / table.csv_name, index=False,
                                        encoding="utf-8-sig")
        _write_xlsx(report, tmp_xlsx)
        tmp_html.write_text(text, encoding="utf-8")
        for p in (tmp_xlsx, tmp_html):
            os.chmod(p, 0o644)
        os.chmod(tmp_dir, 0o755)
        if folder.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old",
                                           dir=parent))
            os.rmdir(backup)
            os.replace(folder, backup)
        os.replace(tmp_dir, folder)
        os.replace(tmp_xlsx, xlsx_path)
        os.replace(tmp_html, html_path)
    except BaseException:
        for p in (tmp_xlsx, tmp_html):
            with contextlib.suppress(OSError):
                p.unlink()
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if backup is not None and backup.exists() and not folder.exists():
            with contextlib.suppress(OSError):
                os.replace(backup, folder)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    return html_path
