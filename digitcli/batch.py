"""Preparing many image files at once, on every core.

Phone photos take a good fraction of a second each to decode and prepare, so
a folder of them is spread over a pool of processes (one per core, each
preparing one image at a time). Results come back in the order given; a file
that fails carries its one-line reason instead of an array. Small batches stay
in this process, where starting workers would cost more than it saves.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np

POOL_FROM = 16  # fewer images than this are prepared in this process
WORKERS_VARIABLE = "DIGITS_WORKERS"  # how many processes to use; 1 prepares everything here


@dataclass
class Result:
    array: np.ndarray | None  # (28, 28) float32, or None when the file failed
    error: str | None = None  # the reason, one line, without the file's name
    notes: list[str] = field(default_factory=list)


def workers() -> int:
    """Processes to use: DIGITS_WORKERS if set, else the cores this process may run on."""
    given = os.environ.get(WORKERS_VARIABLE, "").strip()
    if given.isdigit() and int(given) >= 1:
        return int(given)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def prepare_one(source) -> Result:
    """One file (a path or its bytes) prepared as preprocess.load does, with its notes; an ImageError becomes its message."""
    from . import preprocess
    from .errors import ImageError

    try:
        prepared = preprocess.prepare(preprocess.open_image(source, reduce_to=preprocess.WORK_LIMIT))
    except ImageError as exc:
        return Result(None, str(exc))
    return Result(prepared.array, None, prepared.notes)


def prepare_all(sources: list, pool: bool = True) -> list[Result]:
    """Every source prepared, in order; on a pool of processes when there are many and `pool` allows it."""
    count = min(workers(), len(sources)) if pool else 1
    if count <= 1 or len(sources) < POOL_FROM:
        return [prepare_one(source) for source in sources]
    # Fresh workers (spawned), not forks of this process: it may already run the model's threads.
    pool = ProcessPoolExecutor(max_workers=count, mp_context=get_context("spawn"))
    try:
        results = list(pool.map(prepare_one, sources, chunksize=max(1, min(8, len(sources) // (4 * count)))))
    except BaseException:  # Ctrl-C, SIGTERM: stop now, not after the queued images
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return results
