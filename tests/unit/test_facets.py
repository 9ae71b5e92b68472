from __future__ import annotations

import pytest

from followup.facets import clinical_facets, parse_facets, unaddressed_facets
from followup.text import tokenize

FACETS = parse_facets(
    "# comment\nfacet\tterms\npregnancy\tpregnancy; pregnant\nbreastfeeding\tbreast milk; lactation\n"
)


def vocabulary(text: str) -> frozenset[str]:
    return frozenset(tokenize(text))


def test_a_facet_the_question_names_and_the_sources_never_use_is_reported() -> None:
    sources = vocabulary("Valium is indicated for anxiety disorders and skeletal muscle spasm.")
    assert unaddressed_facets("Is it safe during pregnancy?", sources, FACETS) == ("pregnancy",)
    assert unaddressed_facets("Does it pass into breast milk?", sources, FACETS) == ("breastfeeding",)
    assert unaddressed_facets("Is it safe for anxiety?", sources, FACETS) == ()


def test_any_term_of_the_facet_in_the_sources_counts_as_addressed() -> None:
    sources = vocabulary("Use in pregnant women has not been studied.")
    assert unaddressed_facets("Is it safe in pregnancy?", sources, FACETS) == ()


def test_a_phrase_needs_all_its_words_in_order_in_the_question() -> None:
    assert unaddressed_facets("Is milk from the breast safe?", frozenset(), FACETS) == ()


@pytest.mark.parametrize("line", ["pregnancy", "pregnancy\t", "\tpregnant", "pregnancy\tthe; and"])
def test_malformed_lines_are_refused_with_their_number(line: str) -> None:
    with pytest.raises(ValueError, match="facets line 2"):
        parse_facets(f"facet\tterms\n{line}\n")


def test_the_shipped_facets_parse_and_leave_everyday_questions_alone() -> None:
    facets = clinical_facets()
    assert {"pregnancy", "children", "overdose", "drug interactions"} <= {f.name for f in facets}
    for question in ("How much of it should be taken?", "Does the dose depend on weight?", "What causes cramps?"):
        assert unaddressed_facets(question, frozenset(), facets) == (), question
