"""The first two stages of an answer. Plan: what to search for and where, from the question and the
conversation, before any model runs (the follow-up resolved, lay words expanded, the articles whose
sources mention the drugs and clinical facets the question names, the drugs it rules out). Search: one
encoder pass over the query as searched and as asked, then both retrievers, fused.

The plan's scope: which articles can answer a question that names medications or clinical facets. A
question about quinine cannot be answered from sources that never mention quinine, however close
"night-time leg cramps" brings it to them, and "Is it safe in pregnancy?" not from a label section
that never mentions pregnancy. Within one article that decides whether to answer at all; across a
library it also narrows the search to the articles whose sources do mention them. Only the
question's own words count: "pregnancy" borrowed from an earlier turn does not make a new question
about pregnancy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from followup.core.settings import RetrievalParams
from followup.core.types import NO_FILTER, AskRequest, EvidenceFilter
from followup.core.words import (
    Facet,
    clinical_facets,
    find_mentions,
    named_codes,
    named_facets,
    spelling,
    tokenize,
    words,
)
from followup.index.reader import SearchIndex
from followup.index.retrievers import SearchScope
from followup.retrieve.hybrid import rank_chunks
from followup.retrieve.query import (
    append_terms,
    build_query,
    content_words,
    exclusions,
    lay_expansions,
    without_names,
)

if TYPE_CHECKING:  # a Protocol: annotations only, not loaded to answer
    from followup.embed.protocols import QueryEncoder


class Mentions:
    """Which articles mention each drug, use a term of each facet, and use or spell out each code. A
    facet's or code's articles come from `articles_with` (the articles whose sources use a word: the
    BM25 postings of a loaded index) the first time a question names it, so loading a library costs
    nothing per facet; a code they lack is looked for spelled out in the sources' text."""

    def __init__(
        self,
        drug_names: Mapping[str, Mapping[str, list[str]]],
        articles_with: Callable[[str], Set[str]],
        facets: tuple[Facet, ...],
        initials: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self.drug_names = drug_names  # article -> drug -> the names its sources use
        self._initials = initials  # article -> its sources' word initials, asked for when a code is named
        # Codes come from what users type: a bounded cache, as ArticleVocabulary's.
        self.using = lru_cache(maxsize=1024)(self._using)
        self._by_drug: dict[str, set[str]] = {}
        for article, names in drug_names.items():
            for drug in names:
                self._by_drug.setdefault(drug, set()).add(article)
        self._articles_with = articles_with
        self._facets = {f.name: f for f in facets}
        self._by_facet: dict[str, frozenset[str]] = {}

    def mentioning(self, drug: str) -> Set[str]:
        return self._by_drug.get(drug, set())

    def _using(self, code: str) -> frozenset[str]:
        """The articles whose sources use an abbreviation or code ("TSH", "M235T"), or spell it out
        ("multiple sclerosis" for MS)."""
        stems = tokenize(code) or [""]
        found = frozenset.intersection(*(frozenset(self._articles_with(s)) for s in stems))
        pattern = spelling(code)
        if pattern is None:
            return found
        return found | frozenset(a for a, i in self._initials().items() if a not in found and pattern.search(i))

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
    drug_words = {w for d in drugs for w in words(d.surface)}
    codes = [c for c in named_codes(question) if c.lower() not in drug_words]
    covering = [mentions.mentioning(d.drug) for d in drugs] + [mentions.addressing(f) for f in asked_facets]
    covering += [mentions.using(c) for c in codes]
    eligible: tuple[str, ...] | None = None
    if covering:
        eligible = tuple(a for a in articles if all(a in found for found in covering))
        if not eligible:
            searchable = set(articles)
            named = [d.surface for d in drugs] + [f.name for f in asked_facets] + codes
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


@dataclass(frozen=True)
class QueryPlan:
    """What one question searches for and where, decided before anything is encoded."""

    query: str  # the retrieval query, as searched
    question: str  # the question as asked
    searched: SearchScope | None  # None: the whole library
    # What the question itself names that the searched sources do not address: medications they never
    # mention ("quinine"), clinical facets no passage names ("pregnancy"), abbreviations and codes they
    # never use nor spell out ("TSH", "M235T"). Any of it: no answer.
    not_covered: tuple[str, ...]
    facets: tuple[Facet, ...]  # the clinical facets the question names
    ruled_out: frozenset[str]  # drugs the user rules out ("besides baclofen")
    evidence: EvidenceFilter = NO_FILTER  # the evidence the user asks for: only its chunks are searched


@dataclass(frozen=True)
class Retrieval:
    """What the retrievers found for one query, before gating: the evaluation reads this too."""

    query: str
    ranking: list[tuple[int, float]]  # (chunk id, fused or raw score), best first
    query_vector: np.ndarray
    # Token vectors of the query as searched and as asked, stacked: what the answer score matches.
    query_tokens: np.ndarray
    not_covered: tuple[str, ...] = ()
    facets: tuple[Facet, ...] = ()
    ruled_out: frozenset[str] = frozenset()
    evidence: EvidenceFilter = NO_FILTER


class QueryPlanner:
    """Plans queries over one index; holds which articles' sources use each drug name and facet."""

    def __init__(self, index: SearchIndex, params: RetrievalParams) -> None:
        self.index, self.params = index, params
        self._mentions = Mentions(index.medication_names_by_article, index.vocabulary.articles_with, clinical_facets(),
                                  index.article_initials)  # fmt: skip

    def plan(self, request: AskRequest, borrow: bool = False) -> QueryPlan:
        """`borrow`: take the conversation's subject even when the question names something."""
        index = self.index
        if self.params.resolve_followups:
            resolved = build_query(request.question, request.history, borrow)
        else:
            resolved = request.question.strip()
        lay = lay_expansions(resolved)
        scope = answerable_scope(
            request.question,
            append_terms(resolved, lay),
            [request.article_id] if request.article_id else list(index.articles),
            index.medication_lexicon,
            self._mentions,
            clinical_facets(),
        )
        # "Lioresal" is the sources' "baclofen", in words borrowed from the conversation too: "What else
        # is it approved for?" after a diazepam question searches for Valium, the label's word.
        # All expansions in one bracket: the encoded query does not depend on where a term came from.
        query = append_terms(resolved, [*lay, *scope.other_names])
        ruled_out = self._ruled_out(request)
        query = without_names(query, ruled_out)  # "besides baclofen": not searched for
        searched = index.search_scope([request.article_id]) if request.article_id else None
        if scope.articles:  # the articles whose sources mention the drugs and facets the question names
            searched = index.search_scope(scope.articles)
        if request.evidence.active:  # only the chunks citing what the filter admits
            searched = index.evidence_scope(request.evidence, searched)
        return QueryPlan(
            query, request.question.strip(), searched, scope.not_covered, scope.facets, frozenset(ruled_out),
            request.evidence,
        )  # fmt: skip

    def _ruled_out(self, request: AskRequest) -> dict[str, list[str]]:
        """The drugs the user rules out ("besides baclofen"), each with every name the lexicon has for it."""
        history = request.history if self.params.resolve_followups else ()
        lexicon = self.index.medication_lexicon
        drugs = {m.drug for phrase in exclusions(request.question, history) for m in find_mentions(phrase, lexicon)}
        return {drug: [name for name, d in lexicon.items() if d == drug] for drug in drugs}

    def sources_use_words_of(self, request: AskRequest) -> bool:
        """Every content word of the question occurs in the sources searched."""
        using = self.index.vocabulary.articles_with
        terms = tokenize(" ".join(content_words(request.question)))
        if request.article_id:
            return bool(terms) and all(request.article_id in using(t) for t in terms)
        return bool(terms) and all(using(t) for t in terms)


def search(
    plan: QueryPlan, encoder: QueryEncoder, index: SearchIndex, request: AskRequest, params: RetrievalParams
) -> Retrieval:
    """One pass embeds the query as searched (its pooled vector searches) and as asked; both
    retrievers rank the planned scope."""
    forms = list(dict.fromkeys([plan.query, plan.question]))
    vectors, token_embeddings = encoder.encode_with_tokens(forms)
    vector = vectors[0]
    ranking = rank_chunks(index.retriever, tokenize(plan.query), vector, request.mode, params, plan.searched)
    # Both forms' tokens together: on the dev splits this beat the mean of the two forms' scores
    # (hit@1 65 against 64 of 78 questions, hit@3 74 against 73) and either form alone.
    query_tokens = np.concatenate([t.vectors for t in token_embeddings])
    return Retrieval(
        plan.query, ranking, vector, query_tokens, plan.not_covered, plan.facets, plan.ruled_out, plan.evidence
    )
