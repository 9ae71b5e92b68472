from __future__ import annotations

from followup.core.words import parse_facets, tokenize, word_initials
from followup.retrieve.plan import Mentions, Scope, answerable_scope

LEXICON = {"baclofen": "baclofen", "lioresal": "baclofen", "quinine": "quinine", "diazepam": "diazepam",
           "valium": "diazepam"}  # fmt: skip
FACETS = parse_facets("pregnancy\tpregnancy; pregnant\n")
DRUGS = {
    "spasm": {"baclofen": ["baclofen"], "diazepam": ["diazepam", "valium"]},
    "cramps": {"quinine": ["quinine"]},
    "pregnancy": {"diazepam": ["diazepam"]},
}
VOCABULARIES = {
    "spasm": frozenset(tokenize("baclofen diazepam Valium spasm in multiple sclerosis, TSH normal")),
    "cramps": frozenset(tokenize("quinine leg cramps at night")),
    "pregnancy": frozenset(tokenize("diazepam in pregnancy")),
}


def articles_with(term: str) -> set[str]:
    return {a for a, vocabulary in VOCABULARIES.items() if term in vocabulary}


TEXTS = {
    "spasm": ["Baclofen eases spasm in multiple sclerosis; TSH was normal."],
    "cramps": ["Quinine for leg cramps."],
}


def scope(question: str, articles: list[str], query: str | None = None) -> Scope:
    initials = {a: "|".join(map(word_initials, texts)) for a, texts in TEXTS.items()}
    mentions = Mentions(DRUGS, articles_with, FACETS, lambda: initials)
    return answerable_scope(question, query or question, articles, LEXICON, mentions, FACETS)


def test_nothing_named_leaves_the_scope_whole() -> None:
    assert scope("Why do muscles cramp?", ["spasm", "cramps"]) == Scope(None, (), ())


def test_within_one_article_a_drug_it_never_mentions_is_not_covered() -> None:
    assert scope("Is quinine good for leg cramps?", ["spasm"]) == Scope((), ("quinine",), ())
    assert scope("Is it safe in pregnancy?", ["spasm"]) == Scope((), ("pregnancy",), (), FACETS)


def test_across_articles_the_search_narrows_to_those_that_mention_what_is_named() -> None:
    assert scope("Is quinine good for leg cramps?", ["spasm", "cramps", "pregnancy"]).articles == ("cramps",)
    both = scope("Is diazepam safe in pregnancy?", ["spasm", "cramps", "pregnancy"])
    assert both.articles == ("pregnancy",) and both.not_covered == ()
    assert both.facets == FACETS  # what each shown passage must name


def test_when_no_one_article_mentions_all_of_it_everything_named_is_the_gap() -> None:
    assert scope("Is quinine better than baclofen?", ["spasm", "cramps"]) == Scope((), ("quinine", "baclofen"), ())
    assert scope("Is quinine better than Lioresal?", ["spasm"]).not_covered == ("quinine",)


def test_the_sources_names_for_drugs_the_query_names_are_added() -> None:
    assert scope("Is Lioresal used in MS?", ["spasm"]).other_names == ("baclofen",)
    # Borrowed words count for names (the query), not for what is covered (the question).
    borrowed = scope("What else is it approved for?", ["spasm"], "What else is it approved for? diazepam")
    assert borrowed == Scope(None, (), ("valium",))


def test_an_abbreviation_or_code_the_sources_never_use_nor_spell_out_is_not_covered() -> None:
    assert scope("Did the M235T variant matter?", ["spasm"]) == Scope((), ("M235T",), ())
    assert scope("Was TSH measured?", ["spasm", "cramps"]) == Scope(("spasm",), (), ())
    assert scope("Is baclofen used in MS?", ["spasm"]) == Scope(("spasm",), (), ()), "spelled out: multiple sclerosis"
    assert scope("IS IT SAFE FOR LEG CRAMPS?", ["cramps"]) == Scope(None, (), ()), "capitals are not codes"
