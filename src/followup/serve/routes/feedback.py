"""Clinicians' feedback: a verdict on one passage they were shown, stored with the conversation it
answered and the passage's verbatim text (core/feedback.py), for `followup feedback export`."""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError

from followup.core.errors import UnknownArticle
from followup.core.feedback import FeedbackReport, FeedbackStoreError, add_report
from followup.serve.dependencies import KEYED, Serving
from followup.serve.schemas import ErrorOut, FeedbackBody, FeedbackCreated

router = APIRouter()
log = logging.getLogger("followup.serve.feedback")


@router.post("/v1/feedback", status_code=201, response_model=FeedbackCreated, dependencies=KEYED, tags=["feedback"],
             responses={404: {"model": ErrorOut}, 503: {"model": ErrorOut}})  # fmt: skip
async def feedback(body: FeedbackBody, snapshot: Serving, request: Request) -> dict[str, Any]:
    """Record a clinician's verdict on a passage: answers, relevant, not_relevant or wrong. The passage's
    text is read from the served index at start:end, so the report keeps it after the corpus changes."""
    index = snapshot.answerer.index
    if body.article_id not in index.articles:
        raise UnknownArticle(body.article_id, list(index.articles))
    document = index.documents.get(body.source_id)
    if document is None or document.article_id != body.article_id:
        raise HTTPException(404, f"unknown source {body.source_id!r} of article {body.article_id!r}: a source is "
                            "the article's id, or ARTICLE/ref-N for its reference N")  # fmt: skip
    if body.end > len(document.text):
        # Shaped as the other validation errors, naming the field.
        beyond = f"past the end of the source's text ({len(document.text)} characters)"
        raise RequestValidationError([{"loc": ("body", "end"), "type": "value_error", "msg": beyond}])
    report = FeedbackReport(body.question, tuple(body.history), body.article_id, body.build, snapshot.build,
                            body.source_id, body.start, body.end, document.text[body.start : body.end], body.verdict,
                            body.comment)  # fmt: skip
    path = request.app.state.settings.feedback_file
    try:
        # In a worker thread: a write may wait for another process's lock (the busy timeout).
        stored = await anyio.to_thread.run_sync(add_report, path, report)
    except FeedbackStoreError as e:
        log.warning("%s", e)  # names the file and sqlite's reason; nothing of the report
        raise HTTPException(503, str(e)) from None
    return {"id": stored.id, "created_at": stored.created_at}
