"""Follow-up questions about the seed article, answered by the real model on the real corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from followup.answerer import Answerer
from followup.core.errors import InvalidRequest, UnknownArticle
from followup.core.settings import Mode
from followup.core.types import AskRequest, Role
from followup.core.words import words
from followup.present.contract import Answer

pytestmark = pytest.mark.model

MS = "Which medication treats spasticity in multiple sclerosis?"
VALIUM = "Is Valium useful for muscle spasm?"
EAMC = "What causes exercise-associated muscle cramps?"

# (question, history, any of these verbatim phrases in the top three passages, the citation that grounds it)
ANSWERABLE: list[Any] = [
    ("What electrolyte problems cause muscle spasms?", (), ("hypokalemia, hypomagnesemia",), 1),
    ("Can water pills cause muscle cramps?", (), ("diuretics like furosemide",), 1),
    ("Can cholesterol medicine cause muscle spasms?", (), ("emetine, or statins",), 1),
    ("Does low potassium cause muscle spasms?", (), ("hypokalemia",), 1),
    (MS, (), ("baclofen, at a dose of 10-20 mg",), 1),
    ("What dose should be used?", (MS,), ("10-20 mg three times daily",), 1),
    pytest.param(
        "What else can treat it?",
        (MS,),
        ("tizanidine, and dantrolene", "tizanidine and dantrolene may be used"),
        7,
        marks=pytest.mark.xfail(
            strict=True,
            reason="known miss: the MS question's answer is now the review's 'baclofen, tizanidine, and "
            "dantrolene' sentence, so 'what else' leaves it out; the guideline's 'Additionally, tizanidine "
            "and dantrolene may be used ...' scores below the baclofen dose sentence",
        ),
    ),
    (VALIUM, (), ("useful adjunct for the relief of skeletal muscle spasm",), 2),
    (
        "What else is it indicated for?",
        (VALIUM,),
        ("convulsive disorders", "acute alcohol withdrawal", "anxiety"),
        2,
    ),
    (
        "What else is it approved for?",
        ("Is diazepam useful for skeletal muscle spasm?",),
        ("convulsive disorders", "acute alcohol withdrawal", "anxiety"),
        2,
    ),
    ("Can diazepam be used alone for seizures?", (), ("not proved useful as the sole therapy",), 2),
    ("How long can Valium be used?", (), ("more than 4 months",), 2),
    ("Can diazepam help with alcohol withdrawal?", (), ("In acute alcohol withdrawal",), 2),
    ("How should exercise-associated muscle cramps be treated?", (), ("gentle static stretching",), 5),
    ("Is it mostly dehydration?", (EAMC,), ("Dehydration or electrolyte depletion",), 4),
    # Sentences restating the topic ("spasms are common in SCI") outranked the causal one under the
    # sentence cosine; the answer score puts the finding first.
    ("Why do spasms happen after spinal cord injury?", (), ("motoneuron excitability",), 6),
    # A follow-up naming only a detail is asked again in the conversation's subject.
    ("Which currents are increased?", ("Why do spasms happen after spinal cord injury?",), ("inward currents",), 6),
    ("What happens when synaptic inhibition is blocked?", (), ("all preparations became clearly spastic",), 6),
    ("Are muscle relaxants better than placebo for MS stiffness?", (), ("fair evidence that baclofen",), 7),
    (
        "What is the quality of the trials of muscle relaxants?",
        (),
        ("No randomized trial was rated good quality",),
        7,
    ),
    ("What causes smooth muscle spasm?", (), ("smooth muscle contractile mechanisms",), 3),
    ("Which drugs cause toxic myopathy?", (), ("colchicine, chloroquine, emetine, or statins",), 1),
]


def _ids(cases: list[Any]) -> list[str]:
    return [str(case.values[0] if hasattr(case, "values") else case[0]) for case in cases]


OUT_OF_SCOPE = [
    "What antibiotic dose is used for acute otitis media?",
    "What is the capital of France?",
    "How do I reset my router?",
    "What is the best treatment for migraine?",
    "How is type 2 diabetes diagnosed?",
]


def source_text(corpus: Path, source_id: str) -> str:
    """The passage's source read from the corpus files themselves, not from the index."""
    article_id, _, ref = source_id.partition("/ref-")
    folder = corpus / article_id
    if not ref:
        return (folder / "article.md").read_text(encoding="utf-8")
    records = json.loads((folder / "references.json").read_text(encoding="utf-8"))["references"]
    record = next(r for r in records if r["number"] == int(ref))
    return (folder / str(record["text_file"])).read_text(encoding="utf-8")


def assert_contract(answer: Answer, corpus: Path) -> None:
    numbers = {1, 2, 3, 4, 5, 6, 7}
    assert [p.rank for p in answer.passages] == list(range(1, len(answer.passages) + 1))
    if answer.passages:  # the answer first, whatever its tier; the evidence after it by tier
        assert [p.role for p in answer.passages] == [Role.ANSWER] + [Role.EVIDENCE] * (len(answer.passages) - 1)
        tier_ranks = [p.tier.rank for p in answer.passages[1:]]
        assert tier_ranks == sorted(tier_ranks), "the evidence is ordered by evidence tier"
        assert all(p.citations for p in answer.passages), "an uncited sentence is never shown as evidence"
    for passage in answer.passages:
        assert passage.text == source_text(corpus, passage.source_id)[passage.start : passage.end]
        assert set(passage.citations) <= numbers
        for quote in passage.also_in:
            assert quote.text == source_text(corpus, quote.source_id)[quote.start : quote.end]
            assert set(quote.citations) <= numbers
    cited = {n for p in answer.passages for n in (*p.citations, *(n for q in p.also_in for n in q.citations))}
    assert {r.reference.number for r in answer.references} == cited


@pytest.mark.parametrize(("question", "history", "phrases", "citation"), ANSWERABLE, ids=_ids(ANSWERABLE))
def test_answerable_questions_find_the_cited_passage(
    answerer: Answerer, built: tuple[Path, Path], question: str, history: tuple[str, ...], phrases: tuple[str, ...],
    citation: int,
) -> None:  # fmt: skip
    answer = answerer.answer(AskRequest(question, history))
    assert answer.answered
    assert_contract(answer, built[0])
    top = answer.passages[:3]
    hits = [p for p in top if any(phrase in p.text for phrase in phrases)]
    assert hits, f"none of {phrases} in the top passages: {[p.text[:80] for p in top]}"
    assert citation in hits[0].citations


def test_elliptical_followup_shows_the_resolved_query(answerer: Answerer) -> None:
    answer = answerer.answer(AskRequest("What dose should be used?", (MS,)))
    assert answer.query == "What dose should be used? spasticity multiple sclerosis"
    alone = answerer.answer(AskRequest("What dose should be used?"))
    assert alone.query == "What dose should be used?"


def test_lay_terms_are_shown_in_the_query(answerer: Answerer) -> None:
    query = answerer.answer(AskRequest("Can water pills cause muscle cramps?")).query
    assert query.endswith("(diuretics furosemide hydrochlorothiazide)")


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope_questions_abstain(answerer: Answerer, question: str) -> None:
    answer = answerer.answer(AskRequest(question))
    assert not answer.answered
    assert answer.passages == () and answer.references == ()


# Near-topic questions the sources cannot answer although passages about the same drug or symptom are
# relevant enough to pass the relevance gate: what they name is never mentioned.
NOT_COVERED: list[Any] = [
    ("Is quinine effective for night-time leg cramps?", (), ("quinine",)),
    ("Can Lyrica cause muscle cramps?", (), ("Lyrica",)),
    ("Is it safe during pregnancy?", (VALIUM,), ("pregnancy",)),
    ("Is it habit forming?", (VALIUM,), ("dependence",)),
    ("Can baclofen be given to children with cerebral palsy?", (), ("children",)),
    # The sources do name adverse events (the review's trials), but no passage on Valium does.
    ("What are the side effects of Valium?", (), ("side effects",)),
    # Named by a phrasing rather than a term (data/facet-cues.tsv).
    ("Can I drive after taking Valium?", (), ("driving or operating machinery",)),
    ("Who should not take baclofen?", (), ("contraindications",)),
    ("What happens if diazepam is stopped suddenly?", (), ("stopping the drug",)),
    ("How quickly does Valium start working?", (), ("onset of action",)),
    ("How does baclofen work?", (), ("mechanism of action",)),
    ("What happens if someone takes too much dantrolene?", (), ("overdose",)),
]

# Close in wording to a facet's phrasings, and answered by the sources.
LOOK_ALIKES = [
    "Can Valium calm the shakes when someone is coming off alcohol?",
    "What is driving the spasms after spinal cord injury?",
    "Can too much exercise bring on cramps?",
    "Does Valium work for muscle spasm?",
]


@pytest.mark.parametrize("question", LOOK_ALIKES)
def test_questions_resembling_a_facet_phrasing_are_still_answered(answerer: Answerer, question: str) -> None:
    answer = answerer.answer(AskRequest(question, (), article_id="muscle-spasm"))
    assert answer.answered and answer.not_covered == ()


@pytest.mark.parametrize(("question", "history", "not_covered"), NOT_COVERED, ids=_ids(NOT_COVERED))
def test_questions_naming_what_the_sources_never_mention_abstain_and_say_so(
    answerer: Answerer, question: str, history: tuple[str, ...], not_covered: tuple[str, ...]
) -> None:
    request = AskRequest(question, history, article_id="muscle-spasm")
    assert answerer.assess(request).best_relevance >= answerer.params.min_relevance  # relevance alone would answer
    answer = answerer.answer(request)
    assert not answer.answered and answer.passages == ()
    assert answer.not_covered == not_covered


def test_passages_shown_for_a_facet_name_it(answerer: Answerer) -> None:
    answer = answerer.answer(AskRequest("Was there rigorous assessment of adverse events in the trials?"))
    assert answer.answered and answer.passages
    assert all("adverse event" in p.text for p in answer.passages)
    assert "No randomized trial was rated good quality" in answer.passages[0].text


@pytest.mark.parametrize(
    ("question", "history", "ruled_out"),
    [
        ("What can be given for spasticity in multiple sclerosis besides baclofen?", (), {"baclofen"}),
        (
            "When are they indicated?",
            ("What else treats spasticity in multiple sclerosis besides baclofen?",),
            {"baclofen"},
        ),
        ("Other than Valium, what treats muscle spasm?", (), {"valium", "diazepam"}),
    ],
)
def test_a_drug_ruled_out_is_neither_searched_for_nor_shown_alone(
    answerer: Answerer, question: str, history: tuple[str, ...], ruled_out: set[str]
) -> None:
    answer = answerer.answer(AskRequest(question, history))
    assert answer.answered and not ruled_out & set(words(answer.query))
    for passage in answer.passages:
        named = {w for w in ("baclofen", "tizanidine", "dantrolene", "valium", "diazepam") if w in passage.text.lower()}
        assert not named or not named <= ruled_out, passage.text


def test_a_brand_name_is_searched_under_the_name_the_sources_use(answerer: Answerer) -> None:
    answer = answerer.answer(AskRequest("Is Lioresal used for spasms in multiple sclerosis?"))
    assert answer.query.endswith("(baclofen)") and answer.not_covered == ()
    assert any("baclofen, at a dose of 10-20 mg" in p.text for p in answer.passages[:3])


def test_the_same_statement_is_shown_once(answerer: Answerer, built: tuple[Path, Path]) -> None:
    answer = answerer.answer(AskRequest(VALIUM))
    assert_contract(answer, built[0])
    adjunct = [p for p in answer.passages if "useful adjunct for the relief of skeletal muscle spasm" in p.text]
    assert len(adjunct) == 1
    [passage] = adjunct
    assert passage.source_id == "muscle-spasm/ref-2" and passage.tier.value == "drug_label"
    assert any(
        q.source_id == "muscle-spasm" and q.text.startswith("Diazepam is a useful adjunct") for q in passage.also_in
    )


def test_an_uncited_restatement_is_shown_as_the_reference_it_restates(
    answerer: Answerer, built: tuple[Path, Path]
) -> None:
    # Asked with the article's wording ("diazepam"), not the label's ("Valium"): retrieval finds the
    # article's uncited sentence first; the label's sentence, which it restates, is what is shown.
    answer = answerer.answer(AskRequest("Is diazepam an adjunct for spasm from inflamed joints or trauma?"))
    assert_contract(answer, built[0])
    adjunct = [p for p in answer.passages if "useful adjunct for the relief of skeletal muscle spasm" in p.text]
    assert [(p.source_id, p.citations) for p in adjunct] == [("muscle-spasm/ref-2", (2,))]
    assert any(q.source_id == "muscle-spasm" and q.citations == () for q in adjunct[0].also_in)
    assert all(p.citations for p in answer.passages if p.tier.value != "unreferenced")


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_every_mode_answers(answerer: Answerer, built: tuple[Path, Path], mode: Mode) -> None:
    answer = answerer.answer(AskRequest("Is diazepam indicated for alcohol withdrawal?", mode=mode))
    assert answer.answered
    assert_contract(answer, built[0])
    assert any("In acute alcohol withdrawal" in p.text for p in answer.passages[:3])


def test_scoping_to_the_article(answerer: Answerer) -> None:
    answer = answerer.answer(AskRequest(MS, article_id="muscle-spasm"))
    assert answer.answered and all(p.source_id.startswith("muscle-spasm") for p in answer.passages)
    with pytest.raises(UnknownArticle, match="unknown article 'hiccups'; known articles: muscle-spasm"):
        answerer.answer(AskRequest(MS, article_id="hiccups"))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (AskRequest(""), "question is empty"),
        (AskRequest("x" * 50_000), "question is 50,000 characters long"),
        (AskRequest("q", history=("ok",) * 21), "history has 21 turns"),
        (AskRequest("q", top_k=0), "top_k must be between 1 and 20"),
        (AskRequest("q", mode=cast(Mode, "sparse")), "mode must be one of bm25, dense, hybrid"),
    ],
)
def test_bad_requests_are_refused(answerer: Answerer, request_: AskRequest, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        answerer.answer(request_)


def test_what_else_moves_past_the_previous_answer(answerer: Answerer) -> None:
    before = answerer.answer(AskRequest(VALIUM))
    assert "useful adjunct for the relief of skeletal muscle spasm" in before.passages[0].text
    after = answerer.answer(AskRequest("What else is it indicated for?", (VALIUM,)))
    assert after.answered
    assert "useful adjunct" not in after.passages[0].text
    assert after.passages[0].source_id == "muscle-spasm/ref-2"


# The passage that answers comes first, whatever its tier: cases where tier order over a wide
# relevance margin, or the sentence cosine, put guideline text or a sentence restating the topic first.
ANSWER_FIRST = [
    ("What role do calcium ions play in muscle spasm?", (), "concentration of calcium ions"),
    ("Why do spasms happen after spinal cord injury?", (), "changes in motoneuron excitability"),
    ("Is it mostly dehydration?", (EAMC,), "Dehydration or electrolyte depletion"),
    ("What dose should be used?", (MS,), "at a dose of 10-20 mg"),
]


@pytest.mark.parametrize(("question", "history", "phrase"), ANSWER_FIRST, ids=[c[0] for c in ANSWER_FIRST])
def test_the_passage_that_answers_comes_first(
    answerer: Answerer, built: tuple[Path, Path], question: str, history: tuple[str, ...], phrase: str
) -> None:
    answer = answerer.answer(AskRequest(question, history))
    assert_contract(answer, built[0])
    assert phrase in answer.passages[0].text, answer.passages[0].text
