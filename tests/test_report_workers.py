"""The figure workers (report/_workers.py): one warm-up shared by forking, futures that
behave as an executor's, and no hang when a worker dies."""

from __future__ import annotations

import os
import time
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool

import pytest

from empathy_metrics.report._pool import FigurePool
from empathy_metrics.report._workers import Workers

pytestmark = pytest.mark.skipif(not FigurePool().parallel,
                                reason="needs the fork start method and two CPUs")

TIMEOUT = 60  # seconds: a generous bound, only so that a broken pool fails instead of hanging

WARMED: list[int] = []


def _warm_up() -> None:
    WARMED.append(os.getpid())  # in the first worker; the others inherit the list


def _who(delay: float = 0.0) -> tuple[int, int, list[int]]:
    time.sleep(delay)
    return os.getpid(), os.getppid(), list(WARMED)


def _fail(message: str) -> None:
    raise ValueError(message)


def _die() -> None:
    os._exit(3)


def _unpicklable():
    return lambda: None


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_other_workers_are_forked_from_the_first_after_its_warm_up():
    WARMED.clear()
    workers = Workers(2, _warm_up)
    try:
        pids = sorted(f.result(timeout=TIMEOUT) for f in workers.warming)
        assert len(set(pids)) == 2 and os.getpid() not in pids
        # both busy at once: each task runs in its own worker
        results = [workers.submit(_who, 0.5) for _ in range(2)]
        seen = {pid: (parent, warmed) for pid, parent, warmed in
                (f.result(timeout=TIMEOUT) for f in results)}
        assert sorted(seen) == pids
        first = next(pid for pid, (parent, _) in seen.items() if parent == os.getpid())
        second = next(pid for pid in seen if pid != first)
        assert seen[second][0] == first  # forked by the first worker
        assert all(warmed == [first] for _, warmed in seen.values())  # warmed up once, there
        assert WARMED == []  # not here
    finally:
        workers.shutdown()
    assert all(_gone(pid) for pid in pids)


def test_results_errors_and_order_of_many_tasks():
    workers = Workers(2, lambda: None)
    try:
        futures = [workers.submit(pow, i, 2) for i in range(20)]
        failing = workers.submit(_fail, "no data to draw")
        assert [f.result(timeout=TIMEOUT) for f in futures] == [i * i for i in range(20)]
        with pytest.raises(ValueError, match="no data to draw"):
            failing.result(timeout=TIMEOUT)
        unsendable = workers.submit(_unpicklable)
        with pytest.raises(BrokenProcessPool, match="could not be sent back"):
            unsendable.result(timeout=TIMEOUT)
        assert workers.submit(pow, 3, 3).result(timeout=TIMEOUT) == 27  # still serving
    finally:
        workers.shutdown()


def test_a_task_no_worker_has_started_can_be_cancelled():
    workers = Workers(1, lambda: None)
    try:
        workers.warming[0].result(timeout=TIMEOUT)
        busy = workers.submit(_who, 1.0)
        queued = [workers.submit(pow, 2, i) for i in range(3)]
        deadline = time.monotonic() + TIMEOUT
        while not busy.running() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert busy.running() and not busy.cancel()  # started: cannot be cancelled
        assert queued[2].cancel() and queued[2].cancelled()
        assert [f.result(timeout=TIMEOUT) for f in queued[:2]] == [1, 2]
        with pytest.raises(CancelledError):
            queued[2].result()
    finally:
        workers.shutdown()


def test_shutdown_cancels_what_is_queued_and_stops_the_workers():
    workers = Workers(1, lambda: None)
    pid = workers.warming[0].result(timeout=TIMEOUT)
    busy = workers.submit(_who, 0.5)
    queued = workers.submit(pow, 2, 2)
    deadline = time.monotonic() + TIMEOUT
    while not busy.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    workers.shutdown()
    assert busy.result(timeout=0)[0] == pid  # the running task finished first
    assert queued.cancelled()
    assert _gone(pid)
    with pytest.raises(RuntimeError, match="shut down"):
        workers.submit(pow, 2, 2)


def test_a_worker_that_dies_fails_its_task_and_the_other_goes_on():
    workers = Workers(2, lambda: None)
    try:
        dead = workers.submit(_die)
        with pytest.raises(BrokenProcessPool, match="died"):
            dead.result(timeout=TIMEOUT)
        assert [workers.submit(pow, 2, i).result(timeout=TIMEOUT) for i in range(4)] == \
            [1, 2, 4, 8]
        last = workers.submit(_die)
        with pytest.raises(BrokenProcessPool):
            last.result(timeout=TIMEOUT)
        with pytest.raises(BrokenProcessPool, match="no figure worker is left"):
            workers.submit(pow, 2, 2).result(timeout=TIMEOUT)  # none left: fails, no hang
    finally:
        workers.shutdown()


def _die_while_warming() -> None:
    os._exit(4)


def _raise_while_warming() -> None:
    raise ImportError("no matplotlib here")


def test_a_first_worker_that_dies_while_warming_up_fails_everything_without_hanging():
    workers = Workers(2, _die_while_warming)
    try:
        for future in workers.warming:
            with pytest.raises(BrokenProcessPool):
                future.result(timeout=TIMEOUT)
        with pytest.raises(BrokenProcessPool):
            workers.submit(pow, 2, 2).result(timeout=TIMEOUT)
    finally:
        workers.shutdown()


def test_an_error_while_warming_up_is_left_to_the_tasks():
    workers = Workers(2, _raise_while_warming)
    try:
        assert workers.submit(pow, 2, 5).result(timeout=TIMEOUT) == 32
        assert len(workers.pids) == 2
    finally:
        workers.shutdown()
