"""Evidence tiers: from a reference's kind or PubMed publication types, and for article text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeGuard

from followup.core.types import REFERENCE_KINDS, Reference, ReferenceKind, Tier

# Each kind of reference (core/types.py ReferenceKind) and its tier.
KIND_TIERS: dict[ReferenceKind, Tier] = {
    "guideline": Tier.GUIDELINE,
    "practice_guideline": Tier.GUIDELINE,
    "consensus_statement": Tier.GUIDELINE,
    "drug_label": Tier.DRUG_LABEL,
    "systematic_review": Tier.SYSTEMATIC_REVIEW,
    "meta_analysis": Tier.SYSTEMATIC_REVIEW,
    "rct": Tier.RCT,
    "randomized_controlled_trial": Tier.RCT,
    "observational_study": Tier.OBSERVATIONAL,
    "cohort_study": Tier.OBSERVATIONAL,
    "case_control_study": Tier.OBSERVATIONAL,
    "cross_sectional_study": Tier.OBSERVATIONAL,
    "review": Tier.REVIEW,
    "case_report": Tier.CASE_REPORT,
    "case_series": Tier.CASE_REPORT,
    "preclinical_study": Tier.PRECLINICAL,
    "animal_study": Tier.PRECLINICAL,
    "in_vitro_study": Tier.PRECLINICAL,
    "editorial": Tier.UNREFERENCED,
    "expert_opinion": Tier.UNREFERENCED,
    "unknown": Tier.UNREFERENCED,
}

# PubMed publication types, for records that carry them; the best tier among them wins.
PUBLICATION_TYPE_TIERS: dict[str, Tier] = {
    "guideline": Tier.GUIDELINE,
    "practice guideline": Tier.GUIDELINE,
    "consensus development conference": Tier.GUIDELINE,
    "consensus development conference, nih": Tier.GUIDELINE,
    "systematic review": Tier.SYSTEMATIC_REVIEW,
    "meta-analysis": Tier.SYSTEMATIC_REVIEW,
    "randomized controlled trial": Tier.RCT,
    "observational study": Tier.OBSERVATIONAL,
    "comparative study": Tier.OBSERVATIONAL,
    "multicenter study": Tier.OBSERVATIONAL,
    "review": Tier.REVIEW,
    "case reports": Tier.CASE_REPORT,
}


def best_tier(tiers: Iterable[Tier]) -> Tier:
    return min(tiers, key=lambda t: t.rank, default=Tier.UNREFERENCED)


def is_reference_kind(value: str) -> TypeGuard[ReferenceKind]:
    return value in REFERENCE_KINDS


def tier_for_kind(kind: ReferenceKind, publication_types: Iterable[str] = ()) -> Tier:
    """The tier of a reference. Raises KeyError for an unknown kind (the corpus loader reports it)."""
    from_types = [PUBLICATION_TYPE_TIERS[t.lower()] for t in publication_types if t.lower() in PUBLICATION_TYPE_TIERS]
    return best_tier([KIND_TIERS[kind], *from_types])


def tier_for_citations(citations: Iterable[int], references: Iterable[Reference]) -> Tier:
    """Article text inherits the best tier among the references it cites; retracted ones count for nothing."""
    by_number = {r.number: r for r in references}
    cited = [by_number[n] for n in citations if n in by_number and not by_number[n].retracted]
    return best_tier(r.tier for r in cited)
