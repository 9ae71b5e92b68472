"""The articles served, their references, and each source's whole text."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from followup.core.errors import UnknownArticle
from followup.present.render import reference_to_contract, source_to_contract
from followup.serve.dependencies import KEYED, Serving
from followup.serve.schemas import ArticleOut, ArticleSummary, ErrorOut, SourceOut

router = APIRouter()


@router.get("/v1/articles", response_model=list[ArticleSummary], dependencies=KEYED, tags=["articles"])
async def articles(snapshot: Serving) -> list[dict[str, Any]]:
    return [
        {"id": a.id, "title": a.title, "question": a.question, "last_updated": a.last_updated,
         "references": len(a.references)}
        for a in snapshot.answerer.index.articles.values()
    ]  # fmt: skip


@router.get("/v1/articles/{article_id}", response_model=ArticleOut, dependencies=KEYED,
            responses={404: {"model": ErrorOut}}, tags=["articles"])  # fmt: skip
async def article(article_id: str, snapshot: Serving) -> dict[str, Any]:
    found = snapshot.answerer.index.articles.get(article_id)
    if found is None:
        raise UnknownArticle(article_id, list(snapshot.answerer.index.articles))
    return {"id": found.id, "title": found.title, "question": found.question, "last_updated": found.last_updated,
            "references": [reference_to_contract(found.id, r) for r in found.references]}  # fmt: skip


@router.get("/v1/sources/{source_id:path}", response_model=SourceOut, dependencies=KEYED,
            responses={404: {"model": ErrorOut}}, tags=["articles"])  # fmt: skip
async def source(source_id: str, snapshot: Serving) -> dict[str, Any]:
    """A source's whole text (the article, or one of its references) with its sections and citation
    markers, so a passage can be shown where it stands: its `start`/`end` are offsets into `text`."""
    index = snapshot.answerer.index
    if source_id not in index.documents:
        raise HTTPException(
            404,
            f"unknown source {source_id!r}: a source is an article's id, or "
            "ARTICLE/ref-N for its reference N when the corpus holds its text",
        )
    return source_to_contract(index.articles[index.documents[source_id].article_id], index.documents[source_id])
