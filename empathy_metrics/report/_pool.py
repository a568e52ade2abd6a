"""Turning the report's figures into SVG in a second process while the analyses go on.

Writing a matplotlib figure as SVG (layout, text as paths) takes as long as all the analyses of
a yearly report together. :class:`FigurePool` hands each drawn figure (pickled) to one worker
process forked from this one and goes on with the next section; :meth:`FigurePool.finish`
collects the SVGs at the end. The worker runs exactly what the serial path runs
(:meth:`~empathy_metrics.report._tables.Figure.from_matplotlib`), so the bytes are the same
(``tests/test_report_sections.py`` compares them). Warnings of the worker come back and become
notes of the figure's section as in the serial path; an error becomes the note "... could not
be run" (:class:`~empathy_metrics.report._context.Runner`'s rules).

The worker needs the ``fork`` start method (Linux; not Windows, not macOS' default) and two or
more CPUs; otherwise, or with ``parallel=False``, every figure is written at once in this
process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ._tables import Figure, Section

__all__ = ["FigurePool"]


def _to_figure(payload: bytes, name: str, caption: str, alt: str
               ) -> tuple[Figure, list[tuple[type[Warning], str]]]:
    """In the worker: the pickled matplotlib figure as a report :class:`Figure`, and the
    warnings raised while writing it."""
    fig = pickle.loads(payload)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = Figure.from_matplotlib(fig, name, caption, alt)
    return figure, [(w.category, str(w.message)) for w in caught]


def _usable() -> bool:
    return ("fork" in multiprocessing.get_all_start_methods()
            and (os.cpu_count() or 1) >= 2)


class FigurePool:
    """Figures written as SVG in one forked worker (see the module docstring)."""

    def __init__(self, parallel: bool = True) -> None:
        self.parallel = parallel and _usable()
        self._executor: ProcessPoolExecutor | None = None
        self._pending: list[tuple[Section, str, Any, Figure, Future]] = []

    def submit(self, section: Section, what: str, fig: Any, name: str, caption: str,
               alt: str) -> bool:
        """Queue ``fig`` for the worker and add its placeholder to ``section``; ``False``
        (nothing done) when the figure cannot be sent (then write it at once)."""
        try:
            payload = pickle.dumps(fig)
        except Exception:  # noqa: BLE001 - an unpicklable artist: the serial path draws it
            return False
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("fork"))
        future = self._executor.submit(_to_figure, payload, name, caption, alt)
        placeholder = Figure(name=name, caption=caption, alt=alt, uri="")
        section.add(placeholder)
        self._pending.append((section, what, fig, placeholder, future))
        return True

    def finish(self, guard: Callable[[Section, str, Callable[[], Any]], Any]) -> None:
        """Wait for the worker and fill each placeholder; ``guard`` (the runner's) turns an
        error into a note of the section, and the placeholder is then dropped. Should the
        worker die, the figures it did not write are written here."""
        try:
            for section, what, fig, placeholder, future in self._pending:
                figure = guard(section, what, lambda f=future, m=fig, p=placeholder:
                               self._result(f, m, p))
                if figure is None:
                    section.blocks.remove(placeholder)
                else:
                    placeholder.uri = figure.uri
        finally:
            self._pending = []
            self.close()

    @staticmethod
    def _result(future: Future, fig: Any, placeholder: Figure) -> Figure:
        try:
            figure, caught = future.result()
        except BrokenProcessPool:
            return Figure.from_matplotlib(fig, placeholder.name, placeholder.caption,
                                          placeholder.alt)
        for category, message in caught:
            warnings.warn(message, category, stacklevel=2)
        return figure

    def close(self) -> None:
        """Stop the worker (waiting for it)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> FigurePool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
