"""Sources named as a person names them, never by an internal id."""

from __future__ import annotations

from followup.core.types import Article, Block, Document, Reference, Tier
from followup.present.contract import THIS_ARTICLE, reference_name, source_label, source_name

LABEL = Reference(2, "VALIUM (diazepam) tablets, prescribing information", "drug_label", Tier.DRUG_LABEL,
                  authors="Roche Laboratories Inc.", year=2024)  # fmt: skip
REVIEW = Reference(7, "Comparative efficacy ...", "systematic_review", Tier.SYSTEMATIC_REVIEW,
                   authors="Chou R, Peterson K, Helfand M", year=2004)  # fmt: skip
BOARD = Reference(1, "Guideline Directed Topic Overview", "guideline", Tier.GUIDELINE,
                  authors="Dr.Oracle Medical Advisory Board & Editors", year=2025)  # fmt: skip
UNKNOWN = Reference(3, None, "unknown", Tier.UNREFERENCED)
ARTICLE = Article("a", "Muscle spasm", "Why?", "2025-01-01", (BOARD, LABEL, UNKNOWN, REVIEW))


def document(reference: int | None) -> Document:
    doc_id = "a" if reference is None else f"a/ref-{reference}"
    return Document(doc_id, "a", "t", "text", (Block(0, 4, ()),), reference)


def test_references_are_named_by_product_author_and_year_or_organisation() -> None:
    assert reference_name(LABEL) == "VALIUM label"
    assert reference_name(REVIEW) == "Chou 2004 · systematic review"
    assert reference_name(BOARD) == "Dr.Oracle Medical Advisory Board 2025 · guideline"
    assert reference_name(UNKNOWN) == "Reference 3"


def test_a_passage_label_names_the_source_and_the_place_in_it() -> None:
    assert source_name(ARTICLE, document(None)) == THIS_ARTICLE
    assert source_label(ARTICLE, document(None), "From the Guidelines > Treatment") == (
        "This article · From the Guidelines > Treatment"
    )
    assert source_label(ARTICLE, document(7), "Abstract") == "Chou 2004 · systematic review · Abstract"
    assert source_label(ARTICLE, document(2), "") == "VALIUM label"
