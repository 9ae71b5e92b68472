"""The HTTP service: the answer contract, article metadata, health, an OpenAI-compatible chat endpoint
and the follow-up page. The index and model load at start-up and again whenever `index/CURRENT` names a
new build (serve/live.py); inference runs in worker threads so the event loop never blocks. Logs carry
method, path, status and time, never question text."""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
import swagger_ui_bundle
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from followup import __version__
from followup.answer.pipeline import Answerer
from followup.core.errors import BackendUnavailable, InvalidRequest, UnknownArticle
from followup.core.types import Answer, AskRequest
from followup.index.layout import current_build
from followup.present.render import answer_to_contract, format_markdown, reference_to_contract, source_to_contract
from followup.serve.chat import MODEL_PREFIX, article_from_model, completion, question_and_history, stream_events
from followup.serve.live import LiveIndex, Snapshot, Watcher
from followup.serve.schemas import (
    AnswerOut,
    ArticleOut,
    ArticleSummary,
    AskBody,
    ChatBody,
    ChatCompletion,
    ErrorOut,
    Health,
    ModelList,
    Ready,
    ReloadOut,
    SourceOut,
)

log = logging.getLogger("followup.serve.app")
WEB = resources.files("followup") / "serve" / "web"
BUILD_HEADER = "X-Followup-Build"  # on every response computed from the index: the build it came from
BUILD_HEADER_DOC = {BUILD_HEADER: {"description": "the build this answer was computed from",
                                   "schema": {"type": "string"}}}  # fmt: skip


@dataclass(frozen=True)
class ServiceSettings:
    index_dir: Path
    corpus_dir: Path | None
    cors_origins: tuple[str, ...] = ()
    api_key: str | None = None  # when set, /v1/* needs "Authorization: Bearer <key>" or "X-API-Key: <key>"
    max_body_bytes: int = 64 * 1024  # far above any question with 20 turns of history
    # Answers computed at once; None: one per core with the ONNX encoder (one thread each), one with
    # torch, which spreads each answer over every core. Measured on 2 cores, 8 clients: ONNX with 2
    # slots 184 answers/s, with 1 slot 150/s; torch with no limit 45/s, with 1 slot 59/s.
    inference_slots: int | None = None
    # Seconds between reads of index/CURRENT; a new build there is loaded and swapped in. 0: never.
    reload_interval: float = 2.0


class BodySizeLimit:
    """413 for a body over the limit, whether announced by Content-Length or streamed in chunks."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse({"detail": f"request body over {self.limit} bytes"}, status_code=413)
        await response({"type": "http"}, _no_receive, send)


class _BodyTooLarge(Exception):
    pass


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


async def serving(request: Request, response: Response) -> Snapshot[Answerer]:
    """The live build, taken once: all the request computes comes from it, whatever reloads meanwhile."""
    live: LiveIndex[Answerer] = request.app.state.live
    snapshot = live.current()
    if snapshot is None:
        raise HTTPException(503, "the index and model are still loading")
    response.headers[BUILD_HEADER] = snapshot.build
    return snapshot


def check_key(request: Request) -> None:
    expected: str | None = request.app.state.settings.api_key
    if expected is None:
        return
    bearer = request.headers.get("authorization", "")
    given = bearer[7:] if bearer.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong API key", headers={"WWW-Authenticate": "Bearer"})


Serving = Annotated[Snapshot[Answerer], Depends(serving)]


def live_index(settings: ServiceSettings) -> LiveIndex[Answerer]:
    """The builds `settings` names, nothing loaded yet."""
    return LiveIndex(settings.index_dir, partial(Answerer.load, settings.index_dir, settings.corpus_dir))


def _slots_for(live: LiveIndex[Answerer]) -> int:
    from followup.embed.onnx_encoder import OnnxQueryEncoder

    snapshot = live.current()
    onnx = snapshot is not None and isinstance(snapshot.answerer.encoder, OnnxQueryEncoder)
    return (os.cpu_count() or 1) if onnx else 1


def create_app(
    settings: ServiceSettings, answerer: Answerer | None = None, live: LiveIndex[Answerer] | None = None
) -> FastAPI:
    """The app. It serves `live` when given (the CLI loads it first, to fail before serving); else
    `answerer`, as the build CURRENT names (tests share one loaded model); else it loads that build
    in the lifespan. Nothing but `live` may keep an answerer: a reload would not free it."""
    if live is None:
        live = live_index(settings)
        if answerer is not None:
            live.install(current_build(settings.index_dir).name, answerer)
    served = live  # for the closures below; they must never capture `answerer`, or no reload could free it

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if served.current() is None:
            await run_in_threadpool(served.load)
        slots.total_tokens = settings.inference_slots or _slots_for(served)
        watcher = Watcher(served, settings.reload_interval) if settings.reload_interval > 0 else None
        if watcher is not None:
            watcher.start()
        try:
            yield
        finally:
            if watcher is not None:  # waits for a reload in progress, off the event loop
                await run_in_threadpool(watcher.stop)

    app = FastAPI(
        title="followup",
        version=__version__,
        summary="Verbatim, cited answers to follow-up questions about a medical article.",
        lifespan=lifespan,
        docs_url=None,  # served below from the swagger-ui-bundle package: no CDN, works offline
        redoc_url=None,
        responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 500: {"model": ErrorOut}},
    )
    app.state.live = served
    app.state.settings = settings
    slots = anyio.CapacityLimiter(settings.inference_slots or _slots_for(served))

    async def answer_off_loop(snapshot: Snapshot[Answerer], request: AskRequest) -> Answer:
        """In a worker thread, so the event loop keeps serving health checks and other clients."""
        return await anyio.to_thread.run_sync(snapshot.answerer.answer, request, limiter=slots)

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key"],
                           expose_headers=[BUILD_HEADER])  # fmt: skip
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        log.info("%s %s %d %.1fms", request.method, request.url.path, response.status_code,
                 (time.perf_counter() - started) * 1000)  # fmt: skip
        return response

    @app.exception_handler(InvalidRequest)
    async def invalid(_: Request, error: InvalidRequest) -> JSONResponse:
        status = 404 if isinstance(error, UnknownArticle) else 400
        return JSONResponse({"detail": str(error)}, status_code=status)

    @app.exception_handler(BackendUnavailable)
    async def backend_down(_: Request, error: BackendUnavailable) -> JSONResponse:
        # The build's search engine is down: a retry later may succeed, so 503, and the message names it.
        log.warning("%s", error)
        return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.error("internal error: %s", type(error).__name__)  # no message: it could quote the request
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def unprocessable(_: Request, error: RequestValidationError) -> JSONResponse:
        # Name what is wrong and where, without echoing the submitted text back.
        problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
        return JSONResponse({"detail": problems}, status_code=422)

    keyed = [Depends(check_key)]

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=Ready, responses={503: {"model": ErrorOut}}, tags=["health"])
    async def readyz(snapshot: Serving) -> dict[str, Any]:
        """The index and model are loaded; the build answering and a summary of its manifest."""
        manifest = snapshot.answerer.index.manifest
        index = {"created_at": manifest.created_at, "counts": manifest.counts, "model": manifest.model,
                 "chunking": manifest.chunking, "followup_version": manifest.followup_version,
                 "corpus_hash": (manifest.corpus_hash or "")[:12]}  # fmt: skip
        return {"status": "ready", "build": snapshot.build, "index": index}

    @app.post("/v1/admin/reload", response_model=ReloadOut, dependencies=keyed,
              responses={503: {"model": ErrorOut}}, tags=["admin"])  # fmt: skip
    async def reload_index() -> dict[str, Any]:
        """Serve the build index/CURRENT names now, without waiting for the next periodic check.
        503 when it cannot be loaded (the detail says why): the build serving keeps serving."""
        outcome = await anyio.to_thread.run_sync(served.reload)  # loading takes seconds: off the loop
        if outcome.problem is not None:
            raise HTTPException(503, outcome.problem)
        return {"build": outcome.build, "previous": outcome.previous, "changed": outcome.changed}

    @app.post("/v1/ask", response_model=AnswerOut, dependencies=keyed, tags=["answers"],
              responses={200: {"headers": BUILD_HEADER_DOC}, 404: {"model": ErrorOut}})  # fmt: skip
    async def ask(body: AskBody, snapshot: Serving) -> dict[str, Any]:
        """Verbatim passages that answer the question, with citations, ordered by evidence tier."""
        request = AskRequest(body.question, tuple(body.history), body.article_id, body.top_k, body.mode)
        answer = await answer_off_loop(snapshot, request)
        return answer_to_contract(answer)

    @app.get("/v1/articles", response_model=list[ArticleSummary], dependencies=keyed, tags=["articles"])
    async def articles(snapshot: Serving) -> list[dict[str, Any]]:
        return [
            {"id": a.id, "title": a.title, "question": a.question, "last_updated": a.last_updated,
             "references": len(a.references)}
            for a in snapshot.answerer.index.articles.values()
        ]  # fmt: skip

    @app.get("/v1/articles/{article_id}", response_model=ArticleOut, dependencies=keyed,
             responses={404: {"model": ErrorOut}}, tags=["articles"])  # fmt: skip
    async def article(article_id: str, snapshot: Serving) -> dict[str, Any]:
        found = snapshot.answerer.index.articles.get(article_id)
        if found is None:
            raise UnknownArticle(article_id, list(snapshot.answerer.index.articles))
        return {"id": found.id, "title": found.title, "question": found.question, "last_updated": found.last_updated,
                "references": [reference_to_contract(found.id, r) for r in found.references]}  # fmt: skip

    @app.get("/v1/sources/{source_id:path}", response_model=SourceOut, dependencies=keyed,
             responses={404: {"model": ErrorOut}}, tags=["articles"])  # fmt: skip
    async def source(source_id: str, snapshot: Serving) -> dict[str, Any]:
        """A source's whole text (the article, or one of its references) with its sections and citation
        markers, so a passage can be shown where it stands: its `start`/`end` are offsets into `text`."""
        index = snapshot.answerer.index
        if source_id not in index.documents:
            raise HTTPException(
                404,
                f"unknown source {source_id!r}: a source is an article's id, or "
                "ARTICLE/ref-N for its reference N when the corpus holds its text",
            )
        return source_to_contract(index.articles[index.documents[source_id].article_id], index.documents[source_id])

    @app.get("/v1/models", response_model=ModelList, dependencies=keyed, tags=["chat"])
    async def models(snapshot: Serving) -> dict[str, Any]:
        """For chat UIs: "followup" searches every article, "followup/<id>" one."""
        names = [MODEL_PREFIX, *(f"{MODEL_PREFIX}/{a}" for a in snapshot.answerer.index.articles)]
        return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "followup"}
                                           for n in names]}  # fmt: skip

    @app.post("/v1/chat/completions", response_model=ChatCompletion, dependencies=keyed,
              responses={200: {"content": {"text/event-stream": {}}, "headers": BUILD_HEADER_DOC},
                         404: {"model": ErrorOut}}, tags=["chat"])  # fmt: skip
    async def chat(body: ChatBody, snapshot: Serving) -> Any:
        """OpenAI-compatible: the last user message is the question, earlier user messages the history;
        the answer is the extractive one as markdown, with the structured answer under `followup`."""
        question, history = question_and_history([(m.role, m.text()) for m in body.messages])
        request = AskRequest(question, history, article_from_model(body.model))
        answer = await answer_off_loop(snapshot, request)
        markdown = format_markdown(answer)
        if body.stream:  # a response returned whole does not get the headers `serving` set
            return StreamingResponse(stream_events(markdown, body.model), media_type="text/event-stream",
                                     headers={BUILD_HEADER: snapshot.build})  # fmt: skip
        return completion(markdown, answer_to_contract(answer), body.model)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(WEB / "index.html"), media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="followup API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")  # fmt: skip

    app.mount("/static", StaticFiles(directory=str(WEB)), name="static")
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")
    return app
