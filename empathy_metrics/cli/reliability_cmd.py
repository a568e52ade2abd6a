"""``empathy reliability``: alpha, omega and item statistics per scale."""

from __future__ import annotations

import click

from ._common import (
    data_argument,
    echo_result,
    format_option,
    instrument_option,
    load_inputs,
    map_option,
    reader_options,
    wrap_errors,
)

__all__ = ["reliability"]


@click.command(
    "reliability",
    epilog=(
        "\b\nExamples:\n"
        "  empathy reliability survey.csv -i jse-s\n"
        "  empathy reliability survey.csv -i jse-s --ci bootstrap --n-boot 2000 --seed 1\n"
        "  empathy reliability survey.csv -i jse-s --ci bca --seed 1 --format json > rel.json\n"
        "  empathy reliability survey.csv -i iri --correlation polychoric --missing pairwise"
    ),
)
@data_argument
@instrument_option
@map_option
@reader_options
@click.option("--ci", type=click.Choice(["feldt", "bootstrap", "bca"]), default="feldt",
              show_default=True,
              help="95% CI for alpha: Feldt (closed form), bootstrap percentile, or BCa.")
@click.option("--n-boot", type=click.IntRange(min=10), default=2000, show_default=True,
              metavar="N", help="Bootstrap resamples (with --ci bootstrap/bca).")
@click.option("--seed", type=int, default=None, metavar="S", help="Bootstrap seed.")
@click.option("--correlation", type=click.Choice(["pearson", "polychoric"]), default="pearson",
              show_default=True, help="Polychoric adds ordinal alpha; omega uses it.")
@click.option("--missing", type=click.Choice(["listwise", "pairwise"]), default="listwise",
              show_default=True, help="Missing-data handling (pairwise = psych's default).")
@format_option
@wrap_errors
def reliability(data, instrument, map_file, ci, n_boot, seed, correlation, missing, fmt):
    """Alpha (with CI), lambda 6, omega and item statistics for every scale.

    Items are reverse-keyed as the instrument says; each subscale and the total get raw and
    standardised alpha, Guttman's lambda 6, the average inter-item r, a 95% CI, McDonald's
    omega total and hierarchical, and per-item mean, sd, r.drop and alpha if deleted (agrees
    with R psych::alpha / psych::omega). A progress bar is shown on a terminal for long
    bootstraps.
    """
    from ..reliability import reliability as compute

    frame, inst, columns = load_inputs(data, instrument, map_file)
    result = compute(frame, inst, missing=missing, ci=ci, n_boot=n_boot, seed=seed,
                     correlation=correlation, columns=columns)
    echo_result(result, fmt)
