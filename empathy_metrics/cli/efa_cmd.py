"""``empathy efa``: exploratory factor analysis with parallel analysis."""

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

__all__ = ["efa"]


@click.command(
    "efa",
    epilog=(
        "\b\nExamples:\n"
        "  empathy efa survey.csv -i jse-s\n"
        "  empathy efa survey.csv -i jse-s --n-factors 3 --rotation promax --seed 1\n"
        "  empathy efa survey.csv -i iri --correlation polychoric --format json > efa.json"
    ),
)
@data_argument
@instrument_option
@map_option
@reader_options
@click.option("--n-factors", "n_factors", type=click.IntRange(min=1), default=None,
              metavar="K", help="Number of factors (default: parallel analysis factor criterion).")
@click.option("--method", type=click.Choice(["minres", "ml", "pa"]), default="minres",
              show_default=True, help="Extraction method (as psych::fa fm=).")
@click.option("--rotation", type=click.Choice(["oblimin", "promax", "varimax", "geomin", "none"]),
              default="oblimin", show_default=True,
              help="Rotation (geomin is oblique, GPArotation::geominQ).")
@click.option("--correlation", type=click.Choice(["pearson", "polychoric"]), default="pearson",
              show_default=True, help="Correlations to factor.")
@click.option("--n-iter", "n_iter", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Simulated data sets for parallel analysis.")
@click.option("--seed", type=int, default=None, help="Random seed for parallel analysis.")
@format_option
@wrap_errors
def efa(
    data: str,
    instrument: str,
    map_file: str | None,
    n_factors: int | None,
    method: str,
    rotation: str,
    correlation: str,
    n_iter: int,
    seed: int | None,
    fmt: str,
) -> None:
    """Exploratory factor analysis of an instrument's items (agrees with R psych::fa).

    Reverse-keys the items, drops respondents with any missing item, and reports KMO,
    Bartlett's test, eigenvalues, Horn's parallel analysis and the rotated loadings
    (loadings below .3 are blanked in the table; --format json gives every number).
    """
    from ..efa import efa as run_efa

    frame, inst, columns = load_inputs(data, instrument, map_file)
    result = run_efa(frame, inst, n_factors, method=method, rotation=rotation,
                     correlation=correlation, n_iter=n_iter, seed=seed, columns=columns)
    echo_result(result, fmt)
