"""OpenAI-compatible routes for chat UIs: the models (one per article, and all of them) and chat
completions, whole or streamed (the conversion itself is serve/chat.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from followup.answer.stages import evidence_filter
from followup.core.types import AskRequest
from followup.present.render import answer_to_contract, markdown_answer
from followup.serve.chat import (
    MODEL_PREFIX,
    article_from_model,
    citation_annotations,
    completion,
    question_and_history,
    source_address,
    stream_events,
)
from followup.serve.dependencies import BUILD_HEADER, BUILD_HEADER_DOC, KEYED, Serving, Slots, answer_off_loop
from followup.serve.schemas import ChatBody, ChatCompletion, ErrorOut, ModelList

router = APIRouter()


@router.get("/v1/models", response_model=ModelList, dependencies=KEYED, tags=["chat"])
async def models(snapshot: Serving) -> dict[str, Any]:
    """For chat UIs: "followup" searches every article, "followup/<id>" one."""
    names = [MODEL_PREFIX, *(f"{MODEL_PREFIX}/{a}" for a in snapshot.answerer.index.articles)]
    return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "followup"}
                                       for n in names]}  # fmt: skip


@router.post("/v1/chat/completions", response_model=ChatCompletion, dependencies=KEYED,
             responses={200: {"content": {"text/event-stream": {}}, "headers": BUILD_HEADER_DOC},
                        404: {"model": ErrorOut}}, tags=["chat"])  # fmt: skip
async def chat(body: ChatBody, snapshot: Serving, slots: Slots, http: Request) -> Any:
    """OpenAI-compatible: the last user message is the question, earlier user messages the history;
    the answer is the extractive one as markdown, each quote a `url_citation` annotation (in the final
    chunk when streamed), with the structured answer under `followup`."""
    question, history = question_and_history([(m.role, m.text()) for m in body.messages])
    evidence = evidence_filter(body.tiers, body.since)
    request = AskRequest(question, history, article_from_model(body.model), evidence=evidence)
    answer = await answer_off_loop(snapshot, request, slots)
    markdown, quotes = markdown_answer(answer)
    annotations = citation_annotations(quotes, source_address(snapshot.answerer.index, str(http.base_url)))
    if body.stream:  # a response returned whole does not get the headers `serving` set
        return StreamingResponse(stream_events(markdown, annotations, body.model), media_type="text/event-stream",
                                 headers={BUILD_HEADER: snapshot.build})  # fmt: skip
    return completion(markdown, annotations, answer_to_contract(answer), body.model)
