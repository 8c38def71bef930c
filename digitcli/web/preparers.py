"""Preparing uploaded images in worker processes, so that requests at once use every core.

The MNIST-style preparation (`batch.prepare_one`, the same code as for image
files) is numpy and Pillow driven by Python: in one process the GIL keeps it
on one core however many threads run it, and with 8 clients on 2 cores the
requests then queue for that one core. The model itself stays in the server
process: it takes a fraction of a millisecond.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .. import batch


def _started() -> None:
    # Ctrl-C reaches the whole process group; the server stops its workers itself, without their tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ready() -> int:
    from .. import photo  # noqa: F401  (OpenCV loaded before the first request, not during it)

    return os.getpid()


class Preparers:
    """A pool of `processes` worker processes running `batch.prepare_one`; `prepare` has its signature."""

    def __init__(self, processes: int):
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start every worker and wait until each has imported the preparation, so no request waits for that."""
        # spawn, not fork: the server process has threads (the event loop's, LiteRT's) that a fork would copy mid-step.
        self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_started)
        for future in [self._pool.submit(_ready) for _ in range(self.processes)]:
            future.result()

    def prepare(self, source: bytes) -> batch.Result:
        pool = self._pool
        if pool is None:  # closed while a request was on its way, or no processes to be had: in this thread
            return batch.prepare_one(source)
        try:
            return pool.submit(batch.prepare_one, source).result()
        except BrokenProcessPool:
            self._restart(pool)
            return batch.Result(None, "could not be prepared: the worker process preparing it stopped")

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:  # once, however many requests saw the same broken pool
            if self._pool is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                try:
                    self.start()
                except OSError:
                    self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
