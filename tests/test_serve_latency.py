"""What keeps `POST /api/predict` fast: answers leave at once, and the JSON is built directly."""

from __future__ import annotations

import asyncio
import socket

from digitcli.web import server


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
