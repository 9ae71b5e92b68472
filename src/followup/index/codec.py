"""Index records to and from JSON-ready dicts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from followup.core.types import Article, Block, CitationMarker, Document, Reference, Tier


def reference_to_dict(ref: Reference) -> dict[str, Any]:
    return {**asdict(ref), "tier": ref.tier.value}


def reference_from_dict(d: dict[str, Any]) -> Reference:
    return Reference(**{**d, "tier": Tier(d["tier"])})


def article_to_dict(article: Article) -> dict[str, Any]:
    return {**asdict(article), "references": [reference_to_dict(r) for r in article.references]}


def article_from_dict(d: dict[str, Any]) -> Article:
    return Article(**{**d, "references": tuple(reference_from_dict(r) for r in d["references"])})


def document_to_dict(doc: Document) -> dict[str, Any]:
    """By hand: dataclasses.asdict copies recursively and took half of writing the MedQuAD library's records."""
    return {
        "id": doc.id,
        "article_id": doc.article_id,
        "title": doc.title,
        "text": doc.text,
        "blocks": [
            {"start": b.start, "end": b.end, "section": list(b.section), "lead_in": b.lead_in} for b in doc.blocks
        ],
        "reference_number": doc.reference_number,
        "markers": [{"start": m.start, "end": m.end, "numbers": list(m.numbers)} for m in doc.markers],
    }


def document_from_dict(d: dict[str, Any]) -> Document:
    return Document(
        **{
            **d,
            "blocks": tuple(Block(b["start"], b["end"], tuple(b["section"]), b["lead_in"]) for b in d["blocks"]),
            "markers": tuple(CitationMarker(m["start"], m["end"], tuple(m["numbers"])) for m in d["markers"]),
        }
    )
