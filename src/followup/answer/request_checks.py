"""Checks on an ask request before any work is done; each failure says what is wrong."""

from __future__ import annotations

from collections.abc import Collection

from followup.core.defaults import MAX_HISTORY_TURNS, MAX_QUESTION_CHARS, MAX_TOP_K, MODES
from followup.core.errors import InvalidRequest, UnknownArticle
from followup.core.types import AskRequest


def check_text(text: object, what: str) -> None:
    if not isinstance(text, str):
        raise InvalidRequest(f"{what} must be a string")
    if not text.strip():
        raise InvalidRequest(f"{what} is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidRequest(f"{what} is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}")


def validate_request(request: AskRequest, known_articles: Collection[str]) -> None:
    check_text(request.question, "question")
    if len(request.history) > MAX_HISTORY_TURNS:
        raise InvalidRequest(f"history has {len(request.history)} turns; the limit is {MAX_HISTORY_TURNS}")
    for i, turn in enumerate(request.history):
        check_text(turn, f"history[{i}]")
    if request.article_id is not None and request.article_id not in known_articles:
        raise UnknownArticle(request.article_id, list(known_articles))
    if not 1 <= request.top_k <= MAX_TOP_K:
        raise InvalidRequest(f"top_k must be between 1 and {MAX_TOP_K}, not {request.top_k}")
    if request.mode not in MODES:
        raise InvalidRequest(f"mode must be one of {', '.join(MODES)}, not {request.mode!r}")
