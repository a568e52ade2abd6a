"""Progress bars for long steps: shown on an interactive terminal, silent otherwise."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["progress"]


class _Silent:
    def update(self, n: int = 1) -> None:  # noqa: D401 - same API as click's bar
        pass


@contextlib.contextmanager
def progress(total: int, label: str, *, enabled: bool | None = None) -> Iterator[Any]:
    """Context manager yielding an object with ``update(n)``.

    A bar is drawn on standard error only when it is a terminal (or ``enabled=True``), so
    scripts, pipes, CI logs and notebooks stay quiet.

    >>> with progress(10, "Bootstrapping") as bar:
    ...     for _ in range(10):
    ...         bar.update(1)
    """
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        yield _Silent()
        return
    import click

    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar
