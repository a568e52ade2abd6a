"""``empathy reliability``: alpha, omega and item statistics per scale."""

from __future__ import annotations

import click

from ._common import (
    data_argument,
    echo_json,
    format_option,
    instrument_option,
    load_inputs,
    map_option,
    wrap_errors,
)


@click.command("reliability")
@data_argument
@instrument_option
@map_option
@click.option("--ci", type=click.Choice(["feldt", "bootstrap", "bca"]), default="feldt",
              show_default=True, help="Confidence interval for alpha.")
@click.option("--n-boot", type=click.IntRange(min=10), default=2000, show_default=True,
              help="Bootstrap resamples.")
@click.option("--seed", type=int, default=None, help="Bootstrap seed.")
@click.option("--correlation", type=click.Choice(["pearson", "polychoric"]), default="pearson",
              show_default=True, help="Polychoric adds ordinal alpha; omega uses it.")
@click.option("--missing", type=click.Choice(["listwise", "pairwise"]), default="listwise",
              show_default=True, help="Missing-data handling (pairwise = psych's default).")
@format_option
@wrap_errors
def reliability(data, instrument, map_file, ci, n_boot, seed, correlation, missing, fmt):
    """Alpha (with CI), lambda 6, omega and item statistics for every scale.

    \b
    Example:
      empathy reliability survey.csv -i jse-s --ci bca --seed 1 --format json
    """
    from ..reliability import reliability as compute

    frame, inst, columns = load_inputs(data, instrument, map_file)
    result = compute(frame, inst, missing=missing, ci=ci, n_boot=n_boot, seed=seed,
                     correlation=correlation, columns=columns)
    if fmt == "json":
        echo_json(result.to_dict())
    else:
        click.echo(result.summary())
