"""Preparing uploaded images in worker processes, so that requests at once use every core.

The MNIST-style preparation (`batch.prepare_one`, the same code as for image
files) is numpy and Pillow driven by Python: in one process the GIL keeps it
on one core however many threads run it, and with 8 clients on 2 cores the
requests then queue for that one core. The model itself stays in the server
process: it takes a fraction of a millisecond.

Each worker is a process with a pipe of its own. The server's event loop
writes an image's bytes to an idle worker and waits, like for a socket, until
the result can be read: no thread, queue or executor sits between them, since
with a drawing pad's small images those hand-offs cost as much CPU as the
preparation itself.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import multiprocessing
import platform
import signal
import threading
from multiprocessing.connection import Connection

from .. import batch

STOPPED = "could not be prepared: the worker process preparing it stopped"
# glibc's mallopt parameters, and what a worker keeps: its heap grows by 16 MiB, shrinks only past
# 128 MiB free, and serves blocks up to 8 MiB (a phone photo's arrays are larger and still mapped apart).
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
KEEP = {M_TRIM_THRESHOLD: 128 << 20, M_TOP_PAD: 16 << 20, M_MMAP_THRESHOLD: 8 << 20}


def _work(connection: Connection) -> None:
    """A worker's life: prepare each image sent, until the pipe closes."""
    # Ctrl-C reaches the whole process group; the server stops its workers itself, without their tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _keep_freed_memory()
    from .. import photo  # noqa: F401  (OpenCV loaded before the first request, not during it)

    connection.send(None)  # ready
    while True:
        try:
            source = connection.recv_bytes()
        except (EOFError, OSError):  # the server closed the pipe
            return
        connection.send(batch.prepare_one(source))


def _keep_freed_memory() -> None:
    """Keep freed memory for the next image rather than give it back to the system (glibc only).

    glibc hands large freed blocks (the decoded canvas, the preparation's arrays)
    back at once, so each image paid again for fresh zeroed pages: with 8 clients
    about a fifth of a worker's CPU time.
    """
    if platform.libc_ver()[0] != "glibc":
        return
    libc = ctypes.CDLL(None)
    for parameter, value in KEEP.items():
        libc.mallopt(parameter, value)


class Worker:
    """One spawned process running `_work`, and the server's end of its pipe."""

    def __init__(self, context):
        self.connection, theirs = context.Pipe()
        # spawn, not fork: the server process has threads (the event loop's, LiteRT's) that a fork would copy mid-step.
        self.process = context.Process(target=_work, args=(theirs,), daemon=True)
        self.process.start()
        theirs.close()
        if self.connection.recv() is not None:  # waits until the preparation is imported: no request waits for that
            raise OSError("a worker process did not start")
        self.owed = False  # an answer is on its way that nobody waits for any more (its request was cancelled)

    async def ask(self, source: bytes) -> batch.Result:
        if self.owed:
            await self._answer()
        self.connection.send_bytes(source)  # the worker is reading already: this waits for no one
        self.owed = True
        return await self._answer()

    async def _answer(self) -> batch.Result:
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        fd = self.connection.fileno()
        loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
        try:
            await readable
        finally:
            loop.remove_reader(fd)
        result = self.connection.recv()
        self.owed = False
        return result

    def stop(self) -> None:
        self.connection.close()
        self.process.terminate()


class Preparers:
    """A pool of `processes` worker processes running `batch.prepare_one`, asked from the event loop."""

    def __init__(self, processes: int):
        self.processes = processes
        self._context = multiprocessing.get_context("spawn")
        self._idle: collections.deque[Worker | None] | None = None  # made when first needed, in the event loop
        self._waiting: collections.deque[asyncio.Future] = collections.deque()  # requests waiting for a worker, oldest first
        self._workers: list[Worker] = []
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return bool(self._workers)

    def start(self) -> None:
        """Start every worker and wait until each is ready; an OSError when they cannot start."""
        workers = []
        try:
            for _ in range(self.processes):
                workers.append(Worker(self._context))
        except (EOFError, OSError) as exc:
            for worker in workers:
                worker.stop()
            raise OSError(f"worker processes did not start: {exc}") from None
        self._workers = workers

    async def prepare(self, source: bytes) -> batch.Result:
        """What `batch.prepare_one(source)` returns, prepared by the next idle worker."""
        worker = await self._take()
        if worker is None:  # no worker left, nor any to be had: in a thread of this process
            self._give(None)  # for the next one waiting
            return await asyncio.to_thread(batch.prepare_one, source)
        try:
            return await worker.ask(source)
        except (EOFError, OSError):  # the worker died on this image (or the pool was closed)
            worker = await asyncio.to_thread(self._replace, worker)
            return batch.Result(None, STOPPED)
        finally:
            if worker is not None or not self.running:
                self._give(worker)

    async def _take(self) -> Worker | None:
        """The next idle worker, first come first served.

        A freed worker goes straight to the request that has waited longest: with
        asyncio.Queue a request arriving meanwhile could take it first, and the one
        woken would queue again at the back (with 8 clients, p95 was 1.7 times the median, and 1.25 times since).
        """
        if self._idle is None:
            self._idle = collections.deque(self._workers)
        if self._idle and not self._waiting:
            return self._idle.popleft()
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._give(turn.result())  # handed over as the request was cancelled: to the next
            else:
                self._waiting.remove(turn)
            raise

    def _give(self, worker: Worker | None) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(worker)
                return
        self._idle.append(worker)

    def _replace(self, dead: Worker) -> Worker | None:
        """A fresh worker in the dead one's place; None once the pool is closed or no process can be started."""
        dead.stop()
        with self._lock:
            if dead not in self._workers:
                return None
            try:
                worker = Worker(self._context)
            except (EOFError, OSError):
                self._workers.remove(dead)
                return None
            self._workers[self._workers.index(dead)] = worker
            return worker

    def close(self) -> None:
        with self._lock:
            for worker in self._workers:
                worker.stop()
            self._workers = []
