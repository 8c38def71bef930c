"""The ASGI app of `digits serve`: the drawing page and a JSON API over one loaded model.

Routes only parse the request, call the same core as `digits predict`
(`batch.prepare_one`, the MNIST-style preparation, run in worker processes on
a machine with several cores, then `predict.predictions`, one batched model
call) and return plain JSON. Every limit and every error answer is here, so a
bad request is a 4xx with `{"error": "..."}`, never a 500 and never a guess.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from .. import __version__, batch
from .. import predict as core
from ..errors import DigitsError
from .preparers import Preparers

MAX_FILES = 16  # images per request
MAX_BODY_BYTES = 8 << 20  # the whole request body, 8 MiB
MAX_TOP_K = core.lite.CLASSES
CORES = batch.workers()  # requests prepared at once, each in its own worker process; more only queue for the same cores
STATIC = Path(__file__).parent / "static"
ROUTES = "GET /, POST /api/predict, GET /api/health, GET /api/model"


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def serialised(classifier: core.Classifier) -> core.Classifier:
    """The classifier with its model calls taken one at a time: a LiteRT interpreter is not thread-safe."""
    lock = threading.Lock()
    run = classifier.run

    def locked(x):
        with lock:
            return run(x)

    return dataclasses.replace(classifier, run=locked)


def create_app(classifier: core.Classifier) -> FastAPI:
    """The app for an opened classifier; the model card is read from its file when first asked for.

    While the app runs (its lifespan) images are prepared in one worker process per core,
    if there are several; on one core, or outside the lifespan, in threads of this process.
    """
    classifier = serialised(classifier)
    # A malformed body is answered with its JSON error; the parser need not also log it on the server's stderr.
    logging.getLogger("python_multipart").setLevel(logging.ERROR)
    threads = anyio.CapacityLimiter(CORES)
    preparers = Preparers(CORES)  # running from the lifespan's start to its end, if it can start

    async def prepare(items: list[tuple[str, bytes]]) -> list[batch.Result]:
        if preparers.running:
            return list(await asyncio.gather(*(preparers.prepare(source) for _, source in items)))
        return await anyio.to_thread.run_sync(lambda: [batch.prepare_one(source) for _, source in items], limiter=threads)

    async def classify(names: list[str], prepared: list[batch.Result], top_k: int) -> list[core.FileResult]:
        if classifier.runtime == "LiteRT":  # a fraction of a millisecond: here, not worth a thread
            return core.predictions(classifier, names, prepared, top_k)
        return await anyio.to_thread.run_sync(core.predictions, classifier, names, prepared, top_k)

    card = {}
    card_lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if CORES > 1:
            try:
                await anyio.to_thread.run_sync(preparers.start)
            except OSError as exc:  # no processes to be had (a sandbox, a process limit): prepare in threads
                logging.getLogger("uvicorn.error").warning("preparing images in threads: cannot start worker processes (%s)", exc)
        try:
            yield
        finally:
            preparers.close()

    app = FastAPI(title="digits", version=__version__, docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest):
        return error(exc.status, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code == 404:
            return error(404, f"no such page: {request.url.path} (there are {ROUTES})")
        if exc.status_code == 405:
            allowed = exc.headers.get("Allow", "") if exc.headers else ""
            return JSONResponse(
                {"error": f"{request.method} is not allowed on {request.url.path} (use {allowed})"},
                status_code=405,
                headers=exc.headers,
            )
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem.get("loc", ())[1:]) or "request"
        return error(400, f"{where}: {problem.get('msg', 'invalid value')}")

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/health")
    async def health():
        return {
            "status": "ok",
            "version": __version__,
            "model": str(classifier.path),
            "runtime": classifier.runtime,
            "limits": {"max_files": MAX_FILES, "max_body_bytes": MAX_BODY_BYTES},
        }

    @app.get("/api/model")
    async def model():
        def read() -> dict:
            from ..card import model_card

            with card_lock:  # built once, by the first request that asks
                if not card:
                    card.update(model_card(classifier.path).to_json())
                return card

        try:
            return await anyio.to_thread.run_sync(read)
        except DigitsError as exc:
            return error(503, str(exc))

    @app.post("/api/predict")
    async def predict(
        request: Request,
        top_k: int = Query(3, ge=1, le=MAX_TOP_K, description="How many guesses per image."),
        show_input: bool = Query(False, description="Add the 28x28 image the model saw (0-255 rows)."),
    ):
        items = await read_files(request)
        results = await classify([name for name, _ in items], await prepare(items), top_k)
        records = []
        for result in results:
            record = result.record("file")
            if show_input and result.image is not None:
                record["input"] = (result.image * 255).round().astype(int).tolist()
            records.append(record)
        failed = [r for r in results if r.error is not None]
        if failed:
            message = "; ".join(f"{r.name}: {r.error}" for r in failed)
            return error(422, f"{len(failed)} of {len(results)} files failed: {message}", results=records)
        return JSONResponse({"results": records})  # plain JSON values already: no encoder pass over 784 pixels

    return app


async def read_files(request: Request) -> list[tuple[str, bytes]]:
    """The (name, bytes) of every `file` part, within the limits, or a BadRequest saying what is wrong."""
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        raise BadRequest(415, "send images as multipart/form-data, one part named file per image")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadRequest(413, f"request body of {int(declared):,} bytes is over the {MAX_BODY_BYTES:,}-byte limit")
    body = bytearray()
    async for chunk in request.stream():  # counted as it arrives: a body without a length is cut off too
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadRequest(413, f"request body is over the {MAX_BODY_BYTES:,}-byte limit")

    async def replay():
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=MAX_FILES + 1, max_fields=MAX_FILES + 1)
    except HTTPException as exc:  # Starlette's own multipart limits and parse errors
        if "Too many files" in str(exc.detail):
            raise BadRequest(400, f"too many files: at most {MAX_FILES} per request") from None
        raise BadRequest(400, f"bad multipart body: {exc.detail}") from None
    try:
        parts = form.getlist("file")
        if len(parts) > MAX_FILES:
            raise BadRequest(400, f"too many files: at most {MAX_FILES} per request")
        if not parts:
            raise BadRequest(400, "no file: send one or more multipart parts named file")
        items = []
        for number, part in enumerate(parts, 1):
            if not isinstance(part, UploadFile):
                raise BadRequest(400, f"part {number} named file is a plain field, not a file upload")
            items.append((part.filename or f"file {number}", await part.read()))
        return items
    finally:
        await form.close()
