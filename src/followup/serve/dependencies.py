"""What a request depends on: the live index, the build it is answered from (taken once, named in a
header), the API key, and a slot to compute its answer in. The app keeps them in `app.state`
(serve/app.py); nothing here keeps an answerer, so a reload frees the build it replaces."""

from __future__ import annotations

import hmac
from functools import partial
from typing import Annotated, Any, cast

import anyio
import anyio.to_thread
from fastapi import Depends, HTTPException, Request, Response

from followup.answerer import Answerer
from followup.core.types import AskRequest
from followup.present.contract import Answer
from followup.serve.live import LiveIndex, Snapshot
from followup.serve.settings import ServiceSettings

BUILD_HEADER = "X-Followup-Build"  # on every response computed from the index: the build it came from
BUILD_HEADER_DOC: dict[str, Any] = {BUILD_HEADER: {"description": "the build this answer was computed from",
                                                   "schema": {"type": "string"}}}  # fmt: skip


def live_index(settings: ServiceSettings) -> LiveIndex[Answerer]:
    """The builds `settings` names, nothing loaded yet."""
    return LiveIndex(settings.index_dir, partial(Answerer.load, settings.index_dir, settings.corpus_dir))


def live(request: Request) -> LiveIndex[Answerer]:
    """The service's live index: the one holder of the answerer serving."""
    return cast(LiveIndex[Answerer], request.app.state.live)


async def serving(request: Request, response: Response) -> Snapshot[Answerer]:
    """The live build, taken once: all the request computes comes from it, whatever reloads meanwhile."""
    snapshot = live(request).current()
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


def inference_slots(request: Request) -> anyio.CapacityLimiter:
    """The answers computed at once (ServiceSettings.inference_slots); sized when the app starts."""
    return cast(anyio.CapacityLimiter, request.app.state.inference_slots)


Live = Annotated[LiveIndex[Answerer], Depends(live)]
Serving = Annotated[Snapshot[Answerer], Depends(serving)]
Slots = Annotated[anyio.CapacityLimiter, Depends(inference_slots)]
KEYED = (Depends(check_key),)  # the dependencies of every /v1/* route


async def answer_off_loop(snapshot: Snapshot[Answerer], request: AskRequest, slots: anyio.CapacityLimiter) -> Answer:
    """In a worker thread, so the event loop keeps serving health checks and other clients."""
    return await anyio.to_thread.run_sync(snapshot.answerer.answer, request, limiter=slots)
