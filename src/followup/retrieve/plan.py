"""The first two stages of an answer. Plan: what to search for and where, from the question and the
conversation, before any model runs (the follow-up resolved, lay words expanded, the articles whose
sources mention the drugs and clinical facets the question names, the drugs it rules out). Search: one
encoder pass over the query as searched and as asked, then both retrievers, fused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from followup.core.defaults import RetrievalParams
from followup.core.medications import find_mentions
from followup.core.text import tokenize
from followup.core.types import AskRequest
from followup.index.backends.base import SearchScope
from followup.index.reader import SearchIndex
from followup.retrieve.facets import Facet, clinical_facets
from followup.retrieve.hybrid import rank_chunks
from followup.retrieve.query import (
    append_terms,
    build_query,
    content_words,
    exclusions,
    expand_lay_terms,
    without_names,
)
from followup.retrieve.scope import Mentions, answerable_scope

if TYPE_CHECKING:  # a Protocol: annotations only, not loaded to answer
    from followup.embed.protocols import QueryEncoder


@dataclass(frozen=True)
class QueryPlan:
    """What one question searches for and where, decided before anything is encoded."""

    query: str  # the retrieval query, as searched
    question: str  # the question as asked
    searched: SearchScope | None  # None: the whole library
    # What the question itself names that the searched sources do not address: medications they never
    # mention ("quinine"), clinical facets no passage names ("pregnancy"). Any of it: no answer.
    not_covered: tuple[str, ...]
    facets: tuple[Facet, ...]  # the clinical facets the question names
    ruled_out: frozenset[str]  # drugs the user rules out ("besides baclofen")


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


class QueryPlanner:
    """Plans queries over one index; holds which articles' sources use each drug name and facet."""

    def __init__(self, index: SearchIndex, params: RetrievalParams) -> None:
        self.index, self.params = index, params
        self._mentions = Mentions(index.medication_names_by_article, index.vocabulary.articles_with, clinical_facets())

    def plan(self, request: AskRequest, borrow: bool = False) -> QueryPlan:
        """`borrow`: take the conversation's subject even when the question names something."""
        index = self.index
        if self.params.resolve_followups:
            query = build_query(request.question, request.history, borrow)
        else:
            query = expand_lay_terms(request.question.strip())
        scope = answerable_scope(
            request.question,
            query,
            [request.article_id] if request.article_id else list(index.articles),
            index.medication_lexicon,
            self._mentions,
            clinical_facets(),
        )
        # "Lioresal" is the sources' "baclofen", in words borrowed from the conversation too: "What else
        # is it approved for?" after a diazepam question searches for Valium, the label's word.
        query = append_terms(query, list(scope.other_names))
        ruled_out = self._ruled_out(request)
        query = without_names(query, ruled_out)  # "besides baclofen": not searched for
        searched = index.search_scope([request.article_id]) if request.article_id else None
        if scope.articles:  # the articles whose sources mention the drugs and facets the question names
            searched = index.search_scope(scope.articles)
        return QueryPlan(
            query, request.question.strip(), searched, scope.not_covered, scope.facets, frozenset(ruled_out)
        )

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
    return Retrieval(plan.query, ranking, vector, query_tokens, plan.not_covered, plan.facets, plan.ruled_out)
