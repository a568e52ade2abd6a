"""``empathy cfa`` and ``empathy invariance``: confirmatory factor analysis (lavaan-style ML)."""

from __future__ import annotations

import click

from ._common import (
    data_argument,
    echo_result,
    format_option,
    map_option,
    reader_options,
    wrap_errors,
)

__all__ = ["cfa", "invariance"]


def _instrument_option(func):
    return click.option(
        "-i", "--instrument", "instrument", default=None, metavar="INST",
        help="Bundled instrument id (see `empathy instruments`) or path to a YAML file; its "
             "subscales are the factors. May be left out when --model names data columns.",
    )(func)


def _model_option(func):
    return click.option(
        "--model", "model_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
        help="Text file with a lavaan-style model ('F =~ item1 + item2 + ...' lines, "
             "'x1 ~~ x2' residual covariances, # comments) instead of the instrument's "
             "subscales.",
    )(func)


def _estimation_options(func):
    func = click.option(
        "--missing", "missing",
        type=click.Choice(["listwise", "fiml", "pairwise"], case_sensitive=False),
        default="listwise", show_default=True,
        help="Missing answers: drop incomplete respondents (listwise), use every answer by "
             "full-information maximum likelihood (fiml; as lavaan missing='ml'; ml/mlr), or "
             "with --estimator wlsmv every pair of answers (pairwise; as lavaan).",
    )(func)
    return click.option(
        "--estimator", "estimator",
        type=click.Choice(["ml", "mlr", "wlsmv"], case_sensitive=False),
        default="ml", show_default=True,
        help="ml: normal-theory maximum likelihood; mlr: the same estimates with robust "
             "(Huber-White) standard errors and the Yuan-Bentler scaled chi-square and fit "
             "indices (as lavaan estimator='MLR'), for skewed Likert items; wlsmv: items as "
             "ordered categories (polychoric correlations and thresholds, DWLS, robust SEs, "
             "mean-and-variance adjusted chi-square; as lavaan ordered=, estimator='WLSMV'; "
             "complete cases only).",
    )(func)


def _load(data: str, instrument: str | None, map_file: str | None, model_file: str | None):
    """(frame, instrument or None, columns, model text or None)."""
    from pathlib import Path

    from ..errors import InputError
    from ._common import load_inputs

    if instrument is None and model_file is None:
        raise click.UsageError("give an instrument (-i INST) or a model file (--model FILE)")
    model = None
    if model_file is not None:
        path = Path(model_file)
        if not path.is_file():
            raise InputError("model file not found", file=model_file,
                             hint="give the path of a text file with lavaan model syntax")
        try:
            model = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("the model file is not UTF-8 text", file=model_file) from None
    if instrument is None:
        if map_file is not None:
            raise click.UsageError("--map needs an instrument (-i INST)")
    frame, inst, columns = load_inputs(data, instrument, map_file)
    return frame, inst, columns, model


def _parse(model: str | None, model_file: str | None):
    """Parse the model text, naming the file in errors (None -> instrument subscales)."""
    if model is None:
        return None
    from ..cfa import parse_model

    return parse_model(model, source=model_file)


@click.command(
    "cfa",
    epilog=(
        "\b\nExamples:\n"
        "  empathy cfa survey.csv -i jse-s\n"
        "  empathy cfa survey.csv -i jse-s --model two_factors.lav --format json > cfa.json\n"
        "  empathy cfa scores.csv --model model.lav      # model over the file's columns\n"
        "  empathy cfa survey.csv -i jse-s --estimator mlr --missing fiml\n"
        "  empathy cfa survey.csv -i jse-s --estimator wlsmv   # answers as ordered categories"
    ),
)
@data_argument
@_instrument_option
@_model_option
@map_option
@reader_options
@_estimation_options
@click.option("--std-lv", "std_lv", is_flag=True, default=False,
              help="Identify factors by unit variances (all loadings free) instead of fixing "
                   "the first loading to 1 (lavaan std.lv=TRUE).")
@format_option
@wrap_errors
def cfa(data: str, instrument: str | None, model_file: str | None, map_file: str | None,
        estimator: str, missing: str, std_lv: bool, fmt: str) -> None:
    """Confirmatory factor analysis by maximum likelihood (agrees with R lavaan::cfa).

    Reverse-keys the items, drops respondents with any missing model item (or, with
    --missing fiml, uses every answer), fits the instrument's subscales as correlated factors
    (or the --model), and reports chi-square, CFI, TLI, RMSEA with its 90% CI, SRMR, AIC, BIC
    (with --estimator mlr or wlsmv also their scaled versions) and the loadings with
    standard errors and standardised values (--format json gives every number at full
    precision). --estimator wlsmv treats the answers as ordered categories (lavaan's WLSMV).
    """
    from ..cfa import cfa as run_cfa

    frame, inst, columns, model = _load(data, instrument, map_file, model_file)
    spec = _parse(model, model_file)
    result = run_cfa(frame, inst, spec, columns=columns, estimator=estimator, missing=missing,
                     std_lv=std_lv)
    echo_result(result, fmt)


@click.command(
    "invariance",
    epilog=(
        "\b\nExamples:\n"
        "  empathy invariance survey.csv -i jse-s --group year\n"
        "  empathy invariance survey.csv -i jse-s --group gender --format json > mi.json\n"
        "  empathy invariance survey.csv -i jse-s --group site --rmsea-cutoff 0.015\n"
        "  empathy invariance survey.csv -i jse-s --group year --estimator mlr --missing fiml\n"
        "  empathy invariance survey.csv -i jse-s --model pt.lav --group year --id student_id "
        "--missing fiml   # one subscale over the years"
    ),
)
@data_argument
@_instrument_option
@click.option("--group", "group", required=True, metavar="COL",
              help="Column defining the groups (e.g. year, gender, site).")
@_model_option
@map_option
@reader_options
@click.option("--cfi-cutoff", "cfi_cutoff", type=click.FloatRange(min=0), default=0.01,
              show_default=True, help="Largest acceptable drop in CFI between nested models.")
@click.option("--rmsea-cutoff", "rmsea_cutoff", type=click.FloatRange(min=0), default=None,
              help="Also require RMSEA to rise by at most this much (Chen 2007: 0.015).")
@_estimation_options
@click.option("--id", "id_col", default=None, metavar="COL",
              help="Respondent id column. When ids repeat across the --group occasions (the "
                   "same students every year), one longitudinal model is fitted instead of "
                   "independent groups (use with --missing fiml).")
@click.option("--no-partial", "no_partial", is_flag=True, default=False,
              help="Do not search for partial invariance when metric or scalar invariance "
                   "fails.")
@format_option
@wrap_errors
def invariance(data: str, instrument: str | None, group: str, model_file: str | None,
               map_file: str | None, cfi_cutoff: float, rmsea_cutoff: float | None,
               estimator: str, missing: str, id_col: str | None, no_partial: bool,
               fmt: str) -> None:
    """Measurement invariance across groups: configural, metric and scalar models.

    Fits the model in every group with a mean structure (as lavaan's cfa(group=,
    group.equal=)), then with equal loadings, then with equal loadings and intercepts, and
    compares them by the chi-square difference test and the change in CFI (invariance holds
    when CFI drops by no more than .01). Scalar invariance is what allows mean scores to be
    compared between the groups (e.g. across training years). When it fails, the
    non-invariant loadings or intercepts are freed one at a time (largest score test first)
    and the items that are not comparable are named. With --id and repeated ids the years
    are occasions of one longitudinal model.
    """
    from ..cfa import invariance as run_invariance

    frame, inst, columns, model = _load(data, instrument, map_file, model_file)
    spec = _parse(model, model_file)
    result = run_invariance(frame, inst, group, columns=columns, model=spec,
                            cfi_cutoff=cfi_cutoff, rmsea_cutoff=rmsea_cutoff,
                            estimator=estimator, missing=missing, id=id_col,
                            partial=not no_partial)
    echo_result(result, fmt)
