from __future__ import annotations

from followup.answer.candidates import Candidate, best_spans, group_duplicates, restates
from followup.core.types import Block, Chunk, Document, Sentence, Tier


def test_best_span_is_the_best_sentence() -> None:
    [span, *_] = best_spans([0.2, 0.7, 0.3], floor=0.4)
    assert (span.first, span.last, span.relevance) == (1, 1, 0.7)


def test_neighbours_almost_as_relevant_join_the_span() -> None:
    spans = best_spans([0.1, 0.66, 0.7, 0.2], floor=0.4)
    assert [(s.first, s.last) for s in spans] == [(1, 2)]


def test_other_relevant_sentences_become_their_own_spans() -> None:
    spans = best_spans([0.8, 0.1, 0.5, 0.3], floor=0.4)
    assert [(s.first, s.last, s.relevance) for s in spans] == [(0, 0, 0.8), (2, 2, 0.5)]


def test_a_chunk_below_the_floor_still_offers_its_best_sentence() -> None:
    assert [(s.first, s.relevance) for s in best_spans([0.1, 0.2], floor=0.4)] == [(1, 0.2)]


def test_spans_never_exceed_three_sentences() -> None:
    spans = best_spans([0.7] * 6, floor=0.4)
    assert [(s.first, s.last) for s in spans] == [(0, 2), (3, 5)]


def _doc(doc_id: str, text: str) -> Document:
    return Document(doc_id, "a", doc_id, text, (Block(0, len(text), ()),))


def _cand(doc: Document, start: int, end: int, tier: Tier, relevance: float, rank: int) -> Candidate:
    chunk = Chunk(rank, doc.id, "a", start, end, (), (Sentence(start, end, ()),), "")
    return Candidate(chunk, start, end, (), relevance, tier, rank)


def test_the_same_statement_in_article_and_reference_is_grouped_best_tier_first() -> None:
    article = _doc("a", "Diazepam is a useful adjunct for the relief of skeletal muscle spasm. Other text here.")
    label = _doc("a/ref-2", "Valium is a useful adjunct for the relief of skeletal muscle spasm due to trauma.")
    other = _doc("a/ref-5", "Stretching treats exercise-associated muscle cramps.")
    docs = {d.id: d for d in (article, label, other)}
    end = article.text.index(" Other")
    a = _cand(article, 0, end, Tier.UNREFERENCED, 0.8, 0)
    b = _cand(label, 0, len(label.text), Tier.DRUG_LABEL, 0.7, 1)
    c = _cand(other, 0, len(other.text), Tier.REVIEW, 0.6, 2)
    groups = group_duplicates([a, b, c], docs)
    assert [[x.chunk.doc_id for x in g] for g in groups] == [["a/ref-2", "a"], ["a/ref-5"]]


def test_different_sentences_of_one_document_are_not_merged() -> None:
    doc = _doc("a", "Baclofen relieves spasticity in sclerosis. Baclofen relieves spasticity in paraplegia.")
    cut = doc.text.index(" Baclofen", 1)
    groups = group_duplicates(
        [_cand(doc, 0, cut, Tier.GUIDELINE, 0.9, 0), _cand(doc, cut + 1, len(doc.text), Tier.GUIDELINE, 0.8, 1)],
        {"a": doc},
    )
    assert len(groups) == 2


def test_a_restatement_shares_most_of_the_shorter_texts_terms() -> None:
    label = frozenset(["valium", "use", "adjunct", "relief", "skelet", "muscl", "spasm", "reflex", "local", "patholog"])
    article = frozenset(
        ["diazepam", "use", "adjunct", "relief", "skelet", "muscl", "spasm", "reflex", "local", "patholog"]
    )
    assert restates(article, label) and restates(label, article)  # 9 of 10 terms shared
    assert not restates(frozenset(["diazepam", "anxieti", "disord"]), label)
    assert not restates(frozenset(["muscl", "spasm"]), label)  # two terms say too little to match
