"""Shared CLI pieces: options every data command takes, error handling, output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class UserFacingError(click.ClickException):
    """A library error shown to the user as one line, exit code 2."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def run_guarded(command: click.Command, argv: list[str] | None, *, debug: bool) -> None:
    """Run ``command``; turn our errors into a message + exit 2 (traceback only with --debug)."""
    from ..errors import EmpathyMetricsError

    try:
        rv = command.main(args=argv, prog_name="empathy", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except EmpathyMetricsError as exc:
        if debug:
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # unexpected: still no traceback unless --debug
        if debug:
            raise
        click.echo(
            f"Error: unexpected {type(exc).__name__}: {exc}\n"
            "Run again with --debug for the traceback and report it as a bug.",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def data_argument(func: Callable) -> Callable:
    """The DATA argument (existence, and not a folder, checked by the reader, whose message
    names the file in the usual one-line form)."""
    return click.argument("data", metavar="DATA", type=click.Path())(func)


def instrument_option(func: Callable) -> Callable:
    return click.option(
        "-i", "--instrument", "instrument", required=True, metavar="INST",
        help="Bundled instrument id (see `empathy instruments`) or path to a YAML file.",
    )(func)


def format_option(func: Callable) -> Callable:
    return click.option(
        "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
        show_default=True, help="Tables for people or JSON for machines.",
    )(func)


def echo_json(obj: Any) -> None:
    """Print ``obj`` as JSON (NaN as null)."""
    from .._results import jsonable

    click.echo(json.dumps(jsonable(obj), indent=2, ensure_ascii=False))


def echo_warnings(caught: list[Any]) -> None:
    """Print each distinct library warning once, as ``Warning: ...`` on standard error."""
    seen: set[str] = set()
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, UserWarning) and text not in seen:
            seen.add(text)
            click.echo(f"Warning: {text}", err=True)


def wrap_errors(func: Callable) -> Callable:
    """Run a command body: library errors become click errors (one line, exit 2; also inside
    click's test runner), and library warnings become one ``Warning:`` line each."""
    import functools
    import warnings

    @functools.wraps(func)
    def inner(*args: Any, **kwargs: Any) -> Any:
        from ..errors import EmpathyMetricsError

        ctx = click.get_current_context()
        debug = bool((ctx.find_root().obj or {}).get("debug"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return func(*args, **kwargs)
            except EmpathyMetricsError as exc:
                if debug:
                    raise
                raise UserFacingError(str(exc)) from None
            finally:
                echo_warnings(caught)

    return inner


def echo_result(result: Any, fmt: str) -> None:
    """Print a result object: its ``to_dict()`` as JSON, or its ``summary()`` for people."""
    if fmt == "json":
        echo_json(result.to_dict())
    else:
        click.echo(result.summary())


_COHORT_OPTIONS = [
    click.option("--time", "time_col", required=True, metavar="COL",
                 help="Column with the training year or wave."),
    click.option("--id", "id_col", default=None, metavar="COL",
                 help="Respondent id column (repeated ids enable the longitudinal analyses)."),
    click.option("--cohort", "cohort_col", default=None, metavar="COL",
                 help="Entering-cohort column."),
    click.option("--group", "group_col", default=None, metavar="COL",
                 help="Grouping column (e.g. gender)."),
    click.option("--reference", default=None, metavar="T",
                 help="Time compared against (default: the first)."),
    click.option("--min-cell", "min_cell", type=click.IntRange(min=1), default=10,
                 show_default=True, help="Suppress cells with fewer respondents than this."),
]


_FOLD_KEY = "fold_small_groups"


def cohort_options(func: Callable) -> Callable:
    """The columns and settings of a change-across-years analysis (`trend`, `report`).

    ``--fold-small-groups`` is kept in the click context; the command applies it with
    :func:`fold_groups` after reading the data.
    """
    import functools

    @functools.wraps(func)
    def inner(*args: Any, **kwargs: Any) -> Any:
        click.get_current_context().meta[_FOLD_KEY] = kwargs.pop("fold_small")
        return func(*args, **kwargs)

    inner = click.option(
        "--fold-small-groups", "fold_small", is_flag=True,
        help="Fold --group levels with fewer than --min-cell respondents in a time (and "
             "missing values) into one 'other / not stated' group before analysis, so that "
             "a small group does not force large groups' cells to be hidden.")(inner)
    for decorator in reversed(_COHORT_OPTIONS):
        inner = decorator(inner)
    return inner


def fold_groups(frame: Any, group_col: str | None, time_col: str, min_cell: int) -> Any:
    """Apply ``--fold-small-groups`` (when given) to the group column; says what it folded."""
    ctx = click.get_current_context(silent=True)
    if group_col is None or ctx is None or not ctx.meta.get(_FOLD_KEY):
        return frame
    from ..suppression import FOLDED_LABEL, fold_small_groups

    frame, folded = fold_small_groups(frame, group_col, min_cell, by=time_col)
    if folded:
        click.echo(f"Note: {group_col} groups with fewer than {min_cell} respondents in a "
                   f"{time_col} ({', '.join(map(str, folded))}) and missing values folded into "
                   f"'{FOLDED_LABEL}'", err=True)
    return frame


def output_path_option(func: Callable, help_: str = "Output file.") -> Callable:
    return click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
                        default=None, help=help_)(func)


def map_option(func: Callable) -> Callable:
    return click.option(
        "--map", "map_file", type=click.Path(dir_okay=False), default=None, metavar="MAP.yaml",
        help="YAML file linking item ids to your column names (item_id: column).",
    )(func)


_READER_KEY = "reader_options"


def reader_options(func: Callable) -> Callable:
    """Options passed to :func:`empathy_metrics.io.read_responses` for the DATA file.

    They are kept in the click context, where :func:`load_inputs` finds them, so a command
    only adds this decorator.
    """
    import functools

    @functools.wraps(func)
    def inner(*args: Any, **kwargs: Any) -> Any:
        missing = kwargs.pop("missing_codes")
        options = {
            "sheet": kwargs.pop("sheet"),
            "encoding": kwargs.pop("encoding"),
            "exclude_unfinished": kwargs.pop("exclude_unfinished"),
            "exclude_previews": not kwargs.pop("include_previews"),
            "missing_codes": [c.strip() for c in missing.split(",") if c.strip()] if missing
            else None,
        }
        click.get_current_context().meta[_READER_KEY] = options
        return func(*args, **kwargs)

    for decorator in reversed([
        click.option("--sheet", default=None, metavar="NAME|N|all",
                     help="Excel: the sheet to read, by name (else number, from 0); 'all' "
                          "stacks sheets with the same columns and adds a 'sheet' column. "
                          "Needed when several sheets hold data."),
        click.option("--encoding", default=None, metavar="ENC",
                     help="Text files: the encoding (default: UTF-8, else Latin-1)."),
        click.option("--exclude-unfinished", is_flag=True,
                     help="Qualtrics: leave out unfinished responses."),
        click.option("--include-previews", is_flag=True,
                     help="Qualtrics: keep survey previews (left out by default)."),
        click.option("--missing-codes", default=None, metavar="CODES",
                     help="Comma-separated codes meaning 'missing' in every column, "
                          "e.g. 'UNK,-999' (REDCap missing-data codes)."),
    ]):
        inner = decorator(inner)
    return inner


def load_inputs(data: str, instrument: str | None, map_file: str | None = None):
    """Read DATA, load the instrument and the optional column map: ``(frame, inst, columns)``.

    Reader options given through :func:`reader_options` are applied; the instrument is
    ``None`` when ``instrument`` is.
    """
    from ..instruments import load_instrument
    from ..io import read_column_map, read_responses

    inst = load_instrument(instrument) if instrument is not None else None
    columns = read_column_map(map_file) if map_file is not None else None
    ctx = click.get_current_context(silent=True)
    options = dict(ctx.meta.get(_READER_KEY, {})) if ctx is not None else {}
    # --sheet: a name first, then a number; REDCap values of the first event carried
    frame = read_responses(data, instrument=inst, columns=columns, **options)
    return frame, inst, columns


def resolve_names(frame: Any, **roles: str | None) -> list[str | None]:
    """The columns of ``frame`` meant by each option value (``time="Year "`` -> ``"year"``):
    trimmed, else ignoring case when unambiguous, with a warning naming the column used;
    ``None`` stays ``None`` (:func:`empathy_metrics.io.resolve_columns`, as the library)."""
    from ..io import resolve_columns

    return list(resolve_columns(frame, **roles).values())
