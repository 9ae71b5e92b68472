from __future__ import annotations

import pytest

from followup.facets import addresses, clinical_facets, named_facets, parse_facets
from followup.text import tokenize

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
