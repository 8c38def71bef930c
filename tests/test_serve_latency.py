"""What keeps `POST /api/predict` fast: answers leave at once, and images are prepared on every core."""

from __future__ import annotations

import asyncio
import io
import os
import platform
import socket
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from digitcli import data, preprocess
from digitcli.web import server
from digitcli.web.preparers import Preparers


def test_the_server_runs_on_uvloop_where_it_is_installed():
    uvloop = pytest.importorskip("uvloop", reason="uvloop has no Windows build")
    assert server._fast_loop() is uvloop.new_event_loop


@pytest.mark.parametrize("loop", ["asyncio", "the server's"])
def test_accepted_connections_send_answers_at_once(loop):
    # With Nagle's algorithm on, an answer's body (written after its headers) waited about 40 ms
    # for the client's delayed ACK; asyncio turns it off only on sockets that say they are TCP.
    sock = server.bind("127.0.0.1", 0)

    async def accepted_nodelay() -> int:
        loop = asyncio.get_running_loop()
        seen = loop.create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):
                seen.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        listening = await loop.create_server(Probe, sock=sock)  # as uvicorn serves the socket
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            listening.close()

    try:
        assert sock.proto == socket.IPPROTO_TCP
        with asyncio.Runner(loop_factory=server._fast_loop() if loop == "the server's" else None) as runner:
            assert runner.run(accepted_nodelay()) != 0
    finally:
        sock.close()


# --- preparing in worker processes ------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool():
    """Two worker processes, and one event loop to ask them from (their queue belongs to it)."""
    workers = Preparers(2)
    workers.start()
    with asyncio.Runner() as runner:
        yield workers, runner
    workers.close()


def ask(pool, *sources: bytes) -> list:
    workers, runner = pool

    async def all_at_once():
        return await asyncio.gather(*(workers.prepare(source) for source in sources))

    return runner.run(all_at_once())


def canvas_png(digit: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(255 - digit).resize((280, 280), Image.BILINEAR).convert("RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def test_worker_processes_prepare_images_exactly_as_in_process(pool):
    pngs = [canvas_png(digit) for digit in data.load("bundled").x_test[:5]]
    results = ask(pool, *pngs, b"hello")
    for png, result in zip(pngs, results):
        assert np.array_equal(result.array, preprocess.load(png, "pad.png"))
    assert results[-1].error == "not an image file"


def test_an_answer_left_by_a_cancelled_request_goes_to_no_other(pool):
    workers, runner = pool
    seven, two = (canvas_png(digit) for digit in data.load("bundled").x_test[:2])

    async def cancelled():
        asks = [asyncio.ensure_future(workers.prepare(seven)) for _ in range(2)]  # one for each worker
        await asyncio.sleep(0.001)  # both sent
        for task in asks:
            task.cancel()
        await asyncio.gather(*asks, return_exceptions=True)

    runner.run(cancelled())
    for result in ask(pool, two, two):
        assert np.array_equal(result.array, preprocess.load(two))


def test_a_worker_that_dies_costs_one_file_not_the_server(pool):
    workers, _ = pool
    png = canvas_png(data.load("bundled").x_test[0])
    for worker in workers._workers:  # both die, as if the system had killed them
        worker.process.kill()
        worker.process.join()
    assert [r.error for r in ask(pool, png, png)] == ["could not be prepared: the worker process preparing it stopped"] * 2
    assert all(np.array_equal(r.array, preprocess.load(png)) for r in ask(pool, png, png))  # new workers took over
    assert all(worker.process.is_alive() for worker in workers._workers)


def test_a_freed_worker_goes_to_the_request_that_waited_longest():
    pool = Preparers(1)
    pool._workers = ["the worker"]  # the hand-off alone, without processes

    async def turns() -> list[str]:
        order = []

        async def request(name: str) -> None:
            worker = await pool._take()
            order.append(name)
            await asyncio.sleep(0)
            pool._give(worker)

        first = await pool._take()  # busy
        waiting = asyncio.ensure_future(request("waited"))
        await asyncio.sleep(0)  # now queued for the worker
        pool._give(first)
        late = asyncio.ensure_future(request("came later"))  # arrives as the worker is freed
        await asyncio.gather(waiting, late)
        return order

    assert asyncio.run(turns()) == ["waited", "came later"]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_workers_keep_freed_memory_for_the_next_image():
    # Without it glibc gives every freed block of 1 MiB back to the system at once, and each image
    # paid again for fresh zeroed pages.
    def resident_after_freeing(keep: bool) -> int:
        code = (
            "import numpy as np\n"
            "from digitcli.web import preparers\n"
            f"if {keep}: preparers._keep_freed_memory()\n"
            "blocks = [np.ones(1 << 20, np.uint8) for _ in range(64)]\n"
            "del blocks\n"
            "print(int(open('/proc/self/statm').read().split()[1]))\n"
        )
        return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)

    pages = (64 << 20) // os.sysconf("SC_PAGE_SIZE")
    assert resident_after_freeing(True) - resident_after_freeing(False) > 0.9 * pages
