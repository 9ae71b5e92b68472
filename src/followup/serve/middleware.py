"""Around every request: the body size limit, CORS when origins are allowed, the access log (method,
path, status and time, never question text), and the exception handlers that turn errors into JSON
responses without echoing what was submitted."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from followup.core.errors import BackendUnavailable, InvalidRequest, UnknownArticle
from followup.serve.dependencies import BUILD_HEADER
from followup.serve.settings import ServiceSettings

log = logging.getLogger("followup.serve.app")  # the service's log, named as it always was


class BodySizeLimit:
    """413 for a body over the limit, whether announced by Content-Length or streamed in chunks. The
    body is read here, whole (it is at most `limit` bytes), and handed on: an error raised while the
    app reads it would reach FastAPI's body parser, which turns any error into a 400."""

    def __init__(self, app: ASGIApp, limit: int, read_timeout: float = 10.0) -> None:
        self.app, self.limit, self.read_timeout = app, limit, read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        body = bytearray()
        # A body trickled a byte at a time would hold a connection and an answer slot's worth of
        # memory for as long as the client liked: it must arrive within `read_timeout`.
        with anyio.move_on_after(self.read_timeout) as timer:
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    return
                body += message.get("body", b"")
                if len(body) > self.limit:
                    await self._refuse(send)
                    return
                if not message.get("more_body", False):
                    break
        if timer.cancelled_caught:
            detail = f"request body not received within {self.read_timeout:g} s"
            await JSONResponse({"detail": detail}, status_code=408)({"type": "http"}, _no_receive, send)
            return
        handed = False

        async def replay() -> Message:
            nonlocal handed
            if handed:
                return await receive()  # after the body: a disconnect, for streaming responses
            handed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse({"detail": f"request body over {self.limit} bytes"}, status_code=413)
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def printable(text: str) -> str:
    """The text with control characters written as escapes: a path is the client's to choose, and
    "%1b[2J" decoded would clear the terminal that shows the log ("%00" would write a NUL)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    log.info("%s %s %d %.1fms", printable(request.method), printable(request.url.path), response.status_code,
             (time.perf_counter() - started) * 1000)  # fmt: skip
    return response


def add_middleware(app: FastAPI, settings: ServiceSettings) -> None:
    """CORS innermost, then the body size limit, then the access log, outermost."""
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key"],
                           expose_headers=[BUILD_HEADER])  # fmt: skip
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes, read_timeout=settings.read_timeout)
    app.middleware("http")(access_log)


async def invalid(_: Request, error: InvalidRequest) -> JSONResponse:
    status = 404 if isinstance(error, UnknownArticle) else 400
    return JSONResponse({"detail": str(error)}, status_code=status)


async def backend_down(_: Request, error: BackendUnavailable) -> JSONResponse:
    # The build's search engine is down: a retry later may succeed, so 503, and the message names it.
    log.warning("%s", error)
    return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "5"})


async def unexpected(_: Request, error: Exception) -> JSONResponse:
    log.error("internal error: %s", type(error).__name__)  # no message: it could quote the request
    return JSONResponse({"detail": "internal error"}, status_code=500)


async def unprocessable(_: Request, error: RequestValidationError) -> JSONResponse:
    # Name what is wrong and where, without echoing the submitted text back.
    problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
    return JSONResponse({"detail": problems}, status_code=422)


def add_exception_handlers(app: FastAPI) -> None:
    app.exception_handler(InvalidRequest)(invalid)
    app.exception_handler(BackendUnavailable)(backend_down)
    app.exception_handler(Exception)(unexpected)
    app.exception_handler(RequestValidationError)(unprocessable)
