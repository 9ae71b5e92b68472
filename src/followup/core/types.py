"""Frozen dataclasses that cross stage boundaries: the corpus (articles, references, documents, blocks,
chunks, sentences), a question as asked (`AskRequest`), and evidence tiers with how a reference's kind
or PubMed publication types and article text map to one. The answer contract's are in
present/contract.py."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, TypeGuard, get_args

from followup.core.settings import Mode


class Tier(Enum):
    """Evidence tiers, best first; `rank` orders passages (1 is best)."""

    GUIDELINE = "guideline"
    DRUG_LABEL = "drug_label"
    SYSTEMATIC_REVIEW = "systematic_review"
    RCT = "rct"
    OBSERVATIONAL = "observational"
    REVIEW = "review"
    CASE_REPORT = "case_report"
    PRECLINICAL = "preclinical"
    UNREFERENCED = "unreferenced"

    @property
    def rank(self) -> int:
        return list(Tier).index(self) + 1


# A reference's `kind` in references.json (core/types.py maps each to its tier). Several spellings of one
# kind, so that records copied from other tools load without editing.
ReferenceKind = Literal[
    "guideline", "practice_guideline", "consensus_statement", "drug_label", "systematic_review", "meta_analysis",
    "rct", "randomized_controlled_trial", "observational_study", "cohort_study", "case_control_study",
    "cross_sectional_study", "review", "case_report", "case_series", "preclinical_study", "animal_study",
    "in_vitro_study", "editorial", "expert_opinion", "retraction_notice", "unknown",
]  # fmt: skip
REFERENCE_KINDS: tuple[ReferenceKind, ...] = get_args(ReferenceKind)


# The number of an article's own record, when the article is itself a published study (a trial's
# report, a cohort study, a review): its findings are stated in sentences that cite nothing, grounded
# in the article itself. A page that only summarises its sources has no such record.
SELF = 0
# Reference numbers are stored as int32 (index/records.py); no reference list comes near this.
MAX_REFERENCE_NUMBER = 99_999


@dataclass(frozen=True)
class Reference:
    """One entry of an article's reference list, numbered as the article numbers it; number 0 (SELF)
    is the article's own record."""

    number: int
    title: str | None
    kind: ReferenceKind
    tier: Tier
    authors: str | None = None
    journal: str | None = None
    year: int | None = None
    ids: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    retracted: bool = False
    text_file: str | None = None  # relative to the article folder; None when only the article quotes it
    retraction_notices: tuple[str, ...] = ()  # PMIDs of the notices that retracted it
    retraction_of: tuple[str, ...] = ()  # a retraction notice's: PMIDs of the papers it retracts

    @property
    def never_evidence(self) -> bool:
        """Retracted, or a retraction notice: its text is not indexed and citing it grants no tier."""
        return self.retracted or self.kind == "retraction_notice"


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    question: str
    last_updated: str
    references: tuple[Reference, ...]

    def reference(self, number: int) -> Reference | None:
        return next((r for r in self.references if r.number == number), None)


@dataclass(frozen=True)
class Block:
    """A paragraph or bullet of a document: [start, end) in its text, under a section breadcrumb.

    `lead_in` is the sentence that introduces a list ("... including:"), kept as retrieval context.
    """

    start: int
    end: int
    section: tuple[str, ...]
    lead_in: str = ""


@dataclass(frozen=True)
class CitationMarker:
    """A citation in the article text: bare (" 1", " 4, 5") or bracketed (" [1]", " [4–6]")."""

    start: int
    end: int
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class Document:
    """A text that can be quoted: the article itself, or one reference's own text."""

    id: str
    article_id: str
    title: str
    text: str
    blocks: tuple[Block, ...]
    reference_number: int | None = None  # None for the article itself
    markers: tuple[CitationMarker, ...] = ()


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    citations: tuple[int, ...]


@dataclass(frozen=True)
class Chunk:
    """The retrieval unit: consecutive sentences of one block, with its context for indexing."""

    id: int
    doc_id: str
    article_id: str
    start: int
    end: int
    section: tuple[str, ...]
    sentences: tuple[Sentence, ...]
    context: str  # title, breadcrumb and lead-in: indexed with the text, never quoted

    @property
    def citations(self) -> tuple[int, ...]:
        return tuple(sorted({n for s in self.sentences for n in s.citations}))


class Role(Enum):
    """What a passage is in an answer: the one that answers, or other cited evidence that also answers."""

    ANSWER = "answer"
    EVIDENCE = "evidence"


# The years a `since` filter may name: before the first journals there is nothing to cite.
EARLIEST_YEAR, LATEST_YEAR = 1600, 2999


@dataclass(frozen=True)
class EvidenceFilter:
    """The evidence a clinician asks for: only some tiers ("guidelines and systematic reviews"), only
    what was published since a year. A passage passes when a reference it cites does (article text
    keeps the tier and year of what it cites); a reference of unknown year fails a `since`: it cannot
    be shown to be recent. Retracted references and retraction notices pass nothing. The default passes everything."""

    tiers: frozenset[Tier] | None = None  # None: every tier
    since: int | None = None  # a year, inclusive; None: any year

    @property
    def active(self) -> bool:
        return self.tiers is not None or self.since is not None

    def admits(self, ref: Reference) -> bool:
        if ref.never_evidence or (self.tiers is not None and ref.tier not in self.tiers):
            return False
        return self.since is None or (ref.year is not None and ref.year >= self.since)


NO_FILTER = EvidenceFilter()


@dataclass(frozen=True)
class AskRequest:
    """A follow-up question, the earlier questions of the conversation (oldest first), the article to
    answer from (None: the whole library), how many passages at most, the retrieval mode, and the
    evidence it may be answered from."""

    question: str
    history: tuple[str, ...] = ()
    article_id: str | None = None
    top_k: int = 5
    mode: Mode = "hybrid"
    evidence: EvidenceFilter = NO_FILTER


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
    # A notice says a paper is withdrawn; it says nothing about the clinical question.
    "retraction_notice": Tier.UNREFERENCED,
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
    if kind == "retraction_notice":  # whatever types it carries, a notice is no evidence of any tier
        return Tier.UNREFERENCED
    from_types = [PUBLICATION_TYPE_TIERS[t.lower()] for t in publication_types if t.lower() in PUBLICATION_TYPE_TIERS]
    return best_tier([KIND_TIERS[kind], *from_types])


def tier_for_citations(
    citations: Iterable[int], references: Iterable[Reference], evidence: EvidenceFilter = NO_FILTER
) -> Tier:
    """Article text inherits the best tier among the references it cites; retracted ones and retraction
    notices count for nothing, nor, under a filter, those it does not admit."""
    by_number = {r.number: r for r in references}
    cited = [by_number[n] for n in citations if n in by_number and not by_number[n].never_evidence]
    return best_tier(r.tier for r in cited if evidence.admits(r))
