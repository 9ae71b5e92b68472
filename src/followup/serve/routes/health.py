"""Whether the service is alive and ready, which build it serves, and a reload on demand."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException

from followup.serve.dependencies import KEYED, Live, Serving
from followup.serve.schemas import ErrorOut, Health, Ready, ReloadOut

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["health"])
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, responses={503: {"model": ErrorOut}}, tags=["health"])
async def readyz(snapshot: Serving) -> dict[str, Any]:
    """The index and model are loaded; the build answering and a summary of its manifest."""
    manifest = snapshot.answerer.index.manifest
    index = {"created_at": manifest.created_at, "counts": manifest.counts, "model": manifest.model,
             "chunking": manifest.chunking, "followup_version": manifest.followup_version,
             "corpus_hash": (manifest.corpus_hash or "")[:12]}  # fmt: skip
    return {"status": "ready", "build": snapshot.build, "index": index}


@router.post("/v1/admin/reload", response_model=ReloadOut, dependencies=KEYED,
             responses={503: {"model": ErrorOut}}, tags=["admin"])  # fmt: skip
async def reload_index(live: Live) -> dict[str, Any]:
    """Serve the build index/CURRENT names now, without waiting for the next periodic check.
    503 when it cannot be loaded (the detail says why): the build serving keeps serving."""
    outcome = await anyio.to_thread.run_sync(live.reload)  # loading takes seconds: off the loop
    if outcome.problem is not None:
        raise HTTPException(503, outcome.problem)
    return {"build": outcome.build, "previous": outcome.previous, "changed": outcome.changed}
