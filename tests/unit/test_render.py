from __future__ import annotations

from dataclasses import replace

from followup.render import NOT_ANSWERED, answer_to_contract, display_text, format_answer, format_markdown
from followup.types import (
    Answer,
    Block,
    CitationMarker,
    CitedReference,
    Document,
    Passage,
    Reference,
    Tier,
)  # fmt: skip

TEXT = "Caused by electrolytes 1. Cramps (EAMCs) 4, 5"
ARTICLE = Document(
    "a", "a", "T", TEXT, (Block(0, len(TEXT), ()),), None,
    (CitationMarker(22, 24, (1,)), CitationMarker(TEXT.index(" 4, 5"), len(TEXT), (4, 5))),
)  # fmt: skip


def test_display_text_writes_markers_as_brackets_without_changing_words() -> None:
    assert display_text(ARTICLE, 0, len(TEXT)) == "Caused by electrolytes [1]. Cramps (EAMCs) [4, 5]"
    assert display_text(ARTICLE, 0, 25) == "Caused by electrolytes [1]."


def test_reference_text_gets_its_own_number() -> None:
    ref = Document("a/ref-6", "a", "R", "Spasms are common.", (), 6)
    assert display_text(ref, 0, 18) == "Spasms are common. [6]"


def _answer(answered: bool) -> Answer:
    passage = Passage(
        1, TEXT[:25], "Caused by electrolytes [1].", "a", "From the Guidelines", (1,), Tier.GUIDELINE, 0.8, 0, 25
    )
    guideline = Reference(1, "Guideline Overview", "guideline", Tier.GUIDELINE, year=2025)
    return Answer(
        "Why?",
        "Why?",
        None,
        answered,
        (passage,) if answered else (),
        (CitedReference("a", guideline),) if answered else (),
    )


def test_contract_has_the_documented_fields() -> None:
    contract = answer_to_contract(_answer(True))
    assert set(contract) == {"question", "query", "article_id", "answered", "not_covered", "passages", "references"}
    passage = contract["passages"][0]
    assert {"rank", "text", "source_id", "section", "citations", "tier", "tier_rank", "score", "start", "end"} <= set(
        passage
    )
    assert passage["tier"] == "guideline" and passage["tier_rank"] == 1 and passage["citations"] == [1]
    assert contract["references"][0]["number"] == 1 and contract["references"][0]["tier"] == "guideline"


def test_human_output_groups_by_tier_heading_and_lists_references() -> None:
    text = format_answer(_answer(True))
    assert "From the Guidelines" in text
    assert "Caused by electrolytes [1]." in text
    assert "References" in text and "[1] Guideline Overview. 2025." in text


def test_abstention_is_said_plainly() -> None:
    assert NOT_ANSWERED in format_answer(_answer(False))


def test_abstention_names_what_the_sources_never_mention() -> None:
    answer = replace(_answer(False), not_covered=("quinine", "pregnancy"))
    expected = "do not answer this question: they do not address quinine and pregnancy together."
    assert expected in format_answer(answer) and expected in format_markdown(answer)
    assert "they do not address quinine." in format_answer(replace(answer, not_covered=("quinine",)))
    assert answer_to_contract(answer)["not_covered"] == ["quinine", "pregnancy"]
    assert answer_to_contract(_answer(False))["not_covered"] == []
