"""The answer stages after retrieval, each over frozen values: check the request (each failure says
what is wrong), gather the candidate spans of the top chunks, score them, gate them (relevance, the
facets the question names, what the previous turn already showed), and arrange what is shown: the
answer first, whatever its tier, then the evidence by tier. Nothing here knows how an answer is
presented. The ordering functions are pure, over groups of candidates (candidates.group_duplicates:
one statement, its places), so they are tested without the model."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from followup.answer.candidates import Candidate, Place, best_spans, group_duplicates, maxsims, restates
from followup.core.errors import InvalidRequest, UnknownArticle
from followup.core.settings import MAX_HISTORY_TURNS, MAX_QUESTION_CHARS, MAX_TOP_K, MODES, RetrievalParams
from followup.core.types import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    SELF,
    AskRequest,
    Chunk,
    EvidenceFilter,
    Role,
    Tier,
    tier_for_citations,
)
from followup.core.words import addresses, find_mentions, tokenize
from followup.index.reader import SearchIndex
from followup.retrieve.plan import Retrieval


def check_text(text: object, what: str) -> None:
    if not isinstance(text, str):
        raise InvalidRequest(f"{what} must be a string")
    if not text.strip():
        raise InvalidRequest(f"{what} is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidRequest(f"{what} is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}")


TIER_NAMES = tuple(t.value for t in Tier)


def evidence_filter(tiers: Iterable[Tier | str] | None = None, since: int | None = None) -> EvidenceFilter:
    """The filter a request names: tier names as the contract spells them ("guideline",
    "systematic_review", ...) and a year; a wrong one is an `InvalidRequest` naming the allowed values."""
    chosen = None
    if tiers is not None:
        names = [t.value if isinstance(t, Tier) else t for t in tiers]
        unknown = [n for n in names if n not in TIER_NAMES]
        if unknown:
            raise InvalidRequest(f"unknown tier {unknown[0]!r}; the tiers are {', '.join(TIER_NAMES)}")
        chosen = frozenset(Tier(n) for n in names)
    found = EvidenceFilter(chosen, since)
    check_filter(found)
    return found


def check_filter(evidence: EvidenceFilter) -> None:
    if evidence.tiers is not None and not evidence.tiers:
        raise InvalidRequest("tiers is empty: name at least one tier, or leave it out for every tier")
    since = evidence.since
    if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
        raise InvalidRequest(f"since must be a year (an integer), not {since!r}")
    if since is not None and not EARLIEST_YEAR <= since <= LATEST_YEAR:
        raise InvalidRequest(f"since must be a year from {EARLIEST_YEAR} to {LATEST_YEAR}, not {since}")


def validate_request(request: AskRequest, known_articles: Collection[str]) -> None:
    check_text(request.question, "question")
    if len(request.history) > MAX_HISTORY_TURNS:
        raise InvalidRequest(f"history has {len(request.history)} turns; the limit is {MAX_HISTORY_TURNS}")
    for i, turn in enumerate(request.history):
        check_text(turn, f"history[{i}]")
    if request.article_id is not None and request.article_id not in known_articles:
        raise UnknownArticle(request.article_id, list(known_articles))
    if not 1 <= request.top_k <= MAX_TOP_K:
        raise InvalidRequest(f"top_k must be between 1 and {MAX_TOP_K}, not {request.top_k}")
    if request.mode not in MODES:
        raise InvalidRequest(f"mode must be one of {', '.join(MODES)}, not {request.mode!r}")
    check_filter(request.evidence)


def group_score(group: list[Candidate]) -> float:
    """A statement's answer score: that of its best place that may be shown."""
    return max(c.score for c in group if c.quotable)


def same_place(a: Candidate, b: Candidate) -> bool:
    """Overlapping spans of one document (two chunks' spans, a twin found twice): one place."""
    return a.place.overlaps(b.place)


def arrange(
    groups: list[list[Candidate]], top_k: int, order_by_tier: bool = True
) -> list[tuple[list[Candidate], Role]]:
    """The answer first: the best-scored group, whatever its tier. Then the next best groups, up to
    `top_k` in all, by tier (best first) and by score within a tier. Every group's first member is
    quotable (cited)."""
    by_score = sorted(groups, key=lambda g: -group_score(g))
    if not by_score:
        return []
    answer, *others = by_score
    evidence = sorted(others[: top_k - 1], key=lambda g: g[0].tier.rank if order_by_tier else 0)
    return [(answer, Role.ANSWER), *((g, Role.EVIDENCE) for g in evidence)]


@dataclass(frozen=True)
class Assessment:
    """The scored candidates of one retrieval, gated, and the best relevance, which decides answerability."""

    retrieval: Retrieval
    candidates: list[Candidate]
    best_relevance: float


@dataclass(frozen=True)
class ShownGroup:
    """One statement the answer shows: its first candidate is the passage, the rest where else it is said."""

    candidates: tuple[Candidate, ...]
    role: Role

    @property
    def places(self) -> frozenset[Place]:
        """The passage's place and those of its also_in quotes (overlapping ones are the passage's)."""
        first, *others = self.candidates
        return frozenset([first.place, *(c.place for c in others if not same_place(c, first))])


@dataclass(frozen=True)
class Arrangement:
    """What an answer shows, in order; no groups when it abstains."""

    query: str
    answered: bool
    groups: tuple[ShownGroup, ...] = ()
    not_covered: tuple[str, ...] = ()
    excluded_by_filter: bool = False  # abstaining because the evidence filter left out what answers


def is_answerable(best_relevance: float, not_covered: tuple[str, ...], params: RetrievalParams) -> bool:
    return not not_covered and best_relevance >= params.min_relevance


def candidate_text(index: SearchIndex, candidate: Candidate) -> str:
    return index.documents[candidate.chunk.doc_id].text[candidate.start : candidate.end]


def _tier(index: SearchIndex, chunk: Chunk, citations: tuple[int, ...], evidence: EvidenceFilter) -> Tier:
    """The best tier among the references cited that the filter admits: under "only systematic
    reviews", a sentence citing a guideline and a review is the review's evidence."""
    return tier_for_citations(citations, index.articles[chunk.article_id].references, evidence)


def _admitted(index: SearchIndex, chunk: Chunk, citations: tuple[int, ...], evidence: EvidenceFilter) -> bool:
    """Whether a span may be evidence under the filter: it cites a reference the filter admits. Text
    citing nothing stays (never shown, but the place a cited sentence is restated)."""
    if not evidence.active or not citations:
        return True
    article = index.articles[chunk.article_id]
    return any(ref is not None and evidence.admits(ref) for ref in map(article.reference, citations))


class CandidateFinder:
    """Gather: the best spans of the top chunks, the cited sentences that article text restates, and
    none about only the drugs the user ruled out. Keeps each article's reference sentences' terms."""

    def __init__(self, index: SearchIndex, params: RetrievalParams) -> None:
        self.index, self.params = index, params
        self._reference_terms: dict[str, list[tuple[Chunk, int, frozenset[str]]]] = {}

    def gather(self, retrieval: Retrieval, top_k: int) -> list[Candidate]:
        pool = [
            candidate
            for rank, (chunk_id, _) in enumerate(retrieval.ranking[: max(2 * top_k, 10)])
            for candidate in self._spans(self.index.chunks[chunk_id], rank, retrieval.query_vector, retrieval.evidence)
        ]
        pool += [
            twin
            for candidate in pool
            for twin in self._cited_twins(candidate, retrieval.query_vector, retrieval.evidence)
        ]
        admitted = [
            c
            for c in pool
            if _admitted(self.index, c.chunk, c.citations, retrieval.evidence) and not _withdrawn(self.index, c)
        ]
        return self._without_excluded_drugs(retrieval.ruled_out, admitted)

    def _spans(self, chunk: Chunk, rank: int, query_vector: np.ndarray, evidence: EvidenceFilter) -> list[Candidate]:
        relevances = (self.index.embeddings.sentences(chunk.id) @ query_vector).tolist()
        candidates = []
        for span in best_spans(relevances, self.params.min_relevance):
            sentences = chunk.sentences[span.first : span.last + 1]
            citations = tuple(sorted({n for s in sentences for n in s.citations})) or self._own(chunk)
            tier = _tier(self.index, chunk, citations, evidence)
            candidates.append(
                Candidate(chunk, sentences[0].start, sentences[-1].end, citations, span.relevance, tier, rank)
            )
        return candidates

    def _own(self, chunk: Chunk) -> tuple[int, ...]:
        """What grounds the article's sentences that cite nothing: the article itself when it is a
        published study (its record is reference 0: a trial's results are the trial's), else nothing."""
        if self.index.documents[chunk.doc_id].reference_number is not None:
            return ()
        return (SELF,) if self.index.articles[chunk.article_id].reference(SELF) else ()

    def _cited_twins(self, candidate: Candidate, query_vector: np.ndarray, evidence: EvidenceFilter) -> list[Candidate]:
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
                tier = _tier(self.index, chunk, sentence.citations, evidence)
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

    def _without_excluded_drugs(self, excluded: frozenset[str], pool: list[Candidate]) -> list[Candidate]:
        """ "What else besides baclofen?": a passage about baclofen alone is not an answer; one that
        also names tizanidine is."""
        if not excluded:
            return pool
        kept = []
        for candidate in pool:
            named = {
                m.drug for m in find_mentions(candidate_text(self.index, candidate), self.index.medication_lexicon)
            }
            if not named or not named <= excluded:
                kept.append(candidate)
        return kept


def score(pool: Sequence[Candidate], query_tokens: np.ndarray, index: SearchIndex) -> list[Candidate]:
    """Each candidate's answer score (MaxSim), and whether it may be shown: article text that cites
    nothing is never evidence (its statement reaches the answer through the cited sentence it restates,
    or not at all), unless the article is a published study that grounds it (CandidateFinder._own); text
    citing only retracted references never gets here (_withdrawn); a sentence announcing a list ("... can
    be complex and involve:") says nothing alone."""
    tokens = [index.embeddings.passage_tokens(c.chunk, c.start, c.end) for c in pool]
    return [
        replace(c, score=s, quotable=bool(c.citations) and not candidate_text(index, c).rstrip().endswith(":"))
        for c, s in zip(pool, maxsims(query_tokens, tokens), strict=True)
    ]


def _withdrawn(index: SearchIndex, candidate: Candidate) -> bool:
    """Text citing only retracted references or retraction notices: neither evidence nor another place
    of a statement (it would list the retracted paper), and no signal of answerability either."""
    article = index.articles[candidate.chunk.article_id]
    refs = [article.reference(n) for n in candidate.citations]
    return bool(refs) and all(ref is not None and ref.never_evidence for ref in refs)


def gate(retrieval: Retrieval, pool: list[Candidate], index: SearchIndex, seen: Collection[Place]) -> Assessment:
    """The best relevance, taken before `seen` is left out: it decides answerability. A question naming a
    clinical facet ("Is it safe in pregnancy?") keeps only what names it, in its sentence, its section or
    its source's title, or abstains naming the facet. What the previous turn showed first is left out
    of an "else" follow-up."""
    best = max((c.relevance for c in pool), default=0.0)
    if retrieval.facets:
        pool = [c for c in pool if all(addresses(_terms(index, c), f) for f in retrieval.facets)]
        if pool:
            best = max(c.relevance for c in pool)
        else:  # abstain, keeping the relevance found as the evaluation's diagnostic
            retrieval = replace(retrieval, not_covered=tuple(f.name for f in retrieval.facets))
    if seen:
        pool = [c for c in pool if not any(c.place.overlaps(place) for place in seen)]
    return Assessment(retrieval, pool, best)


def _terms(index: SearchIndex, candidate: Candidate) -> frozenset[str]:
    """The candidate's words, its section's and its source's title: a label's "Pregnancy" section
    names its facet once, and a study titled for a condition is about it in every sentence."""
    document = index.documents[candidate.chunk.doc_id]
    return frozenset(tokenize(" ".join((candidate_text(index, candidate), *candidate.chunk.section, document.title))))


def choose(assessment: Assessment, index: SearchIndex, top_k: int, params: RetrievalParams) -> Arrangement:
    """Abstain, or choose, merge and order what to show. The answer score decides what is shown (near
    enough the best) and which passage answers; unquotable text is not shown, but listed as another
    place of a passage that states the same thing."""
    retrieval, pool = assessment.retrieval, assessment.candidates
    abstain = Arrangement(retrieval.query, False, (), retrieval.not_covered)
    if not is_answerable(assessment.best_relevance, retrieval.not_covered, params):
        return abstain
    ranked = sorted(pool, key=lambda c: (-c.score, c.retrieval_rank))
    top = next((c.score for c in ranked if c.quotable), None)
    if top is None:
        return abstain
    shown = [c for c in ranked if not c.quotable or c.score >= top * params.answer_ratio]
    groups = [g for g in group_duplicates(shown, index.documents) if g[0].quotable]
    arranged = arrange(groups, top_k, params.order_by_tier)
    return Arrangement(retrieval.query, True, tuple(ShownGroup(tuple(group), role) for group, role in arranged))
