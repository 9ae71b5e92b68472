"""The answer contract, as frozen dataclasses (`Answer`, its `Passage`s and their `Quote`s, the
`CitedReference`s), and how an arrangement of candidates (answer/stages.py) becomes one: each shown
statement a passage with its verbatim text and offsets, its display text, its source's label and the
other places it is said; the references it cites listed once. What serve/, the CLI, the evaluation
and the Python API hand out.

Sources are named as a person names them: "Chou 2004 · systematic review · Abstract", "VALIUM label ·
Indications and Usage", "This article · From the Guidelines > Treatment". Never an internal id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from followup.answer.candidates import Candidate
from followup.answer.stages import Arrangement, ShownGroup, group_score, same_place
from followup.core.types import NO_FILTER, Article, AskRequest, Chunk, Document, EvidenceFilter, Reference, Role, Tier
from followup.index.reader import SearchIndex

THIS_ARTICLE = "This article"
_INITIALS = re.compile(r"^[A-Z]{1,3}$")  # "KC" in "Miller KC": a surname comes before its initials


def reference_name(ref: Reference) -> str:
    """A reference as cited in conversation: a drug label by its product ("VALIUM label"), anything
    else by its first author's surname (or the organisation) and year, then its kind."""
    if ref.kind == "drug_label" and ref.title:
        product = re.split(r"[\s(,:]", ref.title.strip(), maxsplit=1)[0]
        return f"{product} label"
    who = _first_author(ref.authors) or _short_title(ref.title) or f"Reference {ref.number}"
    when = f" {ref.year}" if ref.year else ""
    kind = ref.kind.replace("_", " ")
    return f"{who}{when}" + ("" if kind in ("unknown", "") else f" · {kind}")


def source_name(article: Article, document: Document) -> str:
    """The whole source: "This article", or the reference's name."""
    if document.reference_number is None:
        return THIS_ARTICLE
    ref = article.reference(document.reference_number)
    return reference_name(ref) if ref else f"Reference {document.reference_number}"


def source_label(article: Article, document: Document, section: str) -> str:
    """The source and where in it: a passage's label."""
    name = source_name(article, document)
    return f"{name} · {section}" if section else name


def _first_author(authors: str | None) -> str:
    if not authors:
        return ""
    first = re.split(r"[,;&]| and ", authors)[0].strip()
    words = first.split()
    if len(words) >= 2 and _INITIALS.match(words[-1]):
        return " ".join(words[:-1])
    return first


def _short_title(title: str | None) -> str:
    words = (title or "").split()
    return " ".join(words[:4]) + ("…" if len(words) > 4 else "")


@dataclass(frozen=True)
class Quote:
    """The same statement found in another place (the article and the reference it cites)."""

    source_id: str
    section: str
    text: str
    start: int
    end: int
    citations: tuple[int, ...]
    source_label: str = ""  # as a person names the source and place (present/contract.py)


@dataclass(frozen=True)
class Passage:
    """One verbatim passage of an answer: its text is exactly the source's `text[start:end]`, with the
    citation numbers that ground it, its evidence tier, its answer score and where else it is said."""

    rank: int
    text: str  # exactly the source document's text[start:end]
    display_text: str  # the same words with citation numbers written as [n], for display
    source_id: str
    section: str
    citations: tuple[int, ...]
    tier: Tier
    score: float
    start: int
    end: int
    also_in: tuple[Quote, ...] = ()
    role: Role = Role.EVIDENCE
    source_label: str = ""  # as a person names the source and place (present/contract.py)


@dataclass(frozen=True)
class CitedReference:
    """A reference some passage of an answer cites, with the article whose list numbers it."""

    article_id: str
    reference: Reference


@dataclass(frozen=True)
class Answer:
    """The answer contract: the passages, the answering one first and then the evidence by tier, and
    the references they cite; or `answered` False, with what the sources do not address when known."""

    question: str
    query: str
    article_id: str | None
    answered: bool
    passages: tuple[Passage, ...]
    references: tuple[CitedReference, ...]
    # Why an unanswered question is out of reach: what it names that the sources do not address.
    not_covered: tuple[str, ...] = ()
    evidence: EvidenceFilter = NO_FILTER  # the evidence the question was answered from
    excluded_by_filter: bool = False  # unanswered because the filter left out the evidence that answers


def present(request: AskRequest, arrangement: Arrangement, index: SearchIndex) -> Answer:
    if not arrangement.answered:
        return Answer(request.question, arrangement.query, request.article_id, False, (), (), arrangement.not_covered,
                      request.evidence, arrangement.excluded_by_filter)  # fmt: skip
    passages = tuple(_passage(rank, group, index) for rank, group in enumerate(arrangement.groups, start=1))
    return Answer(request.question, arrangement.query, request.article_id, True, passages, _references(passages, index),
                  evidence=request.evidence)  # fmt: skip


def _passage(rank: int, group: ShownGroup, index: SearchIndex) -> Passage:
    first, *others = group.candidates
    doc = index.documents[first.chunk.doc_id]
    return Passage(
        rank=rank,
        text=doc.text[first.start : first.end],
        display_text=display_text(doc, first.start, first.end),
        source_id=doc.id,
        section=" > ".join(first.chunk.section),
        citations=first.citations,
        tier=first.tier,
        score=round(group_score(list(group.candidates)), 4),
        start=first.start,
        end=first.end,
        also_in=tuple(_quote(c, index) for c in others if not same_place(c, first)),
        role=group.role,
        source_label=_label(doc, first.chunk, index),
    )


def _quote(candidate: Candidate, index: SearchIndex) -> Quote:
    doc = index.documents[candidate.chunk.doc_id]
    return Quote(
        doc.id,
        " > ".join(candidate.chunk.section),
        doc.text[candidate.start : candidate.end],
        candidate.start,
        candidate.end,
        candidate.citations,
        _label(doc, candidate.chunk, index),
    )


def _label(doc: Document, chunk: Chunk, index: SearchIndex) -> str:
    return source_label(index.articles[doc.article_id], doc, " > ".join(chunk.section))


def _references(passages: tuple[Passage, ...], index: SearchIndex) -> tuple[CitedReference, ...]:
    """The references every shown place cites, each read in its own source's article: across a library,
    a statement's other place may be another article's, whose numbers are its own."""
    cited: dict[tuple[str, int], CitedReference] = {}
    places = [(p.source_id, p.citations) for p in passages] + [
        (q.source_id, q.citations) for p in passages for q in p.also_in
    ]
    for source_id, numbers in places:
        article = index.articles[index.documents[source_id].article_id]
        for number in numbers:
            ref = article.reference(number)
            if ref:
                cited[(article.id, number)] = CitedReference(article.id, ref)
    return tuple(cited[key] for key in sorted(cited))


def display_text(doc: Document, start: int, end: int) -> str:
    """text[start:end] with the article's bare citation numbers shown as [n]; a reference's own text
    gets its number appended."""
    if doc.reference_number is not None:
        return f"{doc.text[start:end]} [{doc.reference_number}]"
    parts, cursor = [], start
    for marker in doc.markers:
        if start <= marker.start and marker.end <= end:
            parts.append(doc.text[cursor : marker.start])
            parts.append(" [" + ", ".join(str(n) for n in marker.numbers) + "]")
            cursor = marker.end
    parts.append(doc.text[cursor:end])
    return "".join(parts)
