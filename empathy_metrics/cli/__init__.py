"""The ``empathy`` command line: a thin click layer over the library.

Subcommands live in small modules of this package and are imported only when run, so that
``empathy --help`` answers quickly. Errors the user can fix are printed as one short message
with exit code 2 (``--debug`` shows the traceback); ``validate`` exits 1 when it finds problems.
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

import click

__all__ = ["main"]

# command name -> (module, attribute, one-line help shown by `empathy --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "instruments": ("instruments_cmd", "instruments", "List bundled instruments, or show one."),
    "validate": ("score_cmd", "validate", "Check a data file: flags, missing and out-of-range."),
    "score": ("score_cmd", "score", "Score a data file and write the scores."),
    "reliability": ("reliability_cmd", "reliability", "Alpha, omega, item statistics."),
    "efa": ("efa_cmd", "efa", "Exploratory factor analysis with parallel analysis."),
    "cfa": ("cfa_cmd", "cfa", "Confirmatory factor analysis (lavaan-style ML)."),
    "invariance": ("cfa_cmd", "invariance", "Measurement invariance across groups."),
    "trend": ("trend_cmd", "trend", "Change across training years: tables, models, plots."),
    "report": ("report_cmd", "report", "Write the yearly HTML report with CSV/XLSX tables."),
    "demo": ("report_cmd", "demo", "Simulate demo data and write the full yearly report."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        try:
            mod = importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:  # command not installed in this build
            if exc.name and exc.name.startswith(__name__):
                return None
            raise
        return getattr(mod, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="empathy-metrics", prog_name="empathy")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Score empathy questionnaires, check their psychometrics, track change across years.

    \b
    Examples:
      empathy demo empathy-demo/          # simulate data and write a full report
      empathy instruments                 # list bundled instruments
      empathy score survey.csv -i jse-s -o scores.csv
      empathy reliability survey.csv -i jse-s
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``empathy`` console script."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    from ._common import run_guarded

    try:
        run_guarded(cli, argv, debug=debug)
    except SystemExit as exc:
        _exit_now(exc.code)


def _exit_now(code: int | str | None) -> NoReturn:
    """End the process with ``code`` as ``sys.exit`` would, minus the interpreter's teardown.

    The exit handlers run (``atexit``) and standard output and error are flushed; what is
    skipped is freeing every object and module one by one, about 0.3 s after a report (the
    command line's outputs are all written and closed by then). The library never does this:
    only the ``empathy`` console script and ``python -m empathy_metrics``.
    """
    import atexit
    import os

    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # pragma: no cover - not CPython: exit as usual
        sys.exit(code)
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more to say
            pass
    os._exit(code)
