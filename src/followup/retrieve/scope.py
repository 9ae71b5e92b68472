"""Which articles can answer a question that names medications or clinical facets.

A question about quinine cannot be answered from sources that never mention quinine, however close
"night-time leg cramps" brings it to them, and "Is it safe in pregnancy?" not from a label section
that never mentions pregnancy. Within one article that decides whether to answer at all; across a
library it also narrows the search to the articles whose sources do mention them. Only the
question's own words count: "pregnancy" borrowed from an earlier turn does not make a new question
about pregnancy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass

from followup.core.medications import find_mentions
from followup.retrieve.facets import Facet, named_facets


class Mentions:
    """Which articles mention each drug and use a term of each facet. A facet's articles come from
    `articles_with` (the articles whose sources use a word: the BM25 postings of a loaded index) the
    first time a question names it, so loading a library costs nothing per facet."""

    def __init__(
        self,
        drug_names: Mapping[str, Mapping[str, list[str]]],
        articles_with: Callable[[str], Set[str]],
        facets: tuple[Facet, ...],
    ) -> None:
        self.drug_names = drug_names  # article -> drug -> the names its sources use
        self._by_drug: dict[str, set[str]] = {}
        for article, names in drug_names.items():
            for drug in names:
                self._by_drug.setdefault(drug, set()).add(article)
        self._articles_with = articles_with
        self._facets = {f.name: f for f in facets}
        self._by_facet: dict[str, frozenset[str]] = {}

    def mentioning(self, drug: str) -> Set[str]:
        return self._by_drug.get(drug, set())

    def addressing(self, facet: Facet) -> frozenset[str]:
        found = self._by_facet.get(facet.name)
        if found is None:
            # A phrase counts where all its words occur (facets.addresses): per term, the articles
            # holding every word; per facet, those holding any term.
            terms = [t for t in self._facets[facet.name].terms if t]
            holding = [frozenset.intersection(*(frozenset(self._articles_with(w)) for w in t)) for t in terms]
            found = frozenset().union(*holding)
            self._by_facet[facet.name] = found
        return found


@dataclass(frozen=True)
class Scope:
    articles: tuple[str, ...] | None  # the articles that may answer, in the given order; None: all of them
    not_covered: tuple[str, ...]  # named by the question and by no article that could answer
    other_names: tuple[str, ...]  # those articles' names for drugs the query names otherwise ("baclofen")
    facets: tuple[Facet, ...] = ()  # the facets the question names: each shown passage must name them


def answerable_scope(
    question: str,
    query: str,
    articles: Sequence[str],
    lexicon: Mapping[str, str],
    mentions: Mentions,
    facets: tuple[Facet, ...],
) -> Scope:
    """`articles`: those the request may search, in order; `facets`: those `mentions` was built with."""
    drugs = find_mentions(question, lexicon)
    asked_facets = named_facets(question, facets, names_drug=bool(drugs))
    covering = [mentions.mentioning(d.drug) for d in drugs] + [mentions.addressing(f) for f in asked_facets]
    eligible: tuple[str, ...] | None = None
    if covering:
        eligible = tuple(a for a in articles if all(a in found for found in covering))
        if not eligible:
            searchable = set(articles)
            named = [d.surface for d in drugs] + [f.name for f in asked_facets]
            missing = [name for name, found in zip(named, covering, strict=True) if not searchable & found]
            # Each is mentioned somewhere, but no article mentions them all: all of them are the gap.
            return Scope((), tuple(missing or named), (), asked_facets)
    query_drugs = find_mentions(query, lexicon)
    searched = set(articles if eligible is None else eligible) if query_drugs else set()
    other_names: list[str] = []
    for mention in query_drugs:
        for article in sorted(searched & mentions.mentioning(mention.drug)):
            for name in mentions.drug_names[article][mention.drug]:
                if name != mention.name and name not in other_names:
                    other_names.append(name)
    return Scope(eligible, (), tuple(other_names), asked_facets)
