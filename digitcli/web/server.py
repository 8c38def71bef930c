"""Running the app on uvicorn: binding the socket, saying where to open the page, stopping cleanly."""

from __future__ import annotations

import asyncio
import signal
import socket
from dataclasses import dataclass
from typing import Callable

from ..errors import OutputError, Terminated

GRACE_SECONDS = 2  # open requests may finish this long after Ctrl-C or SIGTERM


@dataclass
class Address:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or an OutputError saying why there is none (port in use, unknown host)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError) as exc:
        raise OutputError(f"cannot listen on {host}: {getattr(exc, 'strerror', None) or exc}") from None
    # Said to be TCP (not protocol 0): asyncio turns Nagle's algorithm off (TCP_NODELAY) only on such
    # sockets, and with it on, each answer's body waited about 40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = "; choose another --port" if exc.errno in (98, 48, 10048) else ""
        raise OutputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
    sock.set_inheritable(True)
    return sock


def _fast_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (not on Windows), else asyncio's own (None).

    With 8 clients the server process spent about a tenth less CPU per request on it.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def lan_address() -> str | None:
    """This machine's address on its local network, as a phone on the same network would reach it."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # a UDP "connect" only picks a route; nothing is sent
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def run(app, sock: socket.socket, on_ready: Callable[[Address], None]) -> None:
    """Serve `app` on `sock` until Ctrl-C or SIGTERM, then re-raise that signal once the server has stopped.

    uvicorn handles both signals itself (finishing open requests for at most
    GRACE_SECONDS) and raises the signal again after shutting down, so the
    caller sees the usual KeyboardInterrupt or Terminated and its exit code;
    where that signal was ignored (a background job's SIGINT) they are raised here.
    """
    import uvicorn

    class Server(uvicorn.Server):
        stopped_by = None

        def handle_exit(self, sig, frame) -> None:
            self.stopped_by = self.stopped_by or sig
            super().handle_exit(sig, frame)

    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=GRACE_SECONDS, access_log=False)
    server = Server(config)
    host, port = sock.getsockname()[:2]

    async def main() -> None:
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if server.started:
            on_ready(Address(host, port))
        await serving

    try:
        with asyncio.Runner(loop_factory=_fast_loop()) as runner:
            runner.run(main())
    finally:
        sock.close()
    if server.stopped_by == signal.SIGINT:
        raise KeyboardInterrupt
    if server.stopped_by == signal.SIGTERM:
        raise Terminated()
