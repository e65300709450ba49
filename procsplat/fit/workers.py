"""Objects of one scene fitted at once, one process each (`GAConfig.workers`).

A fit is one torch thread's work (`procsplat/threads.py`: on a CPU, single-threaded processes side
by side use the cores better than one process with more threads; `scripts/bench_threads.py`
measures two fits at once at 0.99x their solo time each on 2 cores), so a scene's objects are
fitted in `workers` forked processes, each with the scene already in memory (nothing is pickled
but the fit's result). Results come back as they finish; the caller saves each at once, so an
interrupted run keeps every finished fit. Where fork is not available (Windows, macOS's default
spawn) the objects are fitted one after the other in this process.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed

from procsplat.errors import ProcsplatError

_JOB = None  # (fn, items): set before the pool forks, read by its processes


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a container's or `taskset`'s share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_count(requested: int, jobs: int) -> int:
    """Processes for `jobs` fits: `requested`, 0 meaning one per available core; never more than jobs.
    0 in a process running other Python threads (the viewer's server, a training thread) means 1:
    forking there could copy a lock another thread holds."""
    if requested < 0:
        raise ProcsplatError(f"--ga.workers must be >= 0 (0: one per core), got {requested}")
    if requested == 0 and threading.active_count() > 1:
        return 1
    n = available_cores() if requested == 0 else requested
    return max(1, min(n, jobs))


def _run(i: int):
    fn, items = _JOB
    return i, fn(items[i])


def map_unordered(fn, items: list, workers: int):
    """Yields (index, fn(item)) for every item as each finishes: in `workers` forked processes, or
    in order in this process when workers is 1 (or fork is unavailable). fn and items reach the
    processes by fork, so they need not be picklable; fn's results must be."""
    global _JOB
    if workers <= 1 or len(items) <= 1 or "fork" not in mp.get_all_start_methods():
        for i, x in enumerate(items):
            yield i, fn(x)
        return
    _JOB = (fn, items)
    try:
        with ProcessPoolExecutor(min(workers, len(items)), mp_context=mp.get_context("fork")) as pool:
            futures = [pool.submit(_run, i) for i in range(len(items))]
            try:
                for f in as_completed(futures):
                    yield f.result()
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    finally:
        _JOB = None
