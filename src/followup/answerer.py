"""The answer path, composed: a question and its conversation -> plan the query -> search -> gather
candidates -> score -> gate -> choose and arrange -> the answer contract. Each stage is a function or a
small class over frozen values (retrieve/plan.py, answer/stages.py, present/contract.py); this class
only holds what they share (the index, the query encoder, the parameters) and runs them in order."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from followup.answer.candidates import Place
from followup.answer.stages import (
    Arrangement,
    Assessment,
    CandidateFinder,
    choose,
    evidence_filter,
    gate,
    score,
    validate_request,
)
from followup.core.errors import IndexProblem
from followup.core.settings import DEFAULT_RETRIEVAL, Mode, RetrievalParams
from followup.core.types import NO_FILTER, AskRequest, Tier
from followup.index.reader import SearchIndex, load_index
from followup.present.contract import Answer, present
from followup.retrieve.plan import QueryPlanner, Retrieval, search
from followup.retrieve.query import asks_for_more

if TYPE_CHECKING:  # a Protocol: annotations only, not loaded to answer
    from followup.embed.protocols import QueryEncoder


class Answerer:
    """Answers questions from one loaded index: `answer(request)` gives the answer contract."""

    def __init__(self, index: SearchIndex, encoder: QueryEncoder, params: RetrievalParams = DEFAULT_RETRIEVAL) -> None:
        self.index = index
        self.encoder = encoder
        self.params = params
        self._planner = QueryPlanner(index, params)
        self._finder = CandidateFinder(index, params)
        self._shown_first = ShownFirst()

    @classmethod
    def load(
        cls, index_dir: Path, corpus_dir: Path | None = None, threads: int = 1, check_as_read: bool = False
    ) -> Answerer:
        """Open the index's current build (refused when missing, corrupt or, given `corpus_dir`, stale)
        and its ONNX query encoder. `threads`: the encoder's; one answer at a time (the CLI, an
        evaluation) may use every core, a service answering one request per core gives each one.
        `check_as_read`: see `load_index` (a service checks every byte before a build answers)."""
        index = load_index(index_dir, corpus_dir, check_as_read)  # fails fast, before any model loads
        if index.query_model is None:
            raise IndexProblem(f"{index_dir}: the build has no query encoder: run `followup index --force`")
        from followup.embed.encoder import OnnxQueryEncoder  # ~0.4 s: no torch on the query path

        blas_on_one_thread()
        return cls(index, OnnxQueryEncoder(index.query_model, threads))

    def ask(
        self, question: str, history: Sequence[str] = (), article: str | None = None, top_k: int = 5,
        mode: Mode = "hybrid", tiers: Collection[Tier | str] | None = None, since: int | None = None,
    ) -> Answer:  # fmt: skip
        """Answer `question`, asked after the earlier questions `history` (oldest first), from one
        article or, with `article` None, the whole library; with `tiers` ("guideline", ...) or `since`
        (a year), from that evidence only. Bad input raises `InvalidRequest` or `UnknownArticle` (both
        `FollowupError`), naming what is wrong."""
        return self.answer(AskRequest(question, tuple(history), article, top_k, mode, evidence_filter(tiers, since)))

    def answer(self, request: AskRequest) -> Answer:
        """The answer contract: verbatim passages, the answering one first, or an abstention."""
        arrangement = self.arrange(request, self.assess(request))
        if not arrangement.answered and request.evidence.active:
            arrangement = self._why_filtered_out(request, arrangement)
        self._shown_first.remember(request, arrangement)
        return present(request, arrangement, self.index)

    def _why_filtered_out(self, request: AskRequest, filtered: Arrangement) -> Arrangement:
        """A filtered question the admitted evidence does not answer, asked again without the filter: if
        that answers, the abstention says the filter excluded the answer; if not, it says what the
        sources themselves do not address (a facet the admitted passages lack may be named by none)."""
        unfiltered = replace(request, evidence=NO_FILTER)
        found = self.arrange(unfiltered, self.assess(unfiltered))
        if found.answered:
            return replace(filtered, not_covered=(), excluded_by_filter=True)
        return replace(filtered, not_covered=found.not_covered)

    def retrieve(self, request: AskRequest) -> Retrieval:
        """Plan and search, nothing after: what the retrievers found for the question."""
        return search(self._planner.plan(request), self.encoder, self.index, request, self.params)

    def assess(self, request: AskRequest) -> Assessment:
        """Retrieve, gather, score and gate: the candidates an answer is chosen from."""
        validate_request(request, self.index.articles.keys())
        seen = self._shown_before(request)
        plan = self._planner.plan(request)
        retrieval = search(plan, self.encoder, self.index, request, self.params)
        assessment = self._assessed(request, retrieval, seen)
        # A follow-up that names only a detail ("Which currents are increased?" after a spinal cord
        # injury question) finds nothing alone: it is asked again in the conversation's subject.
        # Only a detail the sources use words for: "What is the capital of France?" borrows nothing.
        if (
            request.history
            and self.params.resolve_followups
            and assessment.best_relevance < self.params.min_relevance
            and not retrieval.not_covered
            and self._planner.sources_use_words_of(request)
        ):
            borrowed = self._planner.plan(request, borrow=True)
            if borrowed.query != plan.query:  # compared before anything is encoded again
                retried = self._assessed(request, search(borrowed, self.encoder, self.index, request, self.params),
                                         seen)  # fmt: skip
                if retried.best_relevance >= self.params.min_relevance:
                    return retried
        return assessment

    def decide(self, request: AskRequest, assessment: Assessment) -> Answer:
        """Abstain, or choose, merge and order the passages to show, presented as the contract."""
        return present(request, self.arrange(request, assessment), self.index)

    def arrange(self, request: AskRequest, assessment: Assessment) -> Arrangement:
        return choose(assessment, self.index, request.top_k, self.params)

    def _assessed(self, request: AskRequest, retrieval: Retrieval, seen: frozenset[Place]) -> Assessment:
        pool = score(self._finder.gather(retrieval, request.top_k), retrieval.query_tokens, self.index)
        return gate(retrieval, pool, self.index, seen)

    def _shown_before(self, request: AskRequest) -> frozenset[Place]:
        """For an "else" follow-up ("What else can treat it?"), the places of the passage the previous
        question got first, so that this answer moves past it: as remembered when this answerer gave
        that answer, else found by the stages for the previous turn (which may itself ask for more),
        never by presenting a whole answer again."""
        if not (request.history and self.params.resolve_followups and asks_for_more(request.question)):
            return frozenset()
        previous = replace(request, question=request.history[-1], history=request.history[:-1])
        remembered = self._shown_first.get(previous)
        if remembered is not None:
            return remembered
        arrangement = self.arrange(previous, self.assess(previous))
        self._shown_first.remember(previous, arrangement)
        return arrangement.groups[0].places if arrangement.groups else frozenset()


def blas_on_one_thread() -> None:
    """Hold numpy's BLAS to one thread for the rest of the process. An answer's products are small, and
    a pool thread that spin-waits after one takes a core from the next question's encoder pass: on 2
    cores, a warm answer's p50 went from 8.7-9.2 to 7.2-7.8 ms. A service answers one question per core
    anyway. OpenMP keeps its threads (faiss builds its graphs on every core), though an OpenBLAS built on
    OpenMP (faiss's own) sets OpenMP's count with its own."""
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    openmp = [(lib, lib.num_threads) for lib in controller.select(user_api="openmp").lib_controllers]
    controller.limit(limits=1, user_api="blas")
    for lib, threads in openmp:
        lib.set_num_threads(threads)


class ShownFirst:
    """The places of the passage each recent request got first, so that the next turn of a conversation
    ("What else ...?") finds them without answering the turn again. Bounded; shared by the service's
    worker threads."""

    SIZE = 256  # recent requests; a key is at most a 2,000-character question and 20 turns

    def __init__(self) -> None:
        self._places: OrderedDict[AskRequest, frozenset[Place]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, request: AskRequest, arrangement: Arrangement) -> None:
        places = arrangement.groups[0].places if arrangement.groups else frozenset()
        with self._lock:
            self._places[request] = places
            self._places.move_to_end(request)
            while len(self._places) > self.SIZE:
                self._places.popitem(last=False)

    def get(self, request: AskRequest) -> frozenset[Place] | None:
        with self._lock:
            return self._places.get(request)
