"""The one object that answers: question + history -> retrieval -> gate -> verbatim passages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from followup.answer.candidates import Candidate, best_spans, group_duplicates, restates
from followup.answer.maxsim import maxsims
from followup.answer.ordering import arrange, group_score, same_place
from followup.answer.request_checks import validate_request
from followup.core.defaults import DEFAULT_RETRIEVAL, RetrievalParams
from followup.core.errors import IndexProblem
from followup.core.medications import find_mentions
from followup.core.text import tokenize
from followup.core.tiers import tier_for_citations
from followup.core.types import Answer, AskRequest, Chunk, CitedReference, Document, Passage, Quote, Role, Tier
from followup.embed.token_vectors import TokenEmbedding
from followup.index.reader import SearchIndex, load_index
from followup.present.render import display_text
from followup.present.source_labels import source_label
from followup.retrieve.facets import Facet, addresses, clinical_facets
from followup.retrieve.hybrid import rank_chunks
from followup.retrieve.query import (
    append_terms,
    asks_for_more,
    build_query,
    content_words,
    exclusions,
    expand_lay_terms,
    without_names,
)
from followup.retrieve.scope import Mentions, answerable_scope


class QueryEncoder(Protocol):
    dimension: int

    def encode_query(self, text: str) -> np.ndarray: ...

    def encode_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenEmbedding]]: ...


@dataclass(frozen=True)
class Retrieval:
    """What the retrievers found for one query, before gating: the evaluation reads this too."""

    query: str
    ranking: list[tuple[int, float]]  # (chunk id, fused or raw score), best first
    query_vector: np.ndarray
    # Token vectors of the query as searched and as asked, stacked: what the answer score matches.
    query_tokens: np.ndarray
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


class Answerer:
    def __init__(self, index: SearchIndex, encoder: QueryEncoder, params: RetrievalParams = DEFAULT_RETRIEVAL) -> None:
        self.index = index
        self.encoder = encoder
        self.params = params
        self._reference_terms: dict[str, list[tuple[Chunk, int, frozenset[str]]]] = {}
        self._mentions = Mentions(index.medication_names_by_article, index.vocabulary.articles_with, clinical_facets())

    @classmethod
    def load(cls, index_dir: Path, corpus_dir: Path | None = None, threads: int = 1) -> Answerer:
        """`threads`: the query encoder's; one answer at a time (the CLI, an evaluation) may use every
        core, a service answering one request per core gives each one."""
        index = load_index(index_dir, corpus_dir)  # fails fast, before any model loads
        if index.query_model is None:
            raise IndexProblem(f"{index_dir}: the build has no query encoder: run `followup index --force`")
        from followup.embed.onnx_encoder import OnnxQueryEncoder  # ~0.4 s: no torch on the query path

        return cls(index, OnnxQueryEncoder(index.query_model, threads))

    def retrieve(self, request: AskRequest, borrow: bool = False) -> Retrieval:
        """`borrow`: take the conversation's subject even when the question names something."""
        if self.params.resolve_followups:
            query = build_query(request.question, request.history, borrow)
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
        searched = index.search_scope([request.article_id]) if request.article_id else None
        if scope.articles:  # the articles whose sources mention the drugs and facets the question names
            searched = index.search_scope(scope.articles)
        # One pass embeds the query as searched (its pooled vector searches) and as asked.
        forms = list(dict.fromkeys([query, request.question.strip()]))
        vectors, token_embeddings = self.encoder.encode_with_tokens(forms)
        vector = vectors[0]
        ranking = rank_chunks(index.retriever, tokenize(query), vector, request.mode, self.params, searched)
        # Both forms' tokens together: on the dev splits this beat the mean of the two forms' scores
        # (hit@1 65 against 64 of 78 questions, hit@3 74 against 73) and either form alone.
        query_tokens = np.concatenate([t.vectors for t in token_embeddings])
        return Retrieval(query, ranking, vector, query_tokens, scope.not_covered, scope.facets, frozenset(ruled_out))

    def assess(self, request: AskRequest) -> Assessment:
        """Retrieve, and find the best quotable span of each of the top chunks."""
        validate_request(request, self.index.articles.keys())
        retrieval = self.retrieve(request)
        assessment = self._gather(request, retrieval)
        # A follow-up that names only a detail ("Which currents are increased?" after a spinal cord
        # injury question) finds nothing alone: it is asked again in the conversation's subject.
        # Only a detail the sources use words for: "What is the capital of France?" borrows nothing.
        relevant = assessment.best_relevance >= self.params.min_relevance
        if (
            request.history
            and self.params.resolve_followups
            and not relevant
            and not retrieval.not_covered
            and self._sources_use_words_of(request)
        ):
            borrowed = self.retrieve(request, borrow=True)
            if borrowed.query != retrieval.query:
                retried = self._gather(request, borrowed)
                if retried.best_relevance >= self.params.min_relevance:
                    return retried
        return assessment

    def _sources_use_words_of(self, request: AskRequest) -> bool:
        """Every content word of the question occurs in the sources searched."""
        using = self.index.vocabulary.articles_with
        terms = tokenize(" ".join(content_words(request.question)))
        if request.article_id:
            return bool(terms) and all(request.article_id in using(t) for t in terms)
        return bool(terms) and all(using(t) for t in terms)

    def _gather(self, request: AskRequest, retrieval: Retrieval) -> Assessment:
        pool = [
            candidate
            for rank, (chunk_id, _) in enumerate(retrieval.ranking[: max(2 * request.top_k, 10)])
            for candidate in self._candidates(self.index.chunks[chunk_id], rank, retrieval.query_vector)
        ]
        pool += [twin for candidate in pool for twin in self._cited_twins(candidate, retrieval.query_vector)]
        pool = self._without_excluded_drugs(retrieval.ruled_out, pool)
        pool = self._scored(pool, retrieval.query_tokens)
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
                own = float(self.index.embeddings.sentences(chunk.id)[index] @ query_vector)
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
        # The answer score decides what is shown (near enough the best) and which passage answers.
        ranked = sorted(pool, key=lambda c: (-c.score, c.retrieval_rank))
        top = next((c.score for c in ranked if c.quotable), None)
        if top is None:
            return Answer(request.question, retrieval.query, request.article_id, False, (), (), retrieval.not_covered)
        # Unquotable text is not shown, but listed under `also_in` of a passage that states the same thing.
        shown = [c for c in ranked if not c.quotable or c.score >= top * self.params.answer_ratio]
        groups = [g for g in group_duplicates(shown, self.index.documents) if g[0].quotable]
        arranged = arrange(groups, request.top_k, self.params.order_by_tier)
        passages = tuple(self._passage(rank, group, role) for rank, (group, role) in enumerate(arranged, start=1))
        return Answer(request.question, retrieval.query, request.article_id, True, passages, self._references(passages))

    def _scored(self, pool: list[Candidate], query_tokens: np.ndarray) -> list[Candidate]:
        """Each candidate's answer score, and whether it may be shown: article text that cites nothing
        is never evidence (its statement reaches the answer through the cited sentence it restates,
        _cited_twins, or not at all); a sentence announcing a list ("... can be complex and involve:")
        says nothing alone."""
        tokens = [self.index.embeddings.passage_tokens(c.chunk, c.start, c.end) for c in pool]
        return [
            replace(c, score=score, quotable=bool(c.citations) and not self._text(c).rstrip().endswith(":"))
            for c, score in zip(pool, maxsims(query_tokens, tokens), strict=True)
        ]

    def _candidates(self, chunk: Chunk, rank: int, query_vector: np.ndarray) -> list[Candidate]:
        relevances = (self.index.embeddings.sentences(chunk.id) @ query_vector).tolist()
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

    def _passage(self, rank: int, group: list[Candidate], role: Role) -> Passage:
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
            score=round(group_score(group), 4),
            start=first.start,
            end=first.end,
            also_in=tuple(self._quote(c) for c in others if not same_place(c, first)),
            role=role,
            source_label=self._label(doc, first.chunk),
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
            self._label(doc, cand.chunk),
        )

    def _label(self, doc: Document, chunk: Chunk) -> str:
        return source_label(self.index.articles[doc.article_id], doc, " > ".join(chunk.section))

    def _references(self, passages: tuple[Passage, ...]) -> tuple[CitedReference, ...]:
        cited: dict[tuple[str, int], CitedReference] = {}
        for passage in passages:
            article = self.index.articles[self.index.documents[passage.source_id].article_id]
            for number in {*passage.citations, *(n for q in passage.also_in for n in q.citations)}:
                ref = article.reference(number)
                if ref:
                    cited[(article.id, number)] = CitedReference(article.id, ref)
        return tuple(cited[key] for key in sorted(cited))
