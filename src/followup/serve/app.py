"""The HTTP service: the answer contract, article metadata, health, an OpenAI-compatible chat endpoint,
clinicians' feedback on passages and the follow-up page. The index and model load at start-up and again
whenever `index/CURRENT` names a new build (serve/live.py); inference runs in worker threads so the event
loop never blocks. Logs carry method, path, status and time, never question text.

`create_app` composes the parts: the request dependencies (serve/dependencies.py), the middleware and
exception handlers (serve/middleware.py) and the routes by concern (serve/routes/)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from followup import __version__
from followup.answerer import Answerer
from followup.index.layout import current_build
from followup.serve.dependencies import BUILD_HEADER, live_index
from followup.serve.live import LiveIndex, Watcher
from followup.serve.middleware import add_exception_handlers, add_middleware
from followup.serve.routes import answers, articles, chat, feedback, health, pages
from followup.serve.schemas import ErrorOut
from followup.serve.settings import ServiceSettings

__all__ = ["BUILD_HEADER", "ServiceSettings", "create_app", "live_index"]


def _slots_for(live: LiveIndex[Answerer]) -> int:
    from followup.embed.encoder import OnnxQueryEncoder

    snapshot = live.current()
    onnx = snapshot is not None and isinstance(snapshot.answerer.encoder, OnnxQueryEncoder)
    return (os.cpu_count() or 1) if onnx else 1


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Loads the build CURRENT names unless one is served already, sizes the inference slots for its
    encoder, and watches CURRENT while the app runs."""
    live: LiveIndex[Answerer] = app.state.live
    settings: ServiceSettings = app.state.settings
    if live.current() is None:
        await run_in_threadpool(live.load)
    app.state.inference_slots.total_tokens = settings.inference_slots or _slots_for(live)
    watcher = Watcher(live, settings.reload_interval) if settings.reload_interval > 0 else None
    if watcher is not None:
        watcher.start()
    try:
        yield
    finally:
        if watcher is not None:  # waits for a reload in progress, off the event loop
            await run_in_threadpool(watcher.stop)


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
    app = FastAPI(
        title="followup",
        version=__version__,
        summary="Verbatim, cited answers to follow-up questions about a medical article.",
        lifespan=lifespan,
        docs_url=None,  # served by routes/pages.py from the swagger-ui-bundle package: no CDN, works offline
        redoc_url=None,
        responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 500: {"model": ErrorOut}},
    )
    app.state.live = live
    app.state.settings = settings
    app.state.inference_slots = anyio.CapacityLimiter(settings.inference_slots or _slots_for(live))
    add_middleware(app, settings)
    add_exception_handlers(app)
    for routes in (health, answers, articles, chat, feedback, pages):
        app.include_router(routes.router)
    pages.mount_static(app)
    return app
