"""What keeps `POST /api/predict` fast: answers leave at once, and images are prepared on every core."""

from __future__ import annotations

import asyncio
import io
import os
import socket
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest
from PIL import Image

from digitcli import data, preprocess
from digitcli.web import server
from digitcli.web.preparers import Preparers


def test_accepted_connections_send_answers_at_once():
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
        assert asyncio.run(accepted_nodelay()) != 0
    finally:
        sock.close()


# --- preparing in worker processes ------------------------------------------------------------------


@pytest.fixture(scope="module")
def preparers():
    workers = Preparers(2)
    workers.start()
    yield workers
    workers.close()


def canvas_png(digit: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(255 - digit).resize((280, 280), Image.BILINEAR).convert("RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def test_worker_processes_prepare_images_exactly_as_in_process(preparers):
    for digit in data.load("bundled").x_test[:3]:
        png = canvas_png(digit)
        assert np.array_equal(preparers.prepare(png).array, preprocess.load(png, "pad.png"))
    assert preparers.prepare(b"hello").error == "not an image file"


def test_a_worker_that_dies_costs_one_file_not_the_server(preparers):
    png = canvas_png(data.load("bundled").x_test[0])
    with pytest.raises(BrokenProcessPool):  # a worker dies, as if the system had killed it
        preparers._pool.submit(os._exit, 1).result()
    assert preparers.prepare(png).error == "could not be prepared: the worker process preparing it stopped"
    assert np.array_equal(preparers.prepare(png).array, preprocess.load(png))  # a new pool took over
