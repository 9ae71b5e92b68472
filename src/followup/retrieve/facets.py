"""Clinical facets (pregnancy, overdose, children, ...): which ones a question names, and whether a
source's vocabulary addresses them. The list and the reasons for it are in data/facets.tsv; the
phrasings that name a facet without using one of its terms ("Can I drive after taking it?") are in
data/facet-cues.tsv."""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from followup.core.text import tokenize


@dataclass(frozen=True)
class Cue:
    """A question phrasing that names a facet. It only ever decides what a question asks: the sources
    address a facet through its terms alone, so a cue can be as loose as the questions it must catch."""

    pattern: re.Pattern[str]
    needs_drug: bool  # counts only when the question also names a medication ("too much baclofen")


@dataclass(frozen=True)
class Facet:
    name: str
    terms: tuple[tuple[str, ...], ...]  # each term as its stemmed tokens
    cues: tuple[Cue, ...] = ()


def parse_facets(text: str, cues_text: str = "") -> tuple[Facet, ...]:
    facets: dict[str, Facet] = {}
    for number, line in _data_lines(text, "facet\t"):
        name, sep, terms = line.partition("\t")
        stemmed = tuple(tuple(tokenize(t)) for t in terms.split(";") if tokenize(t))
        if not sep or not name.strip() or not stemmed:
            raise ValueError(f"facets line {number}: expected 'name<TAB>term; term; ...', got {line!r}")
        facets[name.strip()] = Facet(name.strip(), stemmed)
    cues: dict[str, list[Cue]] = {}
    for number, line in _data_lines(cues_text, "facet\t"):
        fields = line.split("\t")
        if len(fields) != 3 or fields[1] not in ("any", "drug") or not fields[2]:
            raise ValueError(f"facet cues line {number}: expected 'facet<TAB>any|drug<TAB>pattern', got {line!r}")
        name, when, pattern = fields
        if name not in facets:
            raise ValueError(f"facet cues line {number}: no facet named {name!r} in the facets list")
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            raise ValueError(f"facet cues line {number}: bad pattern {pattern!r}: {error}") from None
        cues.setdefault(name, []).append(Cue(compiled, when == "drug"))
    return tuple(Facet(f.name, f.terms, tuple(cues.get(f.name, ()))) for f in facets.values())


def _data_lines(text: str, header: str) -> list[tuple[int, str]]:
    return [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.startswith("#") and not line.startswith(header)
    ]


@lru_cache(maxsize=1)
def clinical_facets() -> tuple[Facet, ...]:
    data = resources.files("followup").joinpath("data")
    return parse_facets(
        data.joinpath("facets.tsv").read_text(encoding="utf-8"),
        data.joinpath("facet-cues.tsv").read_text(encoding="utf-8"),
    )


def _contains(tokens: list[str], term: tuple[str, ...]) -> bool:
    n = len(term)
    return any(tuple(tokens[i : i + n]) == term for i in range(len(tokens) - n + 1))


def named_facets(question: str, facets: tuple[Facet, ...], names_drug: bool = False) -> tuple[Facet, ...]:
    """The facets the question names: one of their terms (a phrase's words in order), or one of their
    cues (a cue that needs a drug only when `names_drug`)."""
    tokens = tokenize(question)
    return tuple(
        f
        for f in facets
        if any(_contains(tokens, term) for term in f.terms)
        or any(c.pattern.search(question) for c in f.cues if names_drug or not c.needs_drug)
    )


def addresses(vocabulary: Set[str], facet: Facet) -> bool:
    """Whether sources with this vocabulary use a term of the facet. The vocabulary is a bag of words,
    so a phrase counts when its words occur anywhere (data/facets.tsv says how terms are chosen)."""
    return any(all(t in vocabulary for t in term) for term in facet.terms)
