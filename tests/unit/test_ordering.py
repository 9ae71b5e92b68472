"""The answer first, whatever its tier, then the evidence by tier; by hand."""

from __future__ import annotations

from followup.answer.candidates import Candidate
from followup.answer.stages import arrange, same_place
from followup.core.types import Chunk, Role, Sentence, Tier


def _candidate(score: float, tier: Tier, ident: int) -> Candidate:
    chunk = Chunk(ident, "a", "a", 0, 1, (), (Sentence(0, 1, (1,)),), "")
    return Candidate(chunk, 0, 1, (1,), 0.5, tier, ident, score)


def test_the_best_scored_passage_answers_whatever_its_tier_and_the_evidence_follows_by_tier() -> None:
    review = [_candidate(0.70, Tier.REVIEW, 0)]
    guideline = [_candidate(0.60, Tier.GUIDELINE, 1)]
    label = [_candidate(0.65, Tier.DRUG_LABEL, 2)]
    weaker_guideline = [_candidate(0.55, Tier.GUIDELINE, 3)]
    arranged = arrange([guideline, review, weaker_guideline, label], top_k=5)
    assert [g for g, _ in arranged] == [review, guideline, weaker_guideline, label]
    assert [role for _, role in arranged] == [Role.ANSWER, Role.EVIDENCE, Role.EVIDENCE, Role.EVIDENCE]
    # top_k keeps the best-scored groups, then orders them
    assert [g for g, _ in arrange([guideline, review, weaker_guideline, label], top_k=3)] == [review, guideline, label]
    by_score = arrange([guideline, review, label], top_k=5, order_by_tier=False)
    assert [g for g, _ in by_score] == [review, label, guideline]
    assert arrange([], top_k=5) == []


def test_overlapping_spans_of_one_document_are_one_place() -> None:
    a, b = _candidate(0.5, Tier.GUIDELINE, 0), _candidate(0.4, Tier.GUIDELINE, 1)
    assert same_place(a, b)  # same document "a", spans [0, 1) both
    other_document = Candidate(
        Chunk(2, "b", "a", 0, 1, (), (Sentence(0, 1, (1,)),), ""), 0, 1, (1,), 0.5, Tier.REVIEW, 2
    )
    assert not same_place(a, other_document)
