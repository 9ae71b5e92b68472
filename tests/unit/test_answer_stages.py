"""Each answer stage on a two-article library with a bag-of-words encoder (tiny_library.py): plan,
search, gather, score, gate, choose, and the composition's follow-up rules. No model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from followup.answer.candidates import Candidate, maxsims
from followup.answer.stages import CandidateFinder, candidate_text, choose, gate, score
from followup.answerer import Answerer
from followup.core.settings import DEFAULT_RETRIEVAL
from followup.core.types import AskRequest, Role, Tier
from followup.index.reader import SearchIndex
from followup.retrieve.plan import QueryPlanner, Retrieval, search
from tests.unit.tiny_library import BagOfWords, tiny_library


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[SearchIndex, BagOfWords]:
    return tiny_library(tmp_path_factory.mktemp("library"))


def texts_of(index: SearchIndex, candidates: list[Candidate]) -> list[str]:
    return [candidate_text(index, c) for c in candidates]


def assessed(library: tuple[SearchIndex, BagOfWords], request: AskRequest) -> tuple[Retrieval, list[Candidate]]:
    index, encoder = library
    retrieval = search(QueryPlanner(index, DEFAULT_RETRIEVAL).plan(request), encoder, index, request, DEFAULT_RETRIEVAL)
    pool = score(CandidateFinder(index, DEFAULT_RETRIEVAL).gather(retrieval, request.top_k), retrieval.query_tokens,
                 index)  # fmt: skip
    return retrieval, pool


def test_plan_scopes_to_the_article_asked_or_to_those_naming_the_drug(library: tuple[SearchIndex, BagOfWords]) -> None:
    planner = QueryPlanner(library[0], DEFAULT_RETRIEVAL)
    scoped = planner.plan(AskRequest("What eases nausea?", (), "nausea"))
    assert scoped.searched is not None and scoped.searched.articles == ("nausea",)
    named = planner.plan(AskRequest("How much baclofen relieves spasticity?"))
    assert named.searched is not None and named.searched.articles == ("cramps",), "only cramps mentions baclofen"
    assert planner.plan(AskRequest("What eases nausea?")).searched is None, "nothing named: the whole library"


def test_plan_appends_lay_terms_and_the_sources_names_for_a_drug_in_one_bracket(
    library: tuple[SearchIndex, BagOfWords],
) -> None:
    plan = QueryPlanner(library[0], DEFAULT_RETRIEVAL).plan(AskRequest("Does Lioresal help stiff muscles?"))
    assert plan.query == "Does Lioresal help stiff muscles? (spasticity baclofen)"


def test_plan_names_what_the_sources_never_mention_and_drops_ruled_out_drugs(
    library: tuple[SearchIndex, BagOfWords],
) -> None:
    planner = QueryPlanner(library[0], DEFAULT_RETRIEVAL)
    assert planner.plan(AskRequest("Does quinine ease nausea?", (), "nausea")).not_covered == ("quinine",)
    besides = planner.plan(AskRequest("What besides baclofen relieves spasticity?"))
    assert besides.ruled_out == frozenset({"baclofen"}) and "baclofen" not in besides.query.lower()
    followup = planner.plan(AskRequest("What about older adults?", ("Did magnesium prevent leg cramps?",)))
    assert followup.query == "What about older adults? magnesium prevent leg cramps"
    assert followup.question == "What about older adults?"


def test_search_embeds_the_query_as_searched_and_as_asked_in_one_pass(library: tuple[SearchIndex, BagOfWords]) -> None:
    index, encoder = library
    request = AskRequest("What about older adults?", ("Did magnesium prevent leg cramps?",))
    before = len(encoder.passes)
    retrieval = search(QueryPlanner(index, DEFAULT_RETRIEVAL).plan(request), encoder, index, request, DEFAULT_RETRIEVAL)
    assert encoder.passes[before:] == [[retrieval.query, "What about older adults?"]]
    best_chunk = index.chunks[retrieval.ranking[0][0]]
    assert "Magnesium" in index.documents[best_chunk.doc_id].text[best_chunk.start : best_chunk.end]
    assert len(retrieval.query_tokens) == len(encoder.tokens(retrieval.query)) + len(encoder.tokens(request.question))


def test_gather_adds_the_cited_sentence_that_uncited_article_text_restates(
    library: tuple[SearchIndex, BagOfWords],
) -> None:
    index = library[0]
    _, pool = assessed(library, AskRequest("Does stretching reduce night leg cramps?"))
    article = [c for c in pool if c.chunk.doc_id == "cramps" and "Stretching" in candidate_text(index, c)]
    twins = [c for c in pool if c.chunk.doc_id == "cramps/ref-2"]
    assert article and twins
    twin = next(c for c in twins if c.retrieval_rank == article[0].retrieval_rank)
    assert twin.citations == (2,) and twin.tier == Tier.RCT
    assert twin.relevance >= article[0].relevance, "it says the same: the article sentence's relevance"


def test_gather_leaves_out_what_names_only_a_ruled_out_drug(library: tuple[SearchIndex, BagOfWords]) -> None:
    index = library[0]
    _, pool = assessed(library, AskRequest("What besides baclofen relieves spasticity?"))
    texts = texts_of(index, pool)
    assert not any(t.startswith("Baclofen 10 mg") for t in texts), "baclofen alone: not an answer"
    assert any(t.startswith("Tizanidine and dantrolene") for t in texts), "names another drug too: kept"


def test_score_is_maxsim_and_uncited_text_is_never_quotable(library: tuple[SearchIndex, BagOfWords]) -> None:
    index = library[0]
    retrieval, pool = assessed(library, AskRequest("Does stretching reduce night leg cramps?"))
    tokens = [index.embeddings.passage_tokens(c.chunk, c.start, c.end) for c in pool]
    assert [c.score for c in pool] == pytest.approx(maxsims(retrieval.query_tokens, tokens))
    assert all(c.quotable == bool(c.citations) for c in pool)
    assert any(not c.quotable for c in pool), "the article's uncited stretching sentence"


def test_text_citing_only_retracted_references_or_notices_is_never_a_candidate(
    library: tuple[SearchIndex, BagOfWords],
) -> None:
    index, encoder = library
    request = AskRequest("How much baclofen relieves spasticity?", article_id="cramps")
    _, pool = assessed(library, request)
    dose = next(c for c in pool if candidate_text(index, c).startswith("Baclofen 10 mg"))
    assert dose.citations == (1,) and dose.quotable  # the guideline grounds it
    article = index.articles["cramps"]
    guideline, trial = article.references
    for withdrawn in (replace(guideline, retracted=True), replace(guideline, kind="retraction_notice")):
        changed = replace(index, articles={**index.articles, "cramps": replace(article, references=(withdrawn, trial))})
        retrieval = search(QueryPlanner(changed, DEFAULT_RETRIEVAL).plan(request), encoder, changed, request,
                           DEFAULT_RETRIEVAL)  # fmt: skip
        pool = score(CandidateFinder(changed, DEFAULT_RETRIEVAL).gather(retrieval, 5), retrieval.query_tokens, changed)
        # Neither shown, nor listed as another place of a statement, nor counted as a sign of an answer.
        assert not [c for c in pool if candidate_text(changed, c).startswith("Baclofen 10 mg")]
        both = next(c for c in pool if candidate_text(changed, c).startswith("Tizanidine"))
        assert both.quotable  # cites the trial: grounded


def test_a_published_study_grounds_its_own_findings_at_its_own_tier(library: tuple[SearchIndex, BagOfWords]) -> None:
    index = library[0]
    request = AskRequest("Did magnesium lower nocturnal cramps?", article_id="magnesium-trial")
    _, pool = assessed(library, request)
    finding = next(c for c in pool if candidate_text(index, c).startswith("Oral magnesium"))
    assert finding.citations == (0,) and finding.quotable and finding.tier is Tier.RCT
    assert index.articles["magnesium-trial"].reference(0).kind == "randomized_controlled_trial"  # type: ignore[union-attr]
    _, seed_like = assessed(library, AskRequest("Does stretching reduce night leg cramps?", article_id="cramps"))
    assert any(not c.quotable and not c.citations for c in seed_like), "a page's own uncited text grounds nothing"


def test_gate_keeps_what_names_the_facet_or_abstains_naming_it(library: tuple[SearchIndex, BagOfWords]) -> None:
    index = library[0]
    retrieval, pool = assessed(library, AskRequest("Is ginger safe in pregnancy?"))
    gated = gate(retrieval, pool, index, frozenset())
    assert gated.candidates and all("pregnancy" in candidate_text(index, c) for c in gated.candidates)
    retrieval, pool = assessed(library, AskRequest("Is baclofen safe in pregnancy?", (), "cramps"))
    gated = gate(retrieval, pool, index, frozenset())
    assert gated.candidates == [] and gated.retrieval.not_covered == ("pregnancy",)


def test_a_source_titled_for_a_facet_addresses_it_in_every_sentence(library: tuple[SearchIndex, BagOfWords]) -> None:
    index = library[0]
    request = AskRequest("Did magnesium lower nocturnal cramps in older adults?", article_id="magnesium-trial")
    retrieval, pool = assessed(library, request)
    assert [f.name for f in retrieval.facets] == ["older adults"]
    gated = gate(retrieval, pool, index, frozenset())
    assert "Oral magnesium for four weeks did not lower" in " ".join(texts_of(index, gated.candidates))
    assert gated.retrieval.not_covered == (), "the trial's title names its population"


def test_gate_leaves_out_what_was_shown_but_keeps_its_relevance(library: tuple[SearchIndex, BagOfWords]) -> None:
    index = library[0]
    retrieval, pool = assessed(library, AskRequest("Which drugs relieve spasticity?"))
    everything = gate(retrieval, pool, index, frozenset())
    seen = frozenset({everything.candidates[0].place})
    without = gate(retrieval, pool, index, seen)
    assert without.best_relevance == everything.best_relevance, "answerability is decided before"
    assert all(not c.place.overlaps(everything.candidates[0].place) for c in without.candidates)
    assert len(without.candidates) < len(everything.candidates)


def test_choose_abstains_below_the_relevance_floor_and_puts_the_answer_first(
    library: tuple[SearchIndex, BagOfWords],
) -> None:
    index = library[0]
    retrieval, pool = assessed(library, AskRequest("Which drugs relieve spasticity?"))
    assessment = gate(retrieval, pool, index, frozenset())
    arrangement = choose(assessment, index, 5, DEFAULT_RETRIEVAL)
    assert arrangement.answered and arrangement.groups[0].role == Role.ANSWER
    assert all(g.role == Role.EVIDENCE for g in arrangement.groups[1:])
    assert all(g.candidates[0].quotable for g in arrangement.groups)
    strict = choose(assessment, index, 5, replace(DEFAULT_RETRIEVAL, min_relevance=0.99))
    assert not strict.answered and strict.groups == ()
    none = choose(replace(assessment, candidates=[]), index, 5, DEFAULT_RETRIEVAL)
    assert not none.answered


def test_an_else_followup_moves_past_what_the_previous_turn_showed_first(
    library: tuple[SearchIndex, BagOfWords],
) -> None:
    index, encoder = library
    answerer = Answerer(index, encoder)
    first = answerer.answer(AskRequest("Which drugs relieve spasticity?"))
    shown = first.passages[0]
    more = answerer.answer(AskRequest("What else relieves it?", ("Which drugs relieve spasticity?",)))
    assert more.answered and more.passages
    assert all(not (p.source_id == shown.source_id and p.start < shown.end and shown.start < p.end)
               for p in more.passages)  # fmt: skip


def test_an_else_followup_reuses_the_previous_turn_as_answered_or_finds_it_by_the_stages(
    library: tuple[SearchIndex, BagOfWords],
) -> None:
    index, encoder = library
    first, more = (
        AskRequest("Which drugs relieve spasticity?"),
        AskRequest("What else?", ("Which drugs relieve spasticity?",)),
    )
    answerer = Answerer(index, encoder)
    answerer.answer(first)
    before = len(encoder.passes)
    remembered = answerer.answer(more)
    assert len(encoder.passes) - before == 1, "the previous turn is not run again"
    before = len(encoder.passes)
    cold = Answerer(index, encoder).answer(more)
    assert len(encoder.passes) - before == 2, "a new answerer runs the previous turn's stages"
    assert cold == remembered


def test_a_borrowed_query_equal_to_the_first_is_not_encoded_again(library: tuple[SearchIndex, BagOfWords]) -> None:
    index, encoder = library
    # A floor no passage reaches sends every follow-up to the conversation's subject.
    answerer = Answerer(index, encoder, replace(DEFAULT_RETRIEVAL, min_relevance=0.99))
    before = len(encoder.passes)
    answerer.assess(AskRequest("And the harms?", ("Did magnesium prevent leg cramps?",)))  # borrows already
    assert len(encoder.passes) - before == 1
    before = len(encoder.passes)
    answerer.assess(
        AskRequest("Did magnesium supplements prevent cramps?", ("Does stretching reduce night leg cramps?",))
    )
    assert len(encoder.passes) - before == 2, "names something: asked again in the conversation's subject"
    assert encoder.passes[-1][0] != encoder.passes[-2][0]


def test_the_bag_of_words_stand_in_is_a_real_encoder_shape(library: tuple[SearchIndex, BagOfWords]) -> None:
    _, encoder = library
    vectors, tokens = encoder.encode_with_tokens(["leg cramps", "unknown words"])
    assert vectors.shape == (2, encoder.dimension)
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0) and not vectors[1].any()
    assert len(tokens[0].vectors) == 2 and len(tokens[1].vectors) == 0
