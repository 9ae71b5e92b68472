"""OpenAI-compatible chat completions on top of the extractive answer: messages in, markdown out."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

from followup.core.errors import InvalidRequest
from followup.core.settings import MAX_HISTORY_TURNS
from followup.index.reader import SearchIndex
from followup.present.contract import Passage
from followup.present.render import QuotedSpan, reference_links

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


def source_address(index: SearchIndex, page: str) -> Callable[[Passage], str]:
    """Where a passage's source opens: a reference's PubMed, DOI or DailyMed page (or its own url); the
    article, or a reference with no address, in this server's page at `page` (its base address), the
    passage's words highlighted by their offsets."""

    def address(passage: Passage) -> str:
        document = index.documents[passage.source_id]
        if document.reference_number is not None:
            ref = index.articles[document.article_id].reference(document.reference_number)
            if ref is not None:
                links = reference_links(ref)
                found = links.get("pubmed") or links.get("doi") or links.get("dailymed") or ref.url
                if found:
                    return found
        where = {"article": document.article_id, "source": passage.source_id, "start": passage.start,
                 "end": passage.end}  # fmt: skip
        return f"{page.rstrip('/')}/?{urlencode(where)}"

    return address


def citation_annotations(spans: Sequence[QuotedSpan], url_of: Callable[[Passage], str]) -> list[dict[str, Any]]:
    """Each quoted passage as OpenAI's `url_citation` annotation: start_index/end_index into the
    content (str indices: Unicode code points) covering the quote, the source's address and its label."""
    return [
        {"type": "url_citation", "url_citation": {"start_index": span.start, "end_index": span.end,
                                                  "url": url_of(span.passage), "title": span.passage.source_label}}
        for span in spans
    ]  # fmt: skip


def completion(
    answer_markdown: str, annotations: list[dict[str, Any]], contract: dict[str, Any], model: str
) -> dict[str, Any]:
    message = {"role": "assistant", "content": answer_markdown, "annotations": annotations}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "followup": contract,
    }


def stream_events(answer_markdown: str, annotations: list[dict[str, Any]], model: str) -> Iterator[str]:
    """Server-sent events as OpenAI streams them: a role delta, content deltas (a paragraph each),
    a final chunk with finish_reason and the citation annotations (their indices count in the whole
    content), then [DONE]."""
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant"})
    paragraphs = answer_markdown.split("\n\n")
    for i, paragraph in enumerate(paragraphs):
        yield chunk({"content": paragraph + ("\n\n" if i < len(paragraphs) - 1 else "")})
    yield chunk({"annotations": annotations}, "stop")
    yield "data: [DONE]\n\n"
