"""Answers as the JSON contract and as text for a clinician. Rendering never changes quoted words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from followup.core.types import SELF, Article, Document, EvidenceFilter, Reference, Role, Tier
from followup.present.contract import Answer, Passage, Quote, reference_name, source_name

TIER_HEADINGS: dict[Tier, str] = {
    Tier.GUIDELINE: "From the Guidelines",
    Tier.DRUG_LABEL: "From the FDA Drug Label",
    Tier.SYSTEMATIC_REVIEW: "From the Research: systematic reviews",
    Tier.RCT: "From the Research: randomised trials",
    Tier.OBSERVATIONAL: "From the Research: observational studies",
    Tier.REVIEW: "From the Research: reviews",
    Tier.CASE_REPORT: "From the Research: case reports",
    Tier.PRECLINICAL: "From the Research: preclinical studies",
    Tier.UNREFERENCED: "Citing a source of unknown kind",
}
UNCITED_HEADING = "From the article, without a citation (not evidence)"
ANSWER_HEADING = "Answer"


def heading_for(passage: Passage) -> str:
    """The tier's heading; article text that cites nothing is set apart and never called evidence."""
    return TIER_HEADINGS[passage.tier] if passage.citations else UNCITED_HEADING


def answer_heading(passage: Passage) -> str:
    """The answer block's heading, naming where the answer comes from: "Answer · From the FDA Drug Label"."""
    return f"{ANSWER_HEADING} · {heading_for(passage)}"


def answer_and_groups(answer: Answer) -> tuple[Passage | None, list[tuple[str, list[Passage]]]]:
    """The passage that answers (passages[0] when its role says so), then the other passages in the
    answer's order under their headings: evidence by tier, article text citing nothing (if any) last. A tier's
    heading is shown for evidence only, so evidence of the answer's own tier still gets its heading."""
    first = answer.passages[0] if answer.passages and answer.passages[0].role is Role.ANSWER else None
    groups: list[tuple[str, list[Passage]]] = []
    for passage in answer.passages[1:] if first else answer.passages:
        heading = heading_for(passage)
        if groups and groups[-1][0] == heading:
            groups[-1][1].append(passage)
        else:
            groups.append((heading, [passage]))
    return first, groups


NOT_ANSWERED = "The article and its references do not answer this question."


# Each tier as a filter names it (the page's control, the abstention that names the filter).
TIER_NAMES: dict[Tier, str] = {
    Tier.GUIDELINE: "guidelines",
    Tier.DRUG_LABEL: "drug labels",
    Tier.SYSTEMATIC_REVIEW: "systematic reviews",
    Tier.RCT: "randomised trials",
    Tier.OBSERVATIONAL: "observational studies",
    Tier.REVIEW: "reviews",
    Tier.CASE_REPORT: "case reports",
    Tier.PRECLINICAL: "preclinical studies",
    Tier.UNREFERENCED: "sources of unknown kind",
}


def filter_description(evidence: EvidenceFilter) -> str:
    """The filter as a person reads it: "guidelines or systematic reviews, published 2015 or later"."""
    parts = []
    if evidence.tiers is not None:
        names = [TIER_NAMES[t] for t in sorted(evidence.tiers, key=lambda t: t.rank)]
        parts.append(" or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0])
    if evidence.since is not None:
        parts.append(f"published {evidence.since} or later")
    return ", ".join(parts)


def not_answered(answer: Answer) -> str:
    """Why there are no passages: said plainly, naming what the sources do not address if that is why,
    or that the evidence filter left out what answers."""
    if answer.excluded_by_filter:
        return (
            f"The evidence your filter admits ({filter_description(answer.evidence)}) does not answer this "
            "question; the article and its references answer it from evidence the filter excluded."
        )
    missing = answer.not_covered
    if not missing:
        return NOT_ANSWERED
    if len(missing) == 1:
        return f"{NOT_ANSWERED[:-1]}: they do not address {missing[0]}."
    return f"{NOT_ANSWERED[:-1]}: they do not address {', '.join(missing[:-1])} and {missing[-1]} together."


FOOTER = "Verbatim quotes from the article and its references; followup writes no text of its own. Not medical advice."


def reference_links(ref: Reference) -> dict[str, str]:
    """Where a reader can open the reference: PubMed, the DOI, DailyMed, by the identifiers it has."""
    links = {}
    # The identifiers were checked at load (ingest/identifiers.py); quoted all the same, so that no
    # value can end the address or the attribute it is written into.
    if "pmid" in ref.ids:
        links["pubmed"] = f"https://pubmed.ncbi.nlm.nih.gov/{quote(ref.ids['pmid'], safe='')}/"
    if "doi" in ref.ids:
        links["doi"] = f"https://doi.org/{quote(ref.ids['doi'], safe='/')}"
    if "dailymed_setid" in ref.ids:
        setid = quote(ref.ids["dailymed_setid"], safe="")
        links["dailymed"] = f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={setid}"
    return links


def reference_to_contract(article_id: str, ref: Reference) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "number": ref.number,
        "label": reference_name(ref),
        "title": ref.title,
        "authors": ref.authors,
        "journal": ref.journal,
        "year": ref.year,
        "kind": ref.kind,
        "tier": ref.tier.value,
        "tier_rank": ref.tier.rank,
        "ids": ref.ids,
        "url": ref.url,
        "links": reference_links(ref),
        "retracted": ref.retracted,
        "retraction_notices": list(ref.retraction_notices),
    }


def source_to_contract(article: Article, doc: Document) -> dict[str, Any]:
    ref = article.reference(doc.reference_number) if doc.reference_number is not None else None
    return {
        "source_id": doc.id,
        "article_id": article.id,
        "label": source_name(article, doc),
        "title": doc.title,
        "text": doc.text,
        "sections": [
            {"start": b.start, "end": b.end, "heading": list(b.section), "lead_in": b.lead_in} for b in doc.blocks
        ],
        "citations": [{"start": m.start, "end": m.end, "numbers": list(m.numbers)} for m in doc.markers],
        "reference": reference_to_contract(article.id, ref) if ref else None,
    }


def passage_to_contract(p: Passage) -> dict[str, Any]:
    return {
        "rank": p.rank,
        "role": p.role.value,
        "text": p.text,
        "display_text": p.display_text,
        "source_id": p.source_id,
        "source_label": p.source_label,
        "section": p.section,
        "citations": list(p.citations),
        "tier": p.tier.value,
        "tier_rank": p.tier.rank,
        "score": p.score,
        "start": p.start,
        "end": p.end,
        "also_in": [
            {
                "source_id": q.source_id,
                "source_label": q.source_label,
                "section": q.section,
                "text": q.text,
                "start": q.start,
                "end": q.end,
                "citations": list(q.citations),
            }
            for q in p.also_in
        ],
    }


def filter_to_contract(evidence: EvidenceFilter) -> dict[str, Any]:
    tiers = None if evidence.tiers is None else [t.value for t in sorted(evidence.tiers, key=lambda t: t.rank)]
    return {"tiers": tiers, "since": evidence.since}


def answer_to_contract(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "query": answer.query,
        "article_id": answer.article_id,
        "answered": answer.answered,
        "not_covered": list(answer.not_covered),
        "filter": filter_to_contract(answer.evidence),
        "excluded_by_filter": answer.excluded_by_filter,
        "passages": [passage_to_contract(p) for p in answer.passages],
        "references": [reference_to_contract(c.article_id, c.reference) for c in answer.references],
    }


def _cite_line(ref: Reference) -> str:
    """A reference as a list prints it; the article's own record (0) says it is this article."""
    own = "This article: " if ref.number == SELF else ""
    parts = [ref.authors, ref.title or "(unidentified reference)", ref.journal, str(ref.year) if ref.year else None]
    line = ". ".join(p.rstrip(".") for p in parts if p) + "."
    ids = [f"PMID {ref.ids['pmid']}" if "pmid" in ref.ids else "", f"doi:{ref.ids['doi']}" if "doi" in ref.ids else ""]
    extra = " ".join(i for i in ids if i)
    tier = ref.tier.value.replace("_", " ")
    return f"{own}{line} {extra + ' ' if extra else ''}({tier}{', RETRACTED' if ref.retracted else ''})"


def _named(passage: Passage | Quote) -> str:
    """The source as a person names it; a passage made without the pipeline may carry only ids."""
    if passage.source_label:
        return passage.source_label
    return f"{passage.source_id} · {passage.section}" if passage.section else passage.source_id


def _passage_lines(passage: Passage) -> list[str]:
    lines = [
        f"  {passage.display_text}",
        f"    ({_named(passage)}; score {passage.score:.2f})",
    ]
    lines += [f'    also in {_named(q)}: "{q.text}"' for q in passage.also_in]
    return [*lines, ""]


def format_answer(answer: Answer) -> str:
    """The answer for a terminal: the answer under "Answer · <its tier>", then the evidence under tier
    headings, article text citing nothing last, then the references."""
    lines = [answer.question]
    if answer.query != answer.question.strip():
        lines.append(f"(searched for: {answer.query})")
    if answer.evidence.active:
        lines.append(f"(only {filter_description(answer.evidence)})")
    lines.append("")
    if not answer.answered:
        lines += [not_answered(answer), "", FOOTER]
        return "\n".join(lines)
    first, groups = answer_and_groups(answer)
    if first:
        lines += [answer_heading(first), "", *_passage_lines(first)]
    for heading, passages in groups:
        lines += [heading, ""]
        for passage in passages:
            lines += _passage_lines(passage)
    if answer.references:
        lines += ["References", ""]
        many_articles = len({c.article_id for c in answer.references}) > 1
        for cited in answer.references:
            prefix = f"{cited.article_id} " if many_articles else ""
            lines.append(f"  {prefix}[{cited.reference.number}] {_cite_line(cited.reference)}")
        lines.append("")
    lines.append(FOOTER)
    return "\n".join(lines)


# What can begin markup anywhere in a line: emphasis, code, a link or image ("[", "!["), an HTML tag or
# autolink ("<"), an entity ("&"), strike-through, a table cell; and at a line's start, a heading, a
# quote, a list item or a setext underline.
_INLINE_SIGNS = re.compile(r"([\\`*_\[\]<&~|])")
_LINE_START_SIGN = re.compile(r"^(\s*|\s*\d+)([#>+=-]|(?<=\d)[.)])")


def markdown_text(text: str) -> str:
    """Text of the corpus (or of the question) as Markdown that shows it as it is: each character that
    could begin markup escaped with a backslash, which CommonMark allows before any ASCII punctuation.
    No corpus byte becomes markup."""
    escaped = _INLINE_SIGNS.sub(r"\\\1", text)
    return "\n".join(_LINE_START_SIGN.sub(r"\1\\\2", line) for line in escaped.split("\n"))


def _quoted(passage: Passage) -> list[str]:
    """A passage as a chat quote, its source named under it; every line of it inside the quote."""
    lines = markdown_text(passage.display_text).splitlines() or [""]
    return [*(f"> {line}" for line in lines), f"> — _{markdown_text(_named(passage))}_", ""]


@dataclass(frozen=True)
class QuotedSpan:
    """Where a passage's quote stands in the chat Markdown: content[start:end] is its display text as
    written there (escaped, each line after the first behind its "> ")."""

    passage: Passage
    start: int
    end: int


def format_markdown(answer: Answer) -> str:
    return markdown_answer(answer)[0]


def markdown_answer(answer: Answer) -> tuple[str, tuple[QuotedSpan, ...]]:
    """The answer for a chat window: "**Answer** · <its tier>" and the quoted answer, then the evidence
    under tier headings (passages quoted with [n]), article text citing nothing last, then the
    references; with where each passage's quote stands in it (chat's citation annotations)."""
    if not answer.answered:
        return f"{markdown_text(not_answered(answer))}\n\n_{FOOTER}_", ()
    lines: list[str] = []
    quoted: list[tuple[Passage, int, int]] = []  # a passage, its quote's first and last line

    def quote(passage: Passage) -> None:
        block = _quoted(passage)
        quoted.append((passage, len(lines), len(lines) + len(block) - 3))  # not the source line, nor the gap
        lines.extend(block)

    if answer.evidence.active:
        lines += [f"_Only {markdown_text(filter_description(answer.evidence))}_", ""]
    first, groups = answer_and_groups(answer)
    if first:
        lines += [f"**{ANSWER_HEADING}** · {heading_for(first)}", ""]
        quote(first)
    for heading, passages in groups:
        lines += [f"**{heading}**", ""]
        for passage in passages:
            quote(passage)
    if answer.references:
        lines += ["**References**", ""]
        for cited in answer.references:
            lines.append(f"[{cited.reference.number}] {markdown_text(_cite_line(cited.reference))}  ")
        lines.append("")
    lines.append(f"_{FOOTER}_")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    spans = tuple(
        QuotedSpan(passage, starts[first_line] + len("> "), starts[last_line] + len(lines[last_line]))
        for passage, first_line, last_line in quoted
    )
    return "\n".join(lines), spans
