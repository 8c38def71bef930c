"""Preparing uploaded images in worker processes, so that requests at once use every core.

The MNIST-style preparation (`preprocess.load`, the same code as for image
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

import numpy as np

from .. import preprocess
from ..errors import ImageError


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _started() -> None:
    # Ctrl-C reaches the whole process group; the server stops its workers itself, without their tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ready() -> int:
    return os.getpid()


class Preparers:
    """A pool of `processes` worker processes running `preprocess.load`; `load` has its signature."""

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

    def load(self, source: bytes, name: str | None = None) -> np.ndarray:
        pool = self._pool
        if pool is None:  # closed while a request was on its way, or no processes to be had: in this thread
            return preprocess.load(source, name)
        try:
            return pool.submit(preprocess.load, source, name).result()
        except BrokenProcessPool:
            self._restart(pool)
            raise ImageError("could not be prepared: the worker process preparing it stopped") from None

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
