"""``empathy trend``: change across training years (tables, models, an optional plot)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._common import (
    cohort_options,
    data_argument,
    echo_result,
    fold_groups,
    format_option,
    instrument_option,
    load_inputs,
    map_option,
    reader_options,
    resolve_names,
    wrap_errors,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["trend", "read_enrolled", "enrolled_option"]

_PLOT_SUFFIXES = (".png", ".svg", ".pdf")


#: ``--enrolled FILE`` of ``empathy trend`` and ``empathy report``.
enrolled_option = click.option(
    "--enrolled", "enrolled_file", default=None, metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Enrolment counts (columns cohort, year, enrolled; cohort may be left out only "
         "without --cohort): adds response rates per cohort and year beside the change in "
         "score.")


def read_enrolled(path: str | None) -> pd.DataFrame | None:
    """The ``--enrolled`` file as a frame indexed by its file rows (for error messages).

    Its columns are checked by :func:`empathy_metrics.cohorts.attrition.check_enrolled` when
    ``trend`` runs, so a bad file stops before any output is written.
    """
    if path is None:
        return None
    from ..io import read_responses, source_rows

    enrolled = read_responses(path)
    enrolled.index = source_rows(enrolled)
    enrolled.attrs.update(source=str(path), line_numbers=True)
    return enrolled


@click.command("trend")
@data_argument
@instrument_option
@cohort_options
@click.option("--random-slope", "random_slope", is_flag=True, default=False,
              help="Add a random slope of time per respondent to the mixed models.")
@enrolled_option
@map_option
@reader_options
@click.option("--plot", "plot_path", default=None, metavar="OUT.png|.svg|.pdf",
              type=click.Path(dir_okay=False),
              help="Also draw the trend of means with CI bands to this file.")
@format_option
@wrap_errors
def trend(data: str, instrument: str, time_col: str, id_col: str | None,
          cohort_col: str | None, group_col: str | None, reference: str | None,
          min_cell: int, random_slope: bool, enrolled_file: str | None, map_file: str | None,
          plot_path: str | None, fmt: str) -> None:
    """Change of every scale across training years, with small cells suppressed.

    JSON (--format json): {"instrument", "time", "scales": {scale: {"by_time": [...],
    "tests", "mixed_model", "linear_slope", "reliable_change", ..., "meaningful_change",
    "attrition", "sensitivity", "response_rates"}}}; mixed-model terms are "Intercept" and
    "time[t]" for each time t against the reference. "attrition": baseline scores of the
    students seen later vs never seen again per cohort; "sensitivity": each year's change from
    all available respondents (different students), the mixed model and the completers only
    (same students); "response_rates": with --enrolled.

    \b
    Example:
      empathy trend survey.csv -i jse-s --time year --id student --cohort entry \\
          --group gender --enrolled enrolment.csv --plot trend.png --format json
    """
    from pathlib import Path

    from ..cohorts import trend as run_trend
    from ..outputs import check_outputs

    if plot_path is not None:  # the output rule, before any work
        check_outputs(files=[plot_path], inputs=[data, instrument, map_file, enrolled_file],
                      suffixes=_PLOT_SUFFIXES)
    frame, inst, columns = load_inputs(data, instrument, map_file)
    time_col, id_col, cohort_col, group_col = resolve_names(
        frame, time=time_col, id=id_col, cohort=cohort_col, group=group_col)
    frame = fold_groups(frame, group_col, time_col, min_cell)
    if columns:
        frame = frame.rename(columns={col: item for item, col in columns.items()})
    enrolled = read_enrolled(enrolled_file)
    result = run_trend(frame, inst, time=time_col, id=id_col, cohort=cohort_col,
                       group=group_col, reference=reference, min_cell=min_cell,
                       random_slope=random_slope, enrolled=enrolled)
    if plot_path is not None:
        from .._files import atomic_path
        from ..plots import trend_plot

        target = Path(plot_path)
        fig = trend_plot(result)
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=target.suffix.lstrip(".").lower(), bbox_inches="tight")
    echo_result(result, fmt)
