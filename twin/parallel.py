"""Independent solves (outages, scenario variants) pulled by worker threads over GIL-free kernels.

The Numba kernels of N-1 (:mod:`twin.grid.contingency`) and of many-variant hydraulics
(:mod:`twin.water.batch`) release the GIL, so threads use as many cores as the process gets. Items
are pulled in chunks from a shared counter (no lock, no waiting). On a machine busy with other
work, an extra thread that does not add CPU to the process only time-slices the cores the others
already have; each extra thread therefore checks every :data:`PROBE_S` seconds that it adds at
least :data:`MIN_GAIN` of a core, and otherwise retires, leaving its share of the work to the
threads that remain. Nothing spin-waits.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

__all__ = ["MIN_GAIN", "PROBE_S", "available_cores", "run_pulled", "thread_count"]

#: seconds between an extra thread's checks that it adds CPU to the process
PROBE_S = 0.2
#: least share of a core each extra thread must add to the process's CPU rate to keep working
MIN_GAIN = 0.3


def available_cores() -> int:
    """CPU cores this process may run on (more threads than that only add switching).

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def thread_count(workers: int | None, n: int, per_thread: int = 1) -> int:
    """Threads for ``n`` items: ``workers`` if positive, else (None or 0) the available cores;
    never more than one per ``per_thread`` items, never fewer than one.

    Examples
    --------
    >>> thread_count(1, 1000), thread_count(4, 2), thread_count(0, 3, per_thread=8)
    (1, 2, 1)
    """
    wanted = int(workers) if workers is not None and int(workers) > 0 else available_cores()
    return max(1, min(wanted, n // max(per_thread, 1)))


def run_pulled(n: int, do: Callable[[int, dict[str, Any]], None], workers: int, *, chunk: int = 1) -> None:
    """Call ``do(i, workspace)`` for every ``i`` in ``range(n)`` on ``workers`` threads.

    Items are pulled ``chunk`` at a time from a shared counter; each thread passes its own
    ``workspace`` dict to ``do`` (for work arrays built once per thread). The calling thread works
    too; the extra threads retire when they add no CPU to the process (see the module notes).
    Exceptions raised by ``do`` propagate to the caller.

    Examples
    --------
    >>> out = [0] * 10
    >>> def square(i, ws):
    ...     out[i] = i * i
    >>> run_pulled(10, square, 2, chunk=3)
    >>> out
    [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
    """
    counter = itertools.count()
    active = [max(1, workers)]
    lock = threading.Lock()

    def work(extra: bool = False) -> None:
        ws: dict[str, Any] = {}
        wall0, cpu0 = time.perf_counter(), time.process_time()
        while True:
            start = next(counter) * chunk
            if start >= n:
                return
            for i in range(start, min(n, start + chunk)):
                do(i, ws)
            if extra and time.perf_counter() - wall0 >= PROBE_S:
                wall, cpu = time.perf_counter(), time.process_time()
                if cpu - cpu0 < (1.0 + MIN_GAIN * (active[0] - 1)) * (wall - wall0):
                    with lock:
                        active[0] -= 1
                    return
                wall0, cpu0 = wall, cpu

    if workers <= 1 or n <= chunk:
        work()
        return
    with ThreadPoolExecutor(workers - 1, thread_name_prefix="twin-worker") as pool:
        futures = [pool.submit(work, True) for _ in range(workers - 1)]
        work()
        for fut in futures:
            fut.result()
