"""The answer contract: a question, its conversation so far, verbatim cited passages back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from followup.answer.stages import evidence_filter
from followup.core.types import AskRequest
from followup.present.render import answer_to_contract
from followup.serve.dependencies import BUILD_HEADER_DOC, KEYED, Serving, Slots, answer_off_loop
from followup.serve.schemas import AnswerOut, AskBody, ErrorOut

router = APIRouter()


@router.post("/v1/ask", response_model=AnswerOut, dependencies=KEYED, tags=["answers"],
             responses={200: {"headers": BUILD_HEADER_DOC}, 404: {"model": ErrorOut}})  # fmt: skip
async def ask(body: AskBody, snapshot: Serving, slots: Slots) -> dict[str, Any]:
    """Verbatim passages that answer the question, with citations, ordered by evidence tier."""
    evidence = evidence_filter(body.tiers, body.since)
    request = AskRequest(body.question, tuple(body.history), body.article_id, body.top_k, body.mode, evidence)
    answer = await answer_off_loop(snapshot, request, slots)
    return answer_to_contract(answer)
