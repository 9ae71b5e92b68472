"""Evidence filters (tiers, since) on the three-article library (tiny_library.py): what a filter admits,
the chunks it searches, the passages it shows under the tier it admits, and the abstention that says the
filter left the answer out. No model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from followup.answer.stages import evidence_filter
from followup.answerer import Answerer
from followup.core.errors import InvalidRequest
from followup.core.types import EvidenceFilter, Reference, Tier
from followup.index.reader import SearchIndex
from followup.present.render import answer_to_contract, filter_description, format_answer, not_answered
from tests.unit.tiny_library import BagOfWords, tiny_library


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[SearchIndex, BagOfWords]:
    return tiny_library(tmp_path_factory.mktemp("library"))


def test_a_filter_admits_references_by_tier_and_year() -> None:
    review = Reference(3, "R", "systematic_review", Tier.SYSTEMATIC_REVIEW, year=2016)
    undated = Reference(4, "U", "guideline", Tier.GUIDELINE)
    assert EvidenceFilter().admits(review) and EvidenceFilter().admits(undated) and not EvidenceFilter().active
    assert EvidenceFilter(frozenset({Tier.SYSTEMATIC_REVIEW})).admits(review)
    assert not EvidenceFilter(frozenset({Tier.GUIDELINE})).admits(review)
    assert EvidenceFilter(since=2016).admits(review) and not EvidenceFilter(since=2017).admits(review)
    assert not EvidenceFilter(since=1900).admits(undated), "an unknown year cannot be shown to be recent"
    retracted = Reference(5, "X", "guideline", Tier.GUIDELINE, year=2020, retracted=True)
    assert not EvidenceFilter(since=2000).admits(retracted)


@pytest.mark.parametrize(
    ("tiers", "since", "wrong"),
    [
        (["guidline"], None, "unknown tier 'guidline'; the tiers are guideline, drug_label"),
        ([], None, "tiers is empty"),
        (None, 1200, "since must be a year from 1600 to 2999, not 1200"),
        (None, True, "since must be a year (an integer), not True"),
    ],
)
def test_a_wrong_filter_says_what_is_wrong(tiers: list[str] | None, since: object, wrong: str) -> None:
    with pytest.raises(InvalidRequest, match=wrong.replace("(", r"\(").replace(")", r"\)")):
        evidence_filter(tiers, since)  # type: ignore[arg-type]


def test_the_search_scope_keeps_the_chunks_citing_what_the_filter_admits(
    library: tuple[SearchIndex, BagOfWords],
) -> None:
    index = library[0]
    trials = index.evidence_scope(EvidenceFilter(frozenset({Tier.RCT})), None)
    cited = {index.chunks[int(i)].doc_id for i in trials.chunks}
    # The cramps article's sentences citing the trial (2), the trial's own text, and the magnesium trial,
    # a published randomised trial whose own sentences are its evidence.
    assert cited == {"cramps", "cramps/ref-2", "magnesium-trial"} and trials.by_chunk
    assert set(trials.articles) == {"cramps", "magnesium-trial"}
    for i in trials.chunks:
        chunk = index.chunks[int(i)]
        assert chunk.article_id == "magnesium-trial" or 2 in chunk.citations
    scoped = index.evidence_scope(EvidenceFilter(frozenset({Tier.RCT})), index.search_scope(["nausea"]))
    assert scoped.chunks.size == 0, "the nausea article cites no trial"
    assert np.array_equal(index.evidence_scope(EvidenceFilter(since=2030), None).chunks, np.zeros(0))


def test_passages_come_from_the_admitted_evidence_under_its_tier(library: tuple[SearchIndex, BagOfWords]) -> None:
    answerer = Answerer(*library)
    everything = answerer.ask("Which drugs relieve spasticity?")
    assert {p.tier for p in everything.passages} == {Tier.GUIDELINE, Tier.RCT}
    trials = answerer.ask("Which drugs relieve spasticity?", tiers=["rct"])
    assert trials.answered and trials.passages
    assert all(p.tier is Tier.RCT and 2 in p.citations for p in trials.passages)
    recent = answerer.ask("Which drugs relieve spasticity?", since=2020)
    assert recent.answered and all(p.citations == (1,) for p in recent.passages), "the trial is from 2012"
    contract = answer_to_contract(trials)
    assert contract["filter"] == {"tiers": ["rct"], "since": None} and contract["excluded_by_filter"] is False
    assert "(only randomised trials)" in format_answer(trials)


def test_an_answer_only_outside_the_filter_abstains_saying_so(library: tuple[SearchIndex, BagOfWords]) -> None:
    answerer = Answerer(*library)
    filtered = answerer.ask("Which drugs relieve spasticity?", tiers=["systematic_review", "guideline"], since=2025)
    assert not filtered.answered and filtered.excluded_by_filter and not filtered.passages
    assert not_answered(filtered) == (
        "The evidence your filter admits (guidelines or systematic reviews, published 2025 or later) does not "
        "answer this question; the article and its references answer it from evidence the filter excluded."
    )
    # Out of reach whatever the filter: the plain abstention, naming what the sources lack.
    quinine = answerer.ask("Does quinine ease nausea?", article="nausea", tiers=["guideline"])
    assert not quinine.answered and not quinine.excluded_by_filter and quinine.not_covered == ("quinine",)


def test_filter_description_reads_as_a_person_says_it() -> None:
    both = EvidenceFilter(frozenset({Tier.SYSTEMATIC_REVIEW, Tier.GUIDELINE, Tier.DRUG_LABEL}), 2015)
    assert filter_description(both) == "guidelines, drug labels or systematic reviews, published 2015 or later"
    assert filter_description(EvidenceFilter(since=1999)) == "published 1999 or later"


def test_an_index_with_other_references_computes_its_own_scope(library: tuple[SearchIndex, BagOfWords]) -> None:
    index = library[0]
    trials = EvidenceFilter(frozenset({Tier.RCT}))
    before = index.evidence_scope(trials, None).chunks
    cramps = index.articles["cramps"]
    retracted = replace(cramps, references=tuple(replace(r, retracted=r.number == 2) for r in cramps.references))
    changed = replace(index, articles={**index.articles, "cramps": retracted})
    after = changed.evidence_scope(trials, None).chunks
    assert {index.chunks[int(i)].article_id for i in after} == {"magnesium-trial"} and len(after) < len(before)
