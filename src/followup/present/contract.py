"""An arrangement of candidates (answer/stages.py) presented as the answer contract: each shown
statement becomes a passage with its verbatim text and offsets, its display text, its source's label
and the other places it is said; the references it cites are listed once."""

from __future__ import annotations

from followup.answer.candidates import Candidate
from followup.answer.ordering import group_score, same_place
from followup.answer.stages import Arrangement, ShownGroup
from followup.core.types import Answer, AskRequest, Chunk, CitedReference, Document, Passage, Quote
from followup.index.reader import SearchIndex
from followup.present.render import display_text
from followup.present.source_labels import source_label


def present(request: AskRequest, arrangement: Arrangement, index: SearchIndex) -> Answer:
    if not arrangement.answered:
        return Answer(request.question, arrangement.query, request.article_id, False, (), (), arrangement.not_covered)
    passages = tuple(_passage(rank, group, index) for rank, group in enumerate(arrangement.groups, start=1))
    return Answer(request.question, arrangement.query, request.article_id, True, passages, _references(passages, index))


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
    cited: dict[tuple[str, int], CitedReference] = {}
    for passage in passages:
        article = index.articles[index.documents[passage.source_id].article_id]
        for number in {*passage.citations, *(n for q in passage.also_in for n in q.citations)}:
            ref = article.reference(number)
            if ref:
                cited[(article.id, number)] = CitedReference(article.id, ref)
    return tuple(cited[key] for key in sorted(cited))
