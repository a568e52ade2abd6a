"""Keep BLAS single-threaded while a many-small-matrices kernel runs (threadpoolctl when present).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


@contextlib.contextmanager
def single_thread_blas() -> Iterator[None]:
    """Run BLAS/LAPACK single-threaded inside the block (when ``threadpoolctl`` is installed).

    Factor analysis makes thousands of calls on tiny (p x p) matrices -- eigen-decompositions,
    L-BFGS-B steps -- where a multithreaded OpenBLAS spends more time waking and synchronising
    its threads than computing; on a busy two-core machine that made parallel analysis 10-25x
    slower. Limiting BLAS to one thread for those steps removes the overhead and changes no
    result. Without ``threadpoolctl`` this is a no-op.
    """
    controller = _blas_controller()
    if controller is None or getattr(_BLAS_STATE, "depth", 0) > 0:
        yield  # no threadpoolctl, or already limited by an enclosing block
        return
    _BLAS_STATE.depth = 1
    try:
        with controller.limit(limits=1, user_api="blas"):
            yield
    finally:
        _BLAS_STATE.depth = 0


def blas_single_threaded(func: _F) -> _F:
    """Decorator: ``func`` runs inside :func:`single_thread_blas` (for analyses whose every
    matrix is small: a whole CFA or invariance fit, data checks included)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with single_thread_blas():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


#: Per-thread nesting flag of :func:`single_thread_blas` (only the outermost block acts).
_BLAS_STATE = threading.local()


@lru_cache(maxsize=1)
def _blas_controller() -> Any:
    """One ``threadpoolctl.ThreadpoolController`` (finding the libraries costs ~1 ms)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional speed-up
        return None
    import scipy.linalg  # noqa: F401 - load SciPy's own BLAS first so it is controlled too

    return ThreadpoolController()
