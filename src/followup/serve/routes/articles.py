"""The articles served, their references (as JSON, or as a RIS or CSL-JSON file to import), and each
source's whole text."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response

from followup.core.errors import UnknownArticle
from followup.present.citation_export import (
    CSL_JSON_MEDIA_TYPE,
    RIS_MEDIA_TYPE,
    ExportFormat,
    export_references,
)
from followup.present.render import reference_to_contract, source_to_contract
from followup.serve.dependencies import BUILD_HEADER, BUILD_HEADER_DOC, KEYED, Serving
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


# The export's documentation: both files under their media types, and the headers that name them.
_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the article's references as a file: RIS or CSL-JSON, one record per reference",
        "content": {
            RIS_MEDIA_TYPE: {"schema": {"type": "string"}},
            CSL_JSON_MEDIA_TYPE: {"schema": {"type": "array", "items": {
                "type": "object", "required": ["id", "type"],
                "description": "a CSL-JSON item (citation-style-language/schema csl-data.json)"}}},
        },
        "headers": {
            "Content-Disposition": {"description": 'attachment; filename="ARTICLE-references.ris" (or .json)',
                                    "schema": {"type": "string"}},
            **BUILD_HEADER_DOC,
        },
    },
    404: {"model": ErrorOut},
}  # fmt: skip


# Required: an endpoint under /v1/articles that answered a file by default would surprise a JSON client.
_FORMAT_DOC = "ris: RIS (Zotero, EndNote, Mendeley); csl-json: CSL-JSON (Zotero, pandoc, citeproc)"


@router.get("/v1/articles/{article_id}/references", dependencies=KEYED, response_class=Response,
            responses=_EXPORT_RESPONSES, tags=["articles"])  # fmt: skip
async def references(
    article_id: str,
    snapshot: Serving,
    format_: Annotated[ExportFormat, Query(alias="format", description=_FORMAT_DOC)],
) -> Response:
    """The article's references, its own record (reference 0) included, as a file a reference manager
    imports. `format` is required: ris or csl-json."""
    found = snapshot.answerer.index.articles.get(article_id)
    if found is None:
        raise UnknownArticle(article_id, list(snapshot.answerer.index.articles))
    export = export_references(found, format_)
    headers = {"Content-Disposition": f'attachment; filename="{export.filename}"', BUILD_HEADER: snapshot.build}
    return Response(export.body, media_type=export.content_type, headers=headers)


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
