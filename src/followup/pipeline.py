"""The one object that answers: question + history -> retrieval -> gate -> verbatim passages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from followup.config import DEFAULT_RETRIEVAL, RetrievalParams
from followup.extract import Candidate, best_spans, group_duplicates, restates
from followup.facets import Facet, addresses, clinical_facets
from followup.fusion import reciprocal_rank_fusion
from followup.index_reader import SearchIndex, load_index
from followup.medications import find_mentions
from followup.query import append_terms, asks_for_more, build_query, exclusions, expand_lay_terms, without_names
from followup.render import display_text
from followup.scope import Mentions, answerable_scope
from followup.search import rank_chunks
from followup.text import tokenize
from followup.tiers import tier_for_citations
from followup.types import Answer, AskRequest, Chunk, CitedReference, Passage, Quote, Tier
from followup.validation import validate_request


class QueryEncoder(Protocol):
    dimension: int

    def encode_query(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True)
class Retrieval:
    """What the retrievers found for one query, before gating: the evaluation reads this too."""

    query: str
    ranking: list[tuple[int, float]]  # (chunk id, fused or raw score), best first
    query_vector: np.ndarray
    # What the question itself names that the searched sources do not address: medications they never
    # mention ("quinine"), clinical facets no passage names ("pregnancy"). Any of it: no answer.
    not_covered: tuple[str, ...] = ()
    facets: tuple[Facet, ...] = ()  # the clinical facets the question names
    ruled_out: frozenset[str] = frozenset()  # drugs the user rules out ("besides baclofen")


@dataclass(frozen=True)
class Assessment:
    retrieval: Retrieval
    candidates: list[Candidate]
    best_relevance: float


def is_answerable(best_relevance: float, not_covered: tuple[str, ...], params: RetrievalParams) -> bool:
    return not not_covered and best_relevance >= params.min_relevance


def _overlaps(candidate: Candidate, passage: Passage) -> bool:
    places = [(passage.source_id, passage.start, passage.end)]
    places += [(q.source_id, q.start, q.end) for q in passage.also_in]
    return any(candidate.chunk.doc_id == s and candidate.start < e and b < candidate.end for s, b, e in places)


def _rank_agreement(groups: list[list[Candidate]]) -> dict[int, float]:
    """Within a tier, passages are ordered by reciprocal-rank fusion of two orders: the chunk's place in
    the retrieval ranking and the passage's own sentence relevance. Either alone misorders: retrieval
    ranks chunks, not sentences; sentence cosine favours sentences that merely restate the topic."""
    by_retrieval = sorted(groups, key=lambda g: min(c.retrieval_rank for c in g))
    by_relevance = sorted(groups, key=lambda g: -max(c.relevance for c in g))
    scores = reciprocal_rank_fusion([[(id(g), 0.0) for g in by_retrieval], [(id(g), 0.0) for g in by_relevance]])
    return dict(scores)


class Answerer:
    def __init__(self, index: SearchIndex, encoder: QueryEncoder, params: RetrievalParams = DEFAULT_RETRIEVAL) -> None:
        self.index = index
        self.encoder = encoder
        self.params = params
        self._reference_terms: dict[str, list[tuple[Chunk, int, frozenset[str]]]] = {}
        self._mentions = Mentions(index.medication_names_by_article, index.vocabulary_by_article, clinical_facets())

    @classmethod
    def load(cls, index_dir: Path, corpus_dir: Path | None = None) -> Answerer:
        index = load_index(index_dir, corpus_dir)  # fails fast, before any model loads
        if index.query_model is not None:
            from followup.onnx_encoder import OnnxQueryEncoder  # ~0.4 s: no torch on the query path

            return cls(index, OnnxQueryEncoder(index.query_model))
        from followup.encoder import Encoder  # an index built before the ONNX path: 5-7 s

        return cls(index, Encoder())

    def retrieve(self, request: AskRequest) -> Retrieval:
        if self.params.resolve_followups:
            query = build_query(request.question, request.history)
        else:
            query = expand_lay_terms(request.question.strip())
        index = self.index
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
        allowed = index.allowed_chunks(request.article_id)
        if scope.articles:  # the articles whose sources mention the drugs and facets the question names
            allowed = index.chunks_of_articles(scope.articles)
        vector = self.encoder.encode_query(query)
        ranking = rank_chunks(index.bm25, index.dense, tokenize(query), vector, request.mode, self.params, allowed)
        return Retrieval(query, ranking, vector, scope.not_covered, scope.facets, frozenset(ruled_out))

    def assess(self, request: AskRequest) -> Assessment:
        """Retrieve, and find the best quotable span of each of the top chunks."""
        validate_request(request, self.index.articles.keys())
        retrieval = self.retrieve(request)
        pool = [
            candidate
            for rank, (chunk_id, _) in enumerate(retrieval.ranking[: max(2 * request.top_k, 10)])
            for candidate in self._candidates(self.index.chunks[chunk_id], rank, retrieval.query_vector)
        ]
        pool += [twin for candidate in pool for twin in self._cited_twins(candidate, retrieval.query_vector)]
        pool = self._without_excluded_drugs(retrieval.ruled_out, pool)
        best = max((c.relevance for c in pool), default=0.0)
        if retrieval.facets:
            # "Is it safe in pregnancy?": only what names pregnancy (in its sentence or section) answers.
            pool = [c for c in pool if all(addresses(self._terms(c), f) for f in retrieval.facets)]
            if pool:
                best = max(c.relevance for c in pool)
            else:  # abstain, keeping the relevance found as the evaluation's diagnostic
                retrieval = replace(retrieval, not_covered=tuple(f.name for f in retrieval.facets))
        # `best` is taken before the exclusion below: it decides answerability.
        if request.history and self.params.resolve_followups and asks_for_more(request.question):
            seen = self._previous_top_passage(request)
            if seen is not None:
                pool = [c for c in pool if not _overlaps(c, seen)]
        return Assessment(retrieval, pool, best)

    def _ruled_out(self, request: AskRequest) -> dict[str, list[str]]:
        """The drugs the user rules out ("besides baclofen"), each with every name the lexicon has for it."""
        history = request.history if self.params.resolve_followups else ()
        lexicon = self.index.medication_lexicon
        drugs = {m.drug for phrase in exclusions(request.question, history) for m in find_mentions(phrase, lexicon)}
        return {drug: [name for name, d in lexicon.items() if d == drug] for drug in drugs}

    def _without_excluded_drugs(self, excluded: frozenset[str], pool: list[Candidate]) -> list[Candidate]:
        """ "What else besides baclofen?": a passage about baclofen alone is not an answer; one that
        also names tizanidine is."""
        if not excluded:
            return pool
        kept = []
        for candidate in pool:
            named = {m.drug for m in find_mentions(self._text(candidate), self.index.medication_lexicon)}
            if not named or not named <= excluded:
                kept.append(candidate)
        return kept

    def _terms(self, candidate: Candidate) -> frozenset[str]:
        """The candidate's words and its section's: a label's "Pregnancy" section names its facet once."""
        return frozenset(tokenize(" ".join((self._text(candidate), *candidate.chunk.section))))

    def _text(self, candidate: Candidate) -> str:
        return self.index.documents[candidate.chunk.doc_id].text[candidate.start : candidate.end]

    def _cited_twins(self, candidate: Candidate, query_vector: np.ndarray) -> list[Candidate]:
        """Where the article restates, uncited, a sentence of one of its references (as the seed's
        drug-label section does with the Valium label), the reference's sentence: it is cited evidence.
        It gets the article sentence's relevance when that is higher: it says the same thing. Grouped
        with it as one statement, the cited sentence is shown and the article's is listed in also_in."""
        doc = self.index.documents[candidate.chunk.doc_id]
        if candidate.citations or doc.reference_number is not None:
            return []
        terms = frozenset(tokenize(doc.text[candidate.start : candidate.end]))
        twins = []
        for chunk, index, sentence_terms in self._reference_sentences(candidate.chunk.article_id):
            if restates(terms, sentence_terms):
                sentence = chunk.sentences[index]
                row = int(self.index.sentence_offsets[chunk.id]) + index
                own = float(self.index.sentence_vectors[row] @ query_vector)
                relevance = max(own, candidate.relevance)
                tier = self._tier(chunk, sentence.citations)
                twins.append(Candidate(chunk, sentence.start, sentence.end, sentence.citations, relevance, tier,
                                       candidate.retrieval_rank))  # fmt: skip
        return twins

    def _reference_sentences(self, article_id: str) -> list[tuple[Chunk, int, frozenset[str]]]:
        """Each sentence of the article's reference texts with its terms; computed once per article."""
        found = self._reference_terms.get(article_id)
        if found is None:
            found = [
                (chunk, i, frozenset(tokenize(self.index.documents[chunk.doc_id].text[s.start : s.end])))
                for chunk in self.index.chunks_of(article_id)
                if self.index.documents[chunk.doc_id].reference_number is not None
                for i, s in enumerate(chunk.sentences)
            ]
            self._reference_terms[article_id] = found
        return found

    def _previous_top_passage(self, request: AskRequest) -> Passage | None:
        """The passage the previous question got first, answered as it was then."""
        previous = AskRequest(request.history[-1], request.history[:-1], request.article_id, request.top_k,
                              request.mode)  # fmt: skip
        answer = self.answer(previous)
        return answer.passages[0] if answer.passages else None

    def answer(self, request: AskRequest) -> Answer:
        return self.decide(request, self.assess(request))

    def decide(self, request: AskRequest, assessment: Assessment) -> Answer:
        """Abstain, or choose, merge and order the passages to show."""
        retrieval, pool, best = assessment.retrieval, assessment.candidates, assessment.best_relevance
        if not is_answerable(best, retrieval.not_covered, self.params):
            return Answer(request.question, retrieval.query, request.article_id, False, (), (), retrieval.not_covered)
        floor = max(self.params.min_relevance, best - self.params.relevance_margin)
        shown = sorted([c for c in pool if c.relevance >= floor], key=lambda c: (c.retrieval_rank, -c.relevance))
        groups = group_duplicates(shown, self.index.documents)[: request.top_k]
        # Relevance chose the passages; tier orders them, uncited article text last within its tier.
        agreement = _rank_agreement(groups)
        by_tier = self.params.order_by_tier
        groups.sort(key=lambda g: (g[0].tier.rank if by_tier else 0, by_tier and not g[0].citations, -agreement[id(g)]))
        passages = tuple(self._passage(rank, group) for rank, group in enumerate(groups, start=1))
        return Answer(request.question, retrieval.query, request.article_id, True, passages, self._references(passages))

    def _candidates(self, chunk: Chunk, rank: int, query_vector: np.ndarray) -> list[Candidate]:
        offset = int(self.index.sentence_offsets[chunk.id])
        relevances = (self.index.sentence_vectors[offset : offset + len(chunk.sentences)] @ query_vector).tolist()
        candidates = []
        for span in best_spans(relevances, self.params.min_relevance):
            sentences = chunk.sentences[span.first : span.last + 1]
            citations = tuple(sorted({n for s in sentences for n in s.citations}))
            tier = self._tier(chunk, citations)
            candidates.append(
                Candidate(chunk, sentences[0].start, sentences[-1].end, citations, span.relevance, tier, rank)
            )
        return candidates

    def _tier(self, chunk: Chunk, citations: tuple[int, ...]) -> Tier:
        references = self.index.articles[chunk.article_id].references
        return tier_for_citations(citations, references)

    def _passage(self, rank: int, group: list[Candidate]) -> Passage:
        first, *others = group
        doc = self.index.documents[first.chunk.doc_id]
        return Passage(
            rank=rank,
            text=doc.text[first.start : first.end],
            display_text=display_text(doc, first.start, first.end),
            source_id=doc.id,
            section=" > ".join(first.chunk.section),
            citations=first.citations,
            tier=first.tier,
            score=round(first.relevance, 4),
            start=first.start,
            end=first.end,
            also_in=tuple(self._quote(c) for c in others),
        )

    def _quote(self, cand: Candidate) -> Quote:
        doc = self.index.documents[cand.chunk.doc_id]
        return Quote(
            doc.id,
            " > ".join(cand.chunk.section),
            doc.text[cand.start : cand.end],
            cand.start,
            cand.end,
            cand.citations,
        )

    def _references(self, passages: tuple[Passage, ...]) -> tuple[CitedReference, ...]:
        cited: dict[tuple[str, int], CitedReference] = {}
        for passage in passages:
            article = self.index.articles[self.index.documents[passage.source_id].article_id]
            for number in {*passage.citations, *(n for q in passage.also_in for n in q.citations)}:
                ref = article.reference(number)
                if ref:
                    cited[(article.id, number)] = CitedReference(article.id, ref)
        return tuple(cited[key] for key in sorted(cited))
