"""Render a :class:`~empathy_metrics.report.builder.Report` to HTML, CSV and XLSX.

The HTML is one self-contained file: the stylesheet is inlined, figures are SVG ``data:`` URIs,
no script and no external URL. Every piece of text is escaped by jinja2's autoescaping (titles,
column names and group labels come from users' data and options).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
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
        return str(block[0])

    from markupsafe import Markup

    from .. import __version__
    from ._print import check_paper, page_css

    paper = check_paper(getattr(report, "paper", None))
    confidential = getattr(report, "confidential", None)
    # page_css escapes every piece of text for CSS; it is not HTML, so no HTML escaping
    pages = Markup(page_css(paper, report.title, confidential))
    template = _env().get_template("report.html.j2")
    return template.render(report=report, css=_css(), kind=kind, version=__version__,
                           page_css=pages, paper=paper, confidential=confidential)


#: How to install the optional PDF writer (named in the error when it is missing).
PDF_INSTALL = 'pip install "empathy-metrics[pdf]"'


def _weasyprint() -> Any:
    try:
        import weasyprint
    except ImportError as exc:
        raise InputError(
            "writing a PDF needs WeasyPrint, which is not installed"
            + (f" ({exc})" if "weasyprint" not in str(exc).lower() else ""),
            hint=f"install it with: {PDF_INSTALL} (on Debian/Ubuntu also: apt-get install "
                 "libpango-1.0-0 libpangoft2-1.0-0), or write HTML: -o report.html") from None
    except OSError as exc:  # the library is there but its system libraries are not
        raise InputError(
            f"WeasyPrint cannot load its system libraries ({exc})",
            hint="on Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0") from None
    return weasyprint


def html_to_pdf(html: str, target: str | Path) -> None:
    """Write ``html`` (a self-contained document) as a PDF with WeasyPrint."""
    weasyprint = _weasyprint()
    # nothing is fetched but the report's own data: URIs (no file, no network)
    fetcher_class = getattr(getattr(weasyprint, "urls", None), "URLFetcher", None)
    if fetcher_class is not None:  # WeasyPrint >= 66
        fetcher: Any = fetcher_class(allowed_protocols={"data"})
    else:  # pragma: no cover - older WeasyPrint
        def fetcher(url: str, *args: Any, **kwargs: Any) -> Any:
            if not url.startswith("data:"):
                raise ValueError(f"the report loads no external resource ({url})")
            return weasyprint.default_url_fetcher(url, *args, **kwargs)

    weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(str(target))


def output_paths(path: str | Path) -> tuple[Path, Path, Path]:
    """``(html, tables folder, xlsx)`` for a report written to ``path``."""
    path = Path(path)
    return path, path.with_name(f"{path.stem}_tables"), path.with_name(f"{path.stem}_tables.xlsx")


#: Suffixes of the report file (``.pdf``: written with WeasyPrint, the ``[pdf]`` extra).
REPORT_SUFFIXES = (".html", ".htm", ".pdf")


def check_outputs(path: str | Path, inputs: Iterable[Any] = ()) -> tuple[Path, Path, Path]:
    """Fail early (before any computing) when the report's outputs break the output rule.

    See :mod:`empathy_metrics.outputs`: no output may be an input (``inputs``: data, column
    map, instrument file), the tables folder and workbook are replaced only when the tool
    wrote them, and the folder must be writable. A report ending in ``.pdf`` needs WeasyPrint
    (checked here, so its absence stops the command before any work).
    """
    html, folder, xlsx = output_paths(path)
    outputs.check_outputs(files=[html], inputs=inputs, suffixes=REPORT_SUFFIXES)
    outputs.check_outputs(files=[xlsx], folders=[folder], inputs=inputs)
    if html.suffix.lower() == ".pdf":
        _weasyprint()
    return html, folder, xlsx


def _sheet_name(table: Any, used: set[str]) -> str:
    base = _SHEET_BAD.sub("_", table.name)[:31]
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


@contextlib.contextmanager
def _forked(func: Callable[..., None], *args: Any) -> Iterator[Callable[[], None]]:
    """Run ``func(*args)`` in a forked child while the caller goes on; yields a function that
    waits for it and raises its error here. Serially (on waiting) where the figure worker
    could not run either (no ``fork``, one CPU), or should the child die.

    Used for the workbook: openpyxl takes about half of the writing time, the CSVs and the
    HTML the other half. The child inherits ``args`` (nothing is pickled)."""
    from ._pool import _usable

    if not _usable():
        yield lambda: func(*args)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            func(*args)
            send.send(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the parent
            try:
                pickle.loads(pickle.dumps(exc))
            except Exception:  # noqa: BLE001 - an error that does not travel
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
            send.send(exc)

    process = ctx.Process(target=child, daemon=True)
    process.start()
    send.close()

    def wait() -> None:
        try:
            error = receive.recv()
        except EOFError:  # the child died: do it here
            process.join()
            func(*args)
            return
        process.join()
        if error is not None:
            raise error

    try:
        yield wait
    finally:
        if process.is_alive():
            process.join()
        receive.close()


def write_outputs(report: Any, path: str | Path, inputs: Iterable[Any] | None = None) -> Path:
    """Write the HTML (or, for ``*.pdf``, the PDF), the CSV folder and the XLSX workbook,
    following the output rule.

    Everything is written to temporary names first; only when all three are complete are
    they moved into place (the folder's files one by one, see
    :func:`empathy_metrics.outputs.commit_folder`). ``inputs`` default to the report's own
    (``report.inputs``).
    """
    if inputs is None:
        inputs = getattr(report, "inputs", ())
    html_path, folder, xlsx_path = check_outputs(path, inputs)
    parent = html_path.parent if str(html_path.parent) else Path(".")
    fd, tmp_x = tempfile.mkstemp(prefix=f".{xlsx_path.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    fd, tmp_h = tempfile.mkstemp(prefix=f".{html_path.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    tmp_xlsx, tmp_html = Path(tmp_x), Path(tmp_h)
    try:
        with outputs.staged_folder(folder) as tmp_dir, \
                _forked(_write_xlsx, report, tmp_xlsx) as xlsx_written:
            text = report.to_html()
            for table in report.tables:
                # UTF-8 with a byte-order mark, so that Excel shows non-ASCII labels correctly
                outputs.write_csv(table.export_frame(), tmp_dir / table.csv_name,
                                  encoding="utf-8-sig")
            if html_path.suffix.lower() == ".pdf":
                html_to_pdf(text, tmp_html)
            else:
                tmp_html.write_text(text, encoding="utf-8")
            xlsx_written()
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
