"""``empathy validate`` (data-quality summary) and ``empathy score`` (scores file)."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from ._common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    data_argument,
    echo_json,
    format_option,
    instrument_option,
    load_inputs,
    map_option,
    reader_options,
    wrap_errors,
)

__all__ = ["validate", "score"]

#: Output suffix -> format written by `empathy score -o`.
_OUTPUT_SUFFIXES = (".csv", ".xlsx", ".json", ".parquet")
#: Rows an Excel sheet holds, less the header row.
_XLSX_MAX_ROWS = 1_048_575
_SHOWN_ROWS = 10


def _id_col_option(func, help_="Respondent id column: kept in the output; repeated ids are "
                                "flagged duplicate_id."):
    return click.option("--id-col", "id_col", default=None, metavar="COL", help=help_)(func)


def _validate_id_col_option(func):
    func = click.option("--time", "time_col", default=None, metavar="COL",
                        help="With --id-col, longitudinal data: an id repeated within one "
                             "time point is a duplicate; across time points it is not.")(func)
    return _id_col_option(func, "Respondent id column: repeated ids are flagged duplicate_id.")


def _score_inputs(data: str, instrument: str, map_file: str | None, id_col: str | None,
                  time_col: str | None = None):
    from ..scoring import score as run_score

    frame, inst, columns = load_inputs(data, instrument, map_file)
    return frame, run_score(frame, inst, columns=columns, id_col=id_col, time_col=time_col)


def _export_notes(attrs: dict) -> dict:
    """What the reader did to the export, for validate's summary: sheet, unfinished
    responses, values carried within REDCap records."""
    notes: dict = {}
    if attrs.get("sheet") is not None:
        notes["sheet"] = attrs["sheet"]
        if attrs.get("sheets"):
            notes["sheets"] = [sh["name"] for sh in attrs["sheets"]]
            notes["sheets_skipped"] = list(attrs.get("sheets_skipped") or [])
    if attrs.get("unfinished") is not None:
        notes["unfinished"] = dict(attrs["unfinished"])
    if attrs.get("carried"):
        notes["carried"] = dict(attrs["carried"])
    return notes


def _notes_text(notes: dict) -> list[str]:
    lines = []
    if "sheets" in notes:
        lines.append(f"Sheets read (stacked): {', '.join(notes['sheets'])}")
        if notes.get("sheets_skipped"):
            lines.append(f"Sheets left out (other columns): "
                         f"{', '.join(notes['sheets_skipped'])}")
    elif "sheet" in notes:
        lines.append(f"Sheet read: {notes['sheet']}")
    unf = notes.get("unfinished")
    if unf is not None:
        if unf["excluded"]:
            lines.append(f"Unfinished Qualtrics responses: {unf['n']}, left out "
                         "(--exclude-unfinished)")
        elif unf["n"]:
            lines.append(f"Unfinished Qualtrics responses: {unf['n']}, INCLUDED (rows "
                         f"{_rows_text(unf['rows'])}); --exclude-unfinished leaves them out")
        else:
            lines.append("Unfinished Qualtrics responses: 0")
    for col, n in (notes.get("carried") or {}).items():
        lines.append(f"REDCap: '{col}' recorded on the first event only; carried to "
                     f"{n} later row(s) of the same record")
    return lines


# ---------------------------------------------------------------------- validate


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(map(str, rows[:_SHOWN_ROWS]))
    more = len(rows) - _SHOWN_ROWS
    return shown + (f" ... ({more} more)" if more > 0 else "")


def _not_read(exclusions: dict) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in exclusions.items())


def _quality_text(q: dict, inst) -> str:
    lines = [f"Data quality: {q['source'] or 'data'} scored with {inst.name} ({inst.id})",
             f"Respondents: {q['n']}"]
    scored = ", ".join(f"{s} {n}" for s, n in q["n_scored"].items())
    lines.append(f"Scored per scale: {scored}")
    if q.get("rows_not_read"):
        lines.append(f"Rows of the file not read as respondents: {_not_read(q['rows_not_read'])}")
    lines += _notes_text(q.get("export", {}))
    lines += ["", "Flags (respondents):"]
    width = max(len(f) for f in q["flags"])
    for flag, count in q["flags"].items():
        rows = q["flagged_rows"][flag]
        where = f"   rows {_rows_text(rows)}" if rows else ""
        lines.append(f"  {flag:<{width}}  {count:>6}{where}")
    items = [it for it in q["items"] if it["missing"] or it["out_of_range"]]
    lines += ["", "Missing and out-of-range answers per item:"]
    if items:
        iw = max(5, *(len(it["item"]) for it in items))
        lines.append(f"  {'item':<{iw}}  {'missing':>7}  {'out_of_range':>12}")
        for it in items:
            lines.append(f"  {it['item']:<{iw}}  {it['missing']:>7}  {it['out_of_range']:>12}")
        lines.append("  (missing includes out-of-range codes, which are treated as missing; "
                     "items not listed are complete)")
    else:
        lines.append("  none: every item answered within the scale by every respondent")
    lines.append("")
    if q["problems"]:
        lines.append("Problems found: review the flagged rows (rows are as in the file, header = "
                     "row 1). Nothing was dropped; `empathy score` keeps every row with its "
                     "flags.")
    else:
        lines.append("No problems found.")
    return "\n".join(lines)


@click.command("validate")
@data_argument
@instrument_option
@map_option
@reader_options
@_validate_id_col_option
@format_option
@wrap_errors
def validate(data: str, instrument: str, map_file: str | None, id_col: str | None,
             time_col: str | None, fmt: str) -> None:
    """Check a data file against an instrument before scoring it.

    Prints the number of respondents, how many carry each flag (unscorable: more items
    missing than the instrument allows; out_of_range: a code outside the response scale;
    straightlining: every answered item given the same code; duplicate_id: an id seen twice,
    with --id-col, or twice at one time point with --time) with their rows, the missing and
    out-of-range answers per item, and what the reader did to the export: the sheet read,
    unfinished Qualtrics responses (counted and named, whether kept or not), REDCap values
    carried from a record's first event.

    Exit code 0 when no respondent is flagged, 1 when some are (answers missing within the
    instrument's allowance are listed but are not a problem), 2 when the file or the
    instrument cannot be read.

    \b
    Examples:
      empathy validate survey.csv -i jse-s
      empathy validate export.xlsx -i jse-s --id-col student_id --map columns.yaml
      empathy validate survey.csv -i jse-s --format json
      empathy validate waves.csv -i jse-s --id-col student_id --time year
    """
    if time_col is not None and id_col is None:
        from ..errors import InputError

        raise InputError("--time needs --id-col", hint="give the respondent id column too")
    frame, result = _score_inputs(data, instrument, map_file, id_col, time_col)
    q = result.quality()
    q["rows_not_read"] = dict(frame.attrs.get("exclusions") or {})
    q["export"] = _export_notes(frame.attrs)
    if fmt == "json":
        echo_json(q)
    else:
        click.echo(_quality_text(q, result.instrument))
    click.get_current_context().exit(EXIT_PROBLEMS if q["problems"] else EXIT_OK)


# ---------------------------------------------------------------------- score


def _check_output(output: Path, *inputs: str | None) -> Path:
    """Fail before any work when the output breaks the output rule (see
    :mod:`empathy_metrics.outputs`) or cannot be written in the requested format."""
    from ..errors import InputError
    from ..outputs import check_outputs

    check_outputs(files=[output], inputs=inputs, suffixes=_OUTPUT_SUFFIXES)
    if output.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError(
                "writing Parquet needs the pyarrow package", file=str(output),
                hint="pip install 'empathy-metrics[parquet]', or write .csv/.xlsx/.json",
            ) from None
    return output


def _scores_table(result, norms=None):
    """The scores as written to a file: the id column first, else the row in the data file;
    with ``norms`` (:class:`empathy_metrics.norms.RespondentNorms`) its columns at the end."""
    table = result.scores.reset_index(drop=True)
    if result.id_col is None:
        ids = result.respondent_ids()
        table.insert(0, str(ids.name), ids.to_numpy())
    if norms is not None:
        table = pd.concat([table, norms.table.reset_index(drop=True)], axis=1)
    return table


def _norms_for(frame, result, gender_col: str | None, year_col: str | None):
    """Each respondent against the instrument's published norms (``score --norms``)."""
    from ..errors import InputError
    from ..norms import respondent_norms

    for col in (gender_col, year_col):
        if col is not None and col not in frame.columns:
            raise InputError(f"column '{col}' not found", column=col,
                             hint=f"columns are {', '.join(map(str, frame.columns[:12]))}")
    return respondent_norms(result.scores, result.instrument,
                            gender=None if gender_col is None else frame[gender_col].to_numpy(),
                            year=None if year_col is None else frame[year_col].to_numpy())


def _write_scores(result, target: Path, norms=None) -> None:
    from .._files import atomic_path
    from .._results import jsonable
    from ..outputs import write_csv, write_xlsx

    suffix = target.suffix.lower()
    with atomic_path(target) as tmp:
        if suffix == ".json":
            import json

            tmp.write_text(json.dumps(jsonable(_scores_dict(result, norms)), indent=1,
                                      ensure_ascii=False) + "\n", encoding="utf-8")
            return
        table = _scores_table(result, norms)
        if suffix == ".csv":
            write_csv(table, tmp)  # formula-like text neutralised
        elif suffix == ".xlsx":
            write_xlsx({"scores": table}, tmp)
        else:
            table.to_parquet(tmp, index=False)


def _scores_dict(result, norms=None) -> dict:
    """``result.to_dict()``, with ``norms`` each respondent's norm columns and the norms used."""
    out = result.to_dict()
    if norms is not None:
        from .._results import jsonable

        for row, extra in zip(out["scores"], jsonable(norms.table), strict=True):
            row.update(extra)
        out["norms"] = norms.to_dict()
    return out


@click.command("score")
@data_argument
@instrument_option
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), default=None,
              metavar="OUT.csv|.xlsx|.json|.parquet",
              help="Write one row per respondent: id, scale scores, n_missing, flags.")
@_id_col_option
@click.option("--norms", "use_norms", is_flag=True, default=False,
              help="Add each respondent's percentile against the instrument's published norm "
                   "for their gender and year of training (with the norm's citation).")
@click.option("--gender-col", "gender_col", default=None, metavar="COL",
              help="With --norms: gender column (women/men; others use the whole norm sample).")
@click.option("--year-col", "year_col", default=None, metavar="COL",
              help="With --norms: year of training column (1 = first year).")
@map_option
@reader_options
@format_option
@wrap_errors
def score(data: str, instrument: str, output: Path | None, id_col: str | None,
          use_norms: bool, gender_col: str | None, year_col: str | None,
          map_file: str | None, fmt: str) -> None:
    """Score every respondent and write the scores file.

    Reverse-keyed items are scored min + max - answer; each subscale (and the total, when the
    instrument has one) is scored under the instrument's missing-item rule: a respondent who
    skipped no more than max_missing of a scale's items gets the mean of the answered items in
    their place; with more the score is left empty and the row flagged unscorable. Codes
    outside the scale count as missing and are flagged. No row is ever dropped.

    Prints a short summary (n, mean, SD, range per scale, flag counts), or with
    `--format json` every respondent: {"instrument", "n", "scores": [{"id", <scale>...,
    "n_missing", "flags"}]} (id = the --id-col value, else the respondent's row in DATA,
    header = row 1; the scores file has the same first column).
    With --norms each respondent also gets <scale>_norm_percentile, <scale>_norm_z,
    <scale>_norm (which published norm: gender, year, population), <scale>_norm_citation and,
    where the norm publishes a cut-off, <scale>_low_scorer; JSON adds "norms" (the norms
    used, with their citations).
    The output file (.csv, .xlsx, .json or .parquet) is written atomically and only after
    scoring succeeded; the input file is never modified.

    \b
    Examples:
      empathy score survey.csv -i jse-s -o scores.csv --id-col student_id
      empathy score export.xlsx -i my-scale.yaml --map columns.yaml -o scores.xlsx
      empathy score survey.csv -i teq --format json > scores.json
      empathy score survey.csv -i jse-s --norms --gender-col gender --year-col year
    """
    target = None
    if output is not None:
        target = _check_output(output, data, instrument, map_file)
    frame, inst, columns = load_inputs(data, instrument, map_file)
    if target is not None and target.suffix.lower() == ".xlsx" and len(frame) > _XLSX_MAX_ROWS:
        from ..errors import InputError

        raise InputError(
            f"{len(frame)} respondents do not fit in one Excel sheet ({_XLSX_MAX_ROWS} rows)",
            file=str(target), hint="write .csv or .parquet instead",
        )
    from ..scoring import score as run_score

    result = run_score(frame, inst, columns=columns, id_col=id_col)
    norms = _norms_for(frame, result, gender_col, year_col) if use_norms else None
    if target is not None:
        _write_scores(result, target, norms)
    if frame.attrs.get("exclusions"):
        click.echo(f"Note: rows of {data} not read as respondents: "
                   f"{_not_read(frame.attrs['exclusions'])}", err=True)
    if fmt == "json":
        echo_json(_scores_dict(result, norms))
        if target is not None:
            click.echo(f"Scores written to {target}", err=True)
    else:
        click.echo(result.summary())
        if norms is not None:
            click.echo(norms.summary())
        if target is not None:
            click.echo(f"Scores written to {target}")
