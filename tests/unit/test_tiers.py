from __future__ import annotations

import pytest

from followup.core.types import (
    KIND_TIERS,
    REFERENCE_KINDS,
    Reference,
    ReferenceKind,
    Tier,
    is_reference_kind,
    tier_for_citations,
    tier_for_kind,
)


def ref(number: int, tier: Tier, retracted: bool = False) -> Reference:
    return Reference(number=number, title=f"ref {number}", kind="unknown", tier=tier, retracted=retracted)


def test_tier_ranks_follow_design_order() -> None:
    assert [t.rank for t in Tier] == list(range(1, 10))
    assert Tier.GUIDELINE.rank < Tier.DRUG_LABEL.rank < Tier.SYSTEMATIC_REVIEW.rank < Tier.UNREFERENCED.rank


@pytest.mark.parametrize(
    ("kind", "tier"),
    [
        ("guideline", Tier.GUIDELINE),
        ("drug_label", Tier.DRUG_LABEL),
        ("systematic_review", Tier.SYSTEMATIC_REVIEW),
        ("review", Tier.REVIEW),
        ("preclinical_study", Tier.PRECLINICAL),
        ("retraction_notice", Tier.UNREFERENCED),
        ("unknown", Tier.UNREFERENCED),
    ],
)
def test_tier_for_kind(kind: ReferenceKind, tier: Tier) -> None:
    assert tier_for_kind(kind) == tier


def test_publication_types_can_raise_the_tier() -> None:
    assert tier_for_kind("unknown", ["Journal Article", "Randomized Controlled Trial"]) == Tier.RCT
    assert tier_for_kind("review", ["Review", "Meta-Analysis"]) == Tier.SYSTEMATIC_REVIEW


def test_only_known_kinds_are_reference_kinds() -> None:
    assert is_reference_kind("meta_analysis") and not is_reference_kind("blog post")
    assert set(KIND_TIERS) == set(REFERENCE_KINDS), "every kind has its tier"


def test_article_text_inherits_best_cited_tier() -> None:
    refs = [ref(1, Tier.GUIDELINE), ref(4, Tier.REVIEW), ref(6, Tier.PRECLINICAL)]
    assert tier_for_citations((4, 6), refs) == Tier.REVIEW
    assert tier_for_citations((6, 1), refs) == Tier.GUIDELINE
    assert tier_for_citations((), refs) == Tier.UNREFERENCED
    assert tier_for_citations((99,), refs) == Tier.UNREFERENCED


def test_retracted_references_grant_no_tier() -> None:
    refs = [ref(1, Tier.GUIDELINE, retracted=True), ref(2, Tier.REVIEW)]
    assert tier_for_citations((1, 2), refs) == Tier.REVIEW


def test_a_retraction_notice_grants_no_tier_whatever_its_publication_types() -> None:
    # A notice retracting a guideline may carry the guideline's type: it is still no guideline.
    assert tier_for_kind("retraction_notice", ["Retraction Notice", "Practice Guideline"]) is Tier.UNREFERENCED
    notice = Reference(3, "Retraction: a guideline", "retraction_notice", Tier.GUIDELINE, retraction_of=("1",))
    assert notice.never_evidence  # and a record built by hand with a tier counts for nothing either
    assert tier_for_citations((3, 2), [notice, ref(2, Tier.REVIEW)]) == Tier.REVIEW
