"""Clinical facets (pregnancy, overdose, children, ...): which ones a question names, and whether a
source's vocabulary addresses them. The list and the reasons for it are in data/facets.tsv."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from followup.text import tokenize


@dataclass(frozen=True)
class Facet:
    name: str
    terms: tuple[tuple[str, ...], ...]  # each term as its stemmed tokens


def parse_facets(text: str) -> tuple[Facet, ...]:
    facets = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#") or line.startswith("facet\t"):
            continue
        name, sep, terms = line.partition("\t")
        stemmed = tuple(tuple(tokenize(t)) for t in terms.split(";") if tokenize(t))
        if not sep or not name.strip() or not stemmed:
            raise ValueError(f"facets line {number}: expected 'name<TAB>term; term; ...', got {line!r}")
        facets.append(Facet(name.strip(), stemmed))
    return tuple(facets)


@lru_cache(maxsize=1)
def clinical_facets() -> tuple[Facet, ...]:
    return parse_facets(resources.files("followup").joinpath("data/facets.tsv").read_text(encoding="utf-8"))


def _contains(tokens: list[str], term: tuple[str, ...]) -> bool:
    n = len(term)
    return any(tuple(tokens[i : i + n]) == term for i in range(len(tokens) - n + 1))


def named_facets(question: str, facets: tuple[Facet, ...]) -> tuple[Facet, ...]:
    """The facets one of whose terms the question contains (a phrase's words in order)."""
    tokens = tokenize(question)
    return tuple(f for f in facets if any(_contains(tokens, term) for term in f.terms))


def addresses(vocabulary: Set[str], facet: Facet) -> bool:
    """Whether sources with this vocabulary use a term of the facet. The vocabulary is a bag of words,
    so a phrase counts when its words occur anywhere (data/facets.tsv says how terms are chosen)."""
    return any(all(t in vocabulary for t in term) for term in facet.terms)
