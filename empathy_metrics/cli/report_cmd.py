"""``empathy report`` (the yearly HTML report) and ``empathy demo`` (simulated data + report).

Only click and the shared CLI helpers are imported here; the library loads when a command runs,
so ``empathy --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from ._common import (
    cohort_options,
    data_argument,
    fold_groups,
    instrument_option,
    load_inputs,
    map_option,
    reader_options,
    resolve_names,
    wrap_errors,
)
from .trend_cmd import enrolled_option, read_enrolled

__all__ = ["report", "demo"]


def _written(html: Path, n_tables: int) -> str:
    from ..report.render import output_paths

    _, folder, xlsx = output_paths(html)
    return (f"Report:  {html}\n"
            f"Tables:  {folder}{'/'} ({n_tables} CSV files) and {xlsx}")


@click.command("report")
@data_argument
@instrument_option
@cohort_options
@click.option("--title", default=None, metavar="TEXT", help="Title shown on the report.")
@enrolled_option
@map_option
@reader_options
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("report.html"), show_default=True,
              help="Report to write: .html, or .pdf (needs the [pdf] extra: "
                   "pip install \"empathy-metrics[pdf]\"). The tables go beside it as "
                   "<name>_tables/ (CSV) and <name>_tables.xlsx.")
@click.option("--paper", type=click.Choice(["letter", "a4"], case_sensitive=False),
              default=None,
              help="Page size when printed or written as PDF [default: from the locale "
                   "(LC_ALL, LC_PAPER, LANG): letter in the US, Canada and other Letter "
                   "countries, a4 elsewhere].")
@click.option("--labels", "labels_file", default=None, metavar="LABELS.yaml",
              type=click.Path(dir_okay=False),
              help="Display labels: YAML with 'columns: {year: Training year}' and "
                   "'values: {gender: {1: Women, 2: Men}}', used in every table, figure, "
                   "CSV/XLSX header and sentence.")
@click.option("--confidential", default=None, metavar="TEXT",
              help='Marking printed at the top of every page, e.g. "CONFIDENTIAL - '
                   'faculty only".')
@wrap_errors
def report(data: str, instrument: str, time_col: str, id_col: str | None,
           cohort_col: str | None, group_col: str | None, reference: str | None,
           title: str | None, min_cell: int, enrolled_file: str | None,
           map_file: str | None, output: Path,
           paper: str | None, labels_file: str | None, confidential: str | None) -> None:
    """Write the yearly report: one self-contained HTML or PDF file, plus every table as CSV/XLSX.

    Page one is an executive summary (one sentence, one chart, three numbers, what can and
    cannot be concluded). The report then covers key findings, scores by year, cohort and
    group, change with effect sizes (cross-sectional and, with --id, longitudinal), norms and
    data quality; a technical appendix holds reliability by year, factor structure and
    invariance across years, item-level change, and methods with provenance (versions, input
    SHA-256). Printed pages carry page numbers (and the --confidential marking); tables are
    named by content (scores_by_time.csv, ...), the same names as the XLSX sheets. Cells with
    fewer than --min-cell respondents are suppressed everywhere. Opening the file needs no
    network.

    \b
    Examples:
      empathy report survey.csv -i jse-s --time year -o report.html
      empathy report survey.csv -i jse-s --time year --id student_id --cohort cohort \\
          --group gender --title "Class of 2026 empathy report" -o report.html
      empathy report export.csv -i jse-s --map columns.yaml --time wave --min-cell 5
      empathy report survey.csv -i jse-s --time year --id student_id --cohort cohort \\
          --enrolled enrolment.csv -o report.html
      empathy report survey.csv -i jse-s --time year --paper letter \\
          --confidential "CONFIDENTIAL - faculty only" -o report.pdf
      empathy report survey.csv -i jse-s --time year --group gender \\
          --labels labels.yaml -o report.html
    """
    from ..report._pool import workers_started_early

    with workers_started_early():  # they import matplotlib while this process reads
        from ..report import build_report
        from ..report.labels import load_labels
        from ..report.render import check_outputs

        check_outputs(output, inputs=[data, instrument, map_file, labels_file, enrolled_file])
        labels = load_labels(labels_file)  # a bad labels file stops before any work
        enrolled = read_enrolled(enrolled_file)  # checked by trend, before anything is written
        frame, inst, columns = load_inputs(data, instrument, map_file)
        time_col, id_col, cohort_col, group_col = resolve_names(
            frame, time=time_col, id=id_col, cohort=cohort_col, group=group_col)
        frame = fold_groups(frame, group_col, time_col, min_cell)
        options = {"reference": reference}
        if columns:
            options["columns"] = columns
        rep = build_report(frame, inst, time=time_col, id=id_col, cohort=cohort_col,
                           group=group_col, title=title, min_cell=min_cell, source_path=data,
                           options=options, paper=paper, confidential=confidential,
                           labels=labels, enrolled=enrolled, progress=True)
    html = rep.write(output)
    click.echo(_written(html, len(rep.tables)))


@click.command("demo")
@click.argument("outdir", required=False, default="empathy-demo",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=2026, show_default=True,
              help="Seed of the simulation (same seed, same data).")
@click.option("--min-cell", "min_cell", type=click.IntRange(min=1), default=10,
              show_default=True, help="Suppress cells with fewer respondents than this.")
@wrap_errors
def demo(outdir: Path, seed: int, min_cell: int) -> None:
    """Simulate a realistic JSE-S data set and write the full yearly report from it.

    Writes OUTDIR/jse_demo.csv (four entering cohorts over four training years, with
    attrition, missing items, careless respondents and a drop in year 3), a codebook, and
    OUTDIR/report.html with its tables. No network access is needed.

    \b
    Examples:
      empathy demo                   # into ./empathy-demo/
      empathy demo /tmp/demo --seed 7
    """
    from ..report._pool import workers_started_early

    with workers_started_early():  # they import matplotlib while this process simulates
        from ..io import read_responses
        from ..outputs import check_outputs as check_folder
        from ..outputs import claim_folder
        from ..report import build_report
        from ..report.render import check_outputs
        from ..simulate import write_demo

        check_folder(folders=[outdir])  # a new, empty or earlier demo folder only
        html = outdir / "report.html"
        if outdir.is_dir():
            check_outputs(html)
        csv = write_demo(outdir, seed=seed)
        claim_folder(outdir, [html.name, f"{html.stem}_tables", f"{html.stem}_tables.xlsx"])
        frame = read_responses(csv)
        rep = build_report(frame, "jse-s", time="year", id="student_id", cohort="cohort",
                           group="gender", min_cell=min_cell, source_path=csv,
                           title="Empathy across training years (simulated demo data)")
    html = rep.write(html)
    click.echo(f"Data:    {csv}\n{_written(html, len(rep.tables))}\n"
               f"Open {html} in a browser (it prints to PDF cleanly).")
