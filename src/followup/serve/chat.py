"""OpenAI-compatible chat completions on top of the extractive answer: messages in, markdown out."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from followup.core.errors import InvalidRequest
from followup.core.settings import MAX_HISTORY_TURNS

MODEL_PREFIX = "followup"


def article_from_model(model: str) -> str | None:
    """ "followup" searches every article; "followup/<article id>" one of them."""
    name, _, article = model.partition("/")
    if name != MODEL_PREFIX:
        raise InvalidRequest(f"unknown model {model!r}; use {MODEL_PREFIX!r} or '{MODEL_PREFIX}/<article id>'")
    return article or None


def question_and_history(messages: Sequence[tuple[str, str]]) -> tuple[str, tuple[str, ...]]:
    """The last user message is the question; the user messages before it are the history. The
    assistant's earlier answers are not: they are quotes of the sources, not the user's subject."""
    user = [text for role, text in messages if role == "user"]
    if not user or messages[-1][0] != "user":
        raise InvalidRequest("the last message must come from the user")
    return user[-1], tuple(user[:-1][-MAX_HISTORY_TURNS:])


def completion(answer_markdown: str, contract: dict[str, Any], model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer_markdown}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "followup": contract,
    }


def stream_events(answer_markdown: str, model: str) -> Iterator[str]:
    """Server-sent events as OpenAI streams them: a role delta, content deltas (a paragraph each),
    a final chunk with finish_reason, then [DONE]."""
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant"})
    paragraphs = answer_markdown.split("\n\n")
    for i, paragraph in enumerate(paragraphs):
        yield chunk({"content": paragraph + ("\n\n" if i < len(paragraphs) - 1 else "")})
    yield chunk({}, "stop")
    yield "data: [DONE]\n\n"
