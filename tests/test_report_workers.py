"""The figure workers (report/_workers.py): one warm-up shared by forking, futures that
behave as an executor's, and no hang when a worker dies."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

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


#: A gate the task _held waits on; set before the workers are forked, so that they share it
#: (the tests open it when the queued tasks have been looked at: no timing assumption).
GATE: list = []


def _held() -> int:
    assert GATE[0].wait(TIMEOUT)
    return os.getpid()


def _gated_workers(count: int) -> tuple[Workers, object]:
    import multiprocessing

    GATE[:] = [multiprocessing.get_context("fork").Event()]
    return Workers(count, lambda: None), GATE[0]


def _fail(message: str) -> None:
    raise ValueError(message)


def _die() -> None:
    os._exit(3)


def _unpicklable():
    return lambda: None


def _explode():
    raise ValueError("cannot be rebuilt here")


class Unloadable:
    """Pickles here; unpickling it (in the worker) raises."""

    def __reduce__(self):
        return _explode, ()


def _gone(pid: int) -> bool:
    """No such process, or a zombie (exited; an orphan's is reaped by init, whenever)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


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
        unloadable = workers.submit(pow, Unloadable(), 2)
        with pytest.raises(BrokenProcessPool, match="could not be received.*cannot be rebuilt"):
            unloadable.result(timeout=TIMEOUT)
        assert workers.submit(pow, 3, 3).result(timeout=TIMEOUT) == 27  # still serving
    finally:
        workers.shutdown()


def test_a_task_no_worker_has_started_can_be_cancelled():
    workers, gate = _gated_workers(1)
    try:
        pid = workers.warming[0].result(timeout=TIMEOUT)
        busy = workers.submit(_held)
        queued = [workers.submit(pow, 2, i) for i in range(3)]
        deadline = time.monotonic() + TIMEOUT
        while not busy.running() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert busy.running() and not busy.cancel()  # started: cannot be cancelled
        assert queued[2].cancel() and queued[2].cancelled()
        gate.set()
        assert busy.result(timeout=TIMEOUT) == pid
        assert [f.result(timeout=TIMEOUT) for f in queued[:2]] == [1, 2]
        with pytest.raises(CancelledError):
            queued[2].result()
    finally:
        gate.set()
        workers.shutdown()


def test_shutdown_cancels_what_is_queued_and_stops_the_workers():
    import threading

    workers, gate = _gated_workers(1)
    pid = workers.warming[0].result(timeout=TIMEOUT)
    busy = workers.submit(_held)
    queued = workers.submit(pow, 2, 2)
    deadline = time.monotonic() + TIMEOUT
    while not busy.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    threading.Timer(0.3, gate.set).start()  # opens while shutdown() waits for it
    workers.shutdown()
    assert busy.result(timeout=0) == pid  # the running task finished first
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
        assert len({f.result(timeout=TIMEOUT) for f in workers.warming}) == 2
        assert len(workers.pids) == 2
    finally:
        workers.shutdown()


def test_workers_whose_main_process_is_gone_exit_without_a_traceback():
    code = f"""
import os, sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
from empathy_metrics.report._workers import Workers
from test_report_workers import _who
workers = Workers(2, lambda: None)
pids = [f.result(timeout=60) for f in workers.warming]
print(*pids, flush=True)
workers.submit(_who, 1.0)
time.sleep(0.3)
os._exit(0)  # gone without shutdown(), a task running
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=TIMEOUT)  # returns once every holder of stderr has exited
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + TIMEOUT  # the pipes close a moment before the exit ends
    while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(_gone(pid) for pid in pids)
    assert out.stderr == ""


def _no_more_forks() -> None:
    def fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    os.fork = fork  # in the first worker only: its fork of the second fails


def test_a_second_worker_that_cannot_be_forked_leaves_the_first_serving(capfd):
    workers = Workers(2, _no_more_forks)
    try:
        outcomes = []
        for future in workers.warming:
            try:
                outcomes.append(future.result(timeout=TIMEOUT))
            except BrokenProcessPool:
                outcomes.append(None)
        assert sorted(outcomes, key=str)[1:] == [None] and outcomes.count(None) == 1
        assert [workers.submit(pow, 2, i).result(timeout=TIMEOUT) for i in range(3)] == \
            [1, 2, 4]
    finally:
        workers.shutdown()
    assert "Traceback" not in capfd.readouterr().err
