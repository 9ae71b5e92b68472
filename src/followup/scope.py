"""Which articles can answer a question that names medications or clinical facets.

A question about quinine cannot be answered from sources that never mention quinine, however close
"night-time leg cramps" brings it to them, and "Is it safe in pregnancy?" not from a label section
that never mentions pregnancy. Within one article that decides whether to answer at all; across a
library it also narrows the search to the articles whose sources do mention them. Only the
question's own words count: "pregnancy" borrowed from an earlier turn does not make a new question
about pregnancy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from followup.facets import Facet, addresses, named_facets
from followup.medications import find_mentions


@dataclass(frozen=True)
class Scope:
    articles: tuple[str, ...] | None  # the articles that may answer, in the given order; None: all of them
    not_covered: tuple[str, ...]  # named by the question and by no article that could answer
    other_names: tuple[str, ...]  # those articles' names for drugs the query names otherwise ("baclofen")


def answerable_scope(
    question: str,
    query: str,
    articles: Sequence[str],
    lexicon: Mapping[str, str],
    drug_names: Mapping[str, Mapping[str, list[str]]],
    vocabularies: Mapping[str, Set[str]],
    facets: tuple[Facet, ...],
) -> Scope:
    """`articles`: those the request may search; `drug_names`: article -> drug -> the names its
    sources use; `vocabularies`: article -> its BM25 tokens."""
    drugs = find_mentions(question, lexicon)
    asked_facets = named_facets(question, facets)

    def mentions(article: str, drug: str) -> bool:
        return drug in drug_names.get(article, {})

    eligible: tuple[str, ...] | None = None
    if drugs or asked_facets:
        eligible = tuple(
            a
            for a in articles
            if all(mentions(a, d.drug) for d in drugs) and all(addresses(vocabularies[a], f) for f in asked_facets)
        )
        if not eligible:
            missing = [d.surface for d in drugs if not any(mentions(a, d.drug) for a in articles)]
            missing += [f.name for f in asked_facets if not any(addresses(vocabularies[a], f) for a in articles)]
            # Each is mentioned somewhere, but no article mentions them all: all of them are the gap.
            named = [d.surface for d in drugs] + [f.name for f in asked_facets]
            return Scope((), tuple(missing or named), ())
    searched = articles if eligible is None else eligible
    other_names: list[str] = []
    for mention in find_mentions(query, lexicon):
        for article in searched:
            for name in drug_names.get(article, {}).get(mention.drug, []):
                if name != mention.surface and name not in other_names:
                    other_names.append(name)
    return Scope(eligible, (), tuple(other_names))
