"""`digits serve`: a page to draw digits on and watch them recognised, and a JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from .cmd_eval import open_model
from .errors import Terminated
from .ui import DEFAULT_MODEL_PATH, ModelPathOption, err, out, say, user_errors

ALL_INTERFACES = ("0.0.0.0", "::")


def serve(
    model: ModelPathOption = DEFAULT_MODEL_PATH,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; 0.0.0.0 makes the page reachable from your network (a phone).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on; 0 picks a free one.")] = 8000,
) -> None:
    """Serve a page to draw digits on (mouse, finger or pen) and a JSON API, until Ctrl-C.

    The API: POST /api/predict (multipart parts named file), GET /api/health, GET /api/model.
    """
    with user_errors():
        from .web import server
        from .web.app import create_app

        classifier = open_model(model)  # loaded once, before the port opens
        sock = server.bind(host, port)
        say(err, f"Model: {model} ({classifier.runtime})")

        def ready(address: server.Address) -> None:
            if host not in ALL_INTERFACES:
                say(out, f"Serving on {address.url} (Ctrl-C to stop)")
                return
            local = server.Address("127.0.0.1", address.port).url
            lan = server.lan_address()
            say(out, f"Serving on all interfaces: {local} on this machine" + (f", {server.Address(lan, address.port).url} from a phone on the same network" if lan else "") + " (Ctrl-C to stop)")
            say(err, "Warning: the page and the API are reachable from your network, without a password.", style="yellow")

        try:
            server.run(create_app(classifier), sock, ready)
        except KeyboardInterrupt:
            say(err, "Stopped by Ctrl-C.")
            raise typer.Exit(130) from None
        except Terminated:
            say(err, "Stopped by SIGTERM.")
            raise typer.Exit(143) from None
