from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import cast

from markdown_it import MarkdownIt

from followup.core.types import Article, Block, CitationMarker, Document, EvidenceFilter, Reference, Role, Tier
from followup.index.reader import SearchIndex
from followup.present.contract import Answer, CitedReference, Passage, Quote, display_text  # fmt: skip
from followup.present.render import (
    FOOTER,
    NOT_ANSWERED,
    UNCITED_HEADING,
    answer_to_contract,
    format_answer,
    format_markdown,
    markdown_answer,
    reference_links,
    reference_to_contract,
)
from followup.serve.chat import citation_annotations, source_address
from followup.serve.schemas import ReferenceOut

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
    assert set(contract) == {"question", "query", "article_id", "answered", "not_covered", "filter",
                             "excluded_by_filter", "passages", "references"}  # fmt: skip
    assert contract["filter"] == {"tiers": None, "since": None} and contract["excluded_by_filter"] is False
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


GUIDELINE_REF = Reference(1, "Guideline Overview", "guideline", Tier.GUIDELINE, year=2025)
REVIEW_REF = Reference(4, "Muscle cramps", "review", Tier.REVIEW, journal="J Electromyogr", year=2018)


def _passage(rank: int, text: str, tier: Tier, citations: tuple[int, ...], role: Role, section: str) -> Passage:
    return Passage(rank, text, text, "a", section, citations, tier, 0.9 - rank / 10, 0, len(text), role=role,
                   source_label=f"This article · {section}")  # fmt: skip


def _ordered(*passages: Passage) -> Answer:
    cited = sorted({n for p in passages for n in p.citations})
    refs = {1: GUIDELINE_REF, 4: REVIEW_REF}
    return Answer("Why?", "Why?", None, True, passages, tuple(CitedReference("a", refs[n]) for n in cited))


REVIEW_ANSWER = _passage(1, "Cramps follow exercise [4].", Tier.REVIEW, (4,), Role.ANSWER, "Research")
GUIDELINE_EVIDENCE = _passage(2, "Spasms follow hypokalemia [1].", Tier.GUIDELINE, (1,), Role.EVIDENCE, "Guidelines")
# Article text citing nothing: no role of its own, set apart by having no citation.
UNCITED = _passage(3, "Stretching helps.", Tier.UNREFERENCED, (), Role.EVIDENCE, "Management")


def test_cli_shows_the_answer_first_under_its_tier_then_the_evidence_by_tier_then_uncited_text() -> None:
    text = format_answer(_ordered(REVIEW_ANSWER, GUIDELINE_EVIDENCE, UNCITED))
    assert text == "\n".join(
        [
            "Why?",
            "",
            "Answer · From the Research: reviews",
            "",
            "  Cramps follow exercise [4].",
            "    (This article · Research; score 0.80)",
            "",
            "From the Guidelines",
            "",
            "  Spasms follow hypokalemia [1].",
            "    (This article · Guidelines; score 0.70)",
            "",
            UNCITED_HEADING,
            "",
            "  Stretching helps.",
            "    (This article · Management; score 0.60)",
            "",
            "References",
            "",
            "  [1] Guideline Overview. 2025. (guideline)",
            "  [4] Muscle cramps. J Electromyogr. 2018. (review)",
            "",
            FOOTER,
        ]
    )
    # The answer's tier heading is not repeated as an evidence heading when no evidence has that tier.
    assert "\nFrom the Research: reviews\n" not in text


def test_cli_gives_evidence_of_the_answers_own_tier_its_tier_heading() -> None:
    answer = replace(REVIEW_ANSWER, tier=Tier.GUIDELINE, citations=(1,), text="A [1].", display_text="A [1].")
    evidence = replace(GUIDELINE_EVIDENCE, text="B [1].", display_text="B [1].")
    lines = format_answer(_ordered(answer, evidence)).splitlines()
    assert lines.index("Answer · From the Guidelines") < lines.index("  A [1].")
    assert lines.index("  A [1].") < lines.index("From the Guidelines") < lines.index("  B [1].")
    assert lines.count("From the Guidelines") == 1 and lines.count("Answer · From the Guidelines") == 1


def test_cli_keeps_the_answers_also_in_lines_inside_the_answer_block() -> None:
    quote = Quote(
        "a/ref-4", "Abstract", "Cramps follow exercise.", 0, 23, (4,), "Muscle cramps 2018 · review · Abstract"
    )
    text = format_answer(_ordered(replace(REVIEW_ANSWER, also_in=(quote,)), GUIDELINE_EVIDENCE))
    also = '    also in Muscle cramps 2018 · review · Abstract: "Cramps follow exercise."'
    assert text.index("Answer · ") < text.index(also) < text.index("From the Guidelines")


def test_without_an_answer_role_the_passages_are_shown_under_their_headings_only() -> None:
    text = format_answer(_ordered(replace(UNCITED, rank=1)))
    assert "Answer" not in text and UNCITED_HEADING in text


def test_chat_markdown_shows_the_answer_first_then_the_evidence_by_tier_then_uncited_text() -> None:
    markdown = format_markdown(_ordered(REVIEW_ANSWER, GUIDELINE_EVIDENCE, UNCITED))
    assert markdown == "\n".join(
        [
            "**Answer** · From the Research: reviews",
            "",
            "> Cramps follow exercise \\[4\\].",
            "> — _This article · Research_",
            "",
            "**From the Guidelines**",
            "",
            "> Spasms follow hypokalemia \\[1\\].",
            "> — _This article · Guidelines_",
            "",
            f"**{UNCITED_HEADING}**",
            "",
            "> Stretching helps.",
            "> — _This article · Management_",
            "",
            "**References**",
            "",
            "[1] Guideline Overview. 2025. (guideline)  ",
            "[4] Muscle cramps. J Electromyogr. 2018. (review)  ",
            "",
            f"_{FOOTER}_",
        ]
    )


def test_chat_markdown_gives_evidence_of_the_answers_own_tier_its_tier_heading() -> None:
    answer = replace(REVIEW_ANSWER, tier=Tier.GUIDELINE, citations=(1,), text="A [1].", display_text="A [1].")
    evidence = replace(GUIDELINE_EVIDENCE, text="B [1].", display_text="B [1].")
    markdown = format_markdown(_ordered(answer, evidence))
    assert markdown.startswith(
        "**Answer** · From the Guidelines\n\n> A \\[1\\].\n> — _This article · Research_\n\n"
        "**From the Guidelines**\n\n> B \\[1\\].\n"
    )


def test_contract_carries_each_passages_role() -> None:
    contract = answer_to_contract(_ordered(REVIEW_ANSWER, GUIDELINE_EVIDENCE, UNCITED))
    assert [p["role"] for p in contract["passages"]] == ["answer", "evidence", "evidence"]


def test_the_articles_own_record_is_listed_as_this_article() -> None:
    own = Reference(0, "Acupuncture for depression: a randomised controlled trial", "rct", Tier.RCT,
                    authors="MacPherson H", journal="PLoS Medicine", year=2013, ids={"doi": "10.1371/x"})  # fmt: skip
    passage = Passage(1, "Patients attended ten sessions.", "Patients attended ten sessions.", "a", "Results", (0,),
                      Tier.RCT, 0.7, 0, 31, role=Role.ANSWER, source_label="This article · Results")  # fmt: skip
    answer = Answer("How many?", "How many?", "a", True, (passage,), (CitedReference("a", own),))
    assert "[0] This article: MacPherson H. Acupuncture for depression" in format_answer(answer)
    assert "[0] This article: MacPherson H." in format_markdown(answer)
    assert answer_to_contract(answer)["passages"][0]["citations"] == [0]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


HOSTILE = "Take <img src=x onerror=alert(1)> [now](javascript:alert(1)) &lt;b&gt; *all* `of` it"


def test_chat_markdown_turns_no_corpus_text_into_markup() -> None:
    passage = replace(REVIEW_ANSWER, display_text=f"{HOSTILE}\n# Heading\n- item\n[9]: https://evil.example",
                      source_label="<b>Label</b> · Research")  # fmt: skip
    hostile_ref = Reference(4, "<script>alert(1)</script>", "review", Tier.REVIEW, authors="A & B", year=2018)
    answer = replace(_ordered(passage), references=(CitedReference("a", hostile_ref),))
    abstained = replace(answer, answered=False, not_covered=("<i>x</i>",))
    for markdown in (format_markdown(answer), format_markdown(abstained)):
        elements = _Elements()
        elements.feed(MarkdownIt("commonmark").render(markdown))
        assert set(elements.tags) <= {"p", "blockquote", "strong", "em", "br"}, elements.tags
    rendered = _Elements()
    rendered.feed(MarkdownIt("commonmark").render(format_markdown(answer)))
    assert HOSTILE.replace("&lt;", "<").replace("&gt;", ">") not in rendered.text  # entities stay text
    assert "Take <img src=x onerror=alert(1)> [now](javascript:alert(1)) &lt;b&gt; *all* `of` it" in rendered.text
    assert "<script>alert(1)</script>" in rendered.text and "# Heading" in rendered.text


def test_reference_links_quote_what_they_are_built_from() -> None:
    ref = Reference(1, "T", "review", Tier.REVIEW, ids={"pmid": '1/"><script>', "doi": "10.1000/a b?c#d"})
    links = reference_links(ref)
    assert links["pubmed"] == "https://pubmed.ncbi.nlm.nih.gov/1%2F%22%3E%3Cscript%3E/"
    assert links["doi"] == "https://doi.org/10.1000/a%20b%3Fc%23d"


def _unquoted(markdown: str) -> str:
    """The words a quote's Markdown shows: each line after the first behind its "> ", escapes undone."""
    return re.sub(r"\\(.)", r"\1", markdown.replace("\n> ", "\n"))


def test_chat_citation_spans_cover_exactly_each_quote() -> None:
    hostile = replace(REVIEW_ANSWER, display_text=f"{HOSTILE}\n# Heading\n- item [4]")
    answer = _ordered(hostile, GUIDELINE_EVIDENCE, UNCITED)
    content, spans = markdown_answer(answer)
    assert content == format_markdown(answer)
    assert [s.passage for s in spans] == list(answer.passages)
    for span in spans:
        assert _unquoted(content[span.start : span.end]) == span.passage.display_text
        assert content[span.start - 2 : span.start] == "> " and content[span.end] == "\n"
    filtered = replace(answer, evidence=EvidenceFilter(frozenset({Tier.REVIEW})))
    content, spans = markdown_answer(filtered)
    assert content.startswith("_Only reviews_\n\n")
    assert all(_unquoted(content[s.start : s.end]) == s.passage.display_text for s in spans)
    assert markdown_answer(replace(answer, answered=False, passages=()))[1] == ()


def test_chat_citations_point_at_the_source() -> None:
    pmid_ref = replace(REVIEW_REF, ids={"pmid": "15276195"})
    bare_ref = Reference(6, "Animal study", "preclinical_study", Tier.PRECLINICAL, year=2024)
    article = Article("a", "T", "Q?", "2025-01-01", (pmid_ref, bare_ref))
    documents = {
        "a": ARTICLE,
        "a/ref-4": Document("a/ref-4", "a", "R", "Cramps follow exercise.", (), 4),
        "a/ref-6": Document("a/ref-6", "a", "S", "Rats cramp.", (), 6),
    }
    index = cast(SearchIndex, SimpleNamespace(documents=documents, articles={"a": article}))
    address = source_address(index, "http://127.0.0.1:8000/")
    in_article = replace(REVIEW_ANSWER, source_id="a", start=0, end=24)
    assert address(in_article) == "http://127.0.0.1:8000/?article=a&source=a&start=0&end=24"
    assert address(replace(REVIEW_ANSWER, source_id="a/ref-4")) == "https://pubmed.ncbi.nlm.nih.gov/15276195/"
    assert address(replace(REVIEW_ANSWER, source_id="a/ref-6", start=0, end=11)) == (
        "http://127.0.0.1:8000/?article=a&source=a%2Fref-6&start=0&end=11"
    )
    _, spans = markdown_answer(_ordered(in_article))
    (annotation,) = citation_annotations(spans, address)
    assert annotation == {
        "type": "url_citation",
        "url_citation": {"start_index": spans[0].start, "end_index": spans[0].end,
                         "url": address(in_article), "title": "This article · Research"},
    }  # fmt: skip


def test_a_retracted_references_notices_reach_the_contract_and_its_schema() -> None:
    ref = Reference(6, "T", "unknown", Tier.UNREFERENCED, retracted=True, retraction_notices=("20137807",))
    contract = reference_to_contract("a", ref)
    assert contract["retracted"] is True and contract["retraction_notices"] == ["20137807"]
    assert ReferenceOut.model_validate(contract).retraction_notices == ["20137807"]
    assert reference_to_contract("a", replace(ref, retracted=False, retraction_notices=()))["retraction_notices"] == []


def test_a_quote_from_another_article_lists_that_articles_reference() -> None:
    from followup.present.contract import _references

    own = Article("a", "T", "Q?", "2025-01-01", (GUIDELINE_REF,))
    theirs = Reference(1, "Their trial", "rct", Tier.RCT, year=2019)
    other = Article("b", "U", "Q?", "2025-01-01", (theirs,))
    documents = {"a": ARTICLE, "b": Document("b", "b", "U", "Spasms follow hypokalemia 1.", (), None)}
    index = cast(SearchIndex, SimpleNamespace(documents=documents, articles={"a": own, "b": other}))
    quote = Quote("b", "Results", "Spasms follow hypokalemia 1.", 0, 28, (1,), "U · Results")
    passage = replace(GUIDELINE_EVIDENCE, source_id="a", also_in=(quote,))
    assert _references((passage,), index) == (CitedReference("a", GUIDELINE_REF), CitedReference("b", theirs))
