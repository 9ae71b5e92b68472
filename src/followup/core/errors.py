"""Errors a user can act on. Each message names what is wrong and where; the CLI prints it and exits 1."""

from __future__ import annotations

from pathlib import Path


class FollowupError(Exception):
    """Base class: a problem with the user's input, corpus or index, not a bug."""


class CorpusError(FollowupError):
    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class IndexProblem(FollowupError):
    """The index is missing, corrupt, stale or built with other settings."""


class InvalidRequest(FollowupError):
    """A question, history, article or option that cannot be answered as given."""


class UnknownArticle(InvalidRequest):
    """An article id the index does not hold; the message lists those it does."""

    def __init__(self, article_id: str, known: list[str]) -> None:
        super().__init__(f"unknown article {article_id!r}; known articles: {', '.join(sorted(known)) or 'none'}")
        self.article_id = article_id


class BackendUnavailable(FollowupError):
    """The search engine a build lives on (Milvus) cannot be reached or did not answer in time."""

    def __init__(self, uri: str, action: str, detail: str) -> None:
        super().__init__(f"Milvus at {uri} is unavailable ({action}: {detail}); is the engine running?")
        self.uri = uri
