from __future__ import annotations

import re

import pytest

from followup.core.words import addresses, clinical_facets, named_facets, parse_facets, tokenize

FACETS = parse_facets(
    "# comment\nfacet\tterms\npregnancy\tpregnancy; pregnant\nbreastfeeding\tbreast milk; lactation\n"
)


def names(question: str) -> list[str]:
    return [f.name for f in named_facets(question, FACETS)]


def test_a_question_names_a_facet_by_any_of_its_terms() -> None:
    assert names("Is it safe during pregnancy?") == ["pregnancy"]
    assert names("Can a pregnant woman take it?") == ["pregnancy"]
    assert names("Does it pass into breast milk while pregnant?") == ["pregnancy", "breastfeeding"]
    assert names("Is it safe for anxiety?") == []


def test_a_phrase_needs_its_words_in_order_in_the_question() -> None:
    assert names("Is milk from the breast safe?") == []


def test_sources_address_a_facet_when_they_use_any_of_its_terms() -> None:
    pregnancy, breastfeeding = FACETS
    assert addresses(frozenset(tokenize("Use in pregnant women has not been studied.")), pregnancy)
    label = frozenset(tokenize("Valium is indicated for anxiety disorders and skeletal muscle spasm."))
    assert not addresses(label, pregnancy) and not addresses(label, breastfeeding)


@pytest.mark.parametrize("line", ["pregnancy", "pregnancy\t", "\tpregnant", "pregnancy\tthe; and"])
def test_malformed_lines_are_refused_with_their_number(line: str) -> None:
    with pytest.raises(ValueError, match="facets line 2"):
        parse_facets(f"facet\tterms\n{line}\n")


def test_the_shipped_facets_parse_and_leave_everyday_questions_alone() -> None:
    facets = clinical_facets()
    assert {"pregnancy", "children", "overdose", "drug interactions"} <= {f.name for f in facets}
    everyday = (
        "How much of it should be taken?",
        "Does the dose depend on weight?",
        "How can I stop getting cramps every time I play sport?",
        "What is the effect of stretching on the other side?",
    )
    for question in everyday:
        assert named_facets(question, facets) == (), question


CUED = parse_facets(
    "driving\tmotor vehicle; operating machinery\noverdose\toverdose\n",
    "facet\twhen\tpattern\ndriving\tany\t\\b(safe|ok) to drive\\b\noverdose\tdrug\t\\btoo much\\b\n",
)


def test_a_cue_names_its_facet_in_words_the_facet_terms_do_not_use() -> None:
    assert [f.name for f in named_facets("Is it safe to drive on it?", CUED)] == ["driving"]
    assert named_facets("Is excitatory drive increased?", CUED) == ()


def test_a_drug_cue_counts_only_in_a_question_that_names_a_drug() -> None:
    assert named_facets("Can too much exercise cause cramps?", CUED) == ()
    assert [f.name for f in named_facets("What if I take too much baclofen?", CUED, names_drug=True)] == ["overdose"]


def test_cues_never_count_as_the_sources_addressing_a_facet() -> None:
    driving = CUED[0]
    assert not addresses(frozenset(tokenize("It is safe to drive after the cramp settles.")), driving)
    assert addresses(frozenset(tokenize("Caution against operating machinery.")), driving)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("driving\tsometimes\t\\bdrive\\b", "expected 'facet<TAB>any|drug<TAB>pattern'"),
        ("driving\tany", "expected 'facet<TAB>any|drug<TAB>pattern'"),
        ("parking\tany\t\\bpark\\b", "no facet named 'parking'"),
        ("driving\tany\t(unclosed", "bad pattern"),
    ],
)
def test_malformed_cue_lines_are_refused_with_their_number(line: str, problem: str) -> None:
    with pytest.raises(ValueError, match=rf"facet cues line 2: .*{re.escape(problem)}"):
        parse_facets("driving\tmotor vehicle\n", f"facet\twhen\tpattern\n{line}\n")


def test_the_shipped_cues_catch_bedside_phrasings_and_spare_look_alikes() -> None:
    facets = clinical_facets()

    def asked(question: str, names_drug: bool = True) -> list[str]:
        return [f.name for f in named_facets(question, facets, names_drug)]

    assert asked("Can I drive after taking Valium?") == ["driving or operating machinery"]
    assert asked("Is my patient fit to drive on baclofen?") == ["driving or operating machinery"]
    assert asked("Who should not take baclofen?") == ["contraindications"]
    assert asked("What happens if diazepam is stopped suddenly?") == ["stopping the drug"]
    assert asked("Are there withdrawal symptoms when stopping Valium?") == ["stopping the drug"]
    assert asked("How quickly does Valium start working?") == ["onset of action"]
    assert asked("How does baclofen work?") == ["mechanism of action"]
    assert asked("Can Valium help someone coming off alcohol?") == []
    assert asked("Does Valium help alcohol withdrawal symptoms?") == []
    assert asked("What is driving the spasms?") == []
    assert asked("How can synaptic drive be reduced?") == []
    assert asked("How do stretches work?", names_drug=False) == []
