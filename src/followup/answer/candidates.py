"""From retrieved chunks to verbatim passages: pick the answering sentences, merge repeated statements.

The answer score: late interaction (MaxSim, as in ColBERT) over all-MiniLM-L6-v2's own token vectors.

Each query token finds its most similar token in the passage and the similarities are averaged. The
passage is a sentence span *with its chunk's context* (title, section breadcrumb, list lead-in), and
its token vectors come from the chunk's own forward pass over "context\\ntext": words of the topic that
every sentence of a section shares match the context equally for all of them, so the question's other
words decide. The query's tokens are those of the question as asked and as searched (resolved from
the conversation, lay words expanded), together. The sentence cosine, which cannot tell an answer
from a sentence that restates the topic, stays the abstention signal only.

Pure functions over plain values and arrays, so they are tested without the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from followup.core.storage import offsets
from followup.core.types import Chunk, Document, Tier
from followup.core.words import tokenize

# Neighbouring sentences join the best one when they are nearly as relevant (cosine within this).
NEIGHBOUR_MARGIN = 0.05
MAX_SENTENCES = 3
# Two quotes state the same thing when most of the shorter one's terms are in the longer one.
DUPLICATE_CONTAINMENT = 0.7
DUPLICATE_MIN_TERMS = 3


@dataclass(frozen=True)
class Place:
    """Where a quote is: a document and a character span [start, end) of its text."""

    doc_id: str
    start: int
    end: int

    def overlaps(self, other: Place) -> bool:
        return self.doc_id == other.doc_id and self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Candidate:
    """A quotable span of one chunk, with its relevance (cosine of its best sentence to the query: the
    abstention signal) and its answer score (late interaction: the order of passages)."""

    chunk: Chunk
    start: int
    end: int
    citations: tuple[int, ...]
    relevance: float
    tier: Tier
    retrieval_rank: int  # position in the fused ranking, 0 is best
    score: float = 0.0
    # False for what may be listed as another place of a statement but never shown as the passage:
    # article text citing nothing, and a sentence that only announces a list ("... involve:").
    quotable: bool = True

    @property
    def place(self) -> Place:
        return Place(self.chunk.doc_id, self.start, self.end)


@dataclass(frozen=True)
class Span:
    """Sentences first..last (inclusive) of a chunk; relevance is that of the best of them."""

    first: int
    last: int
    relevance: float


def best_spans(relevances: Sequence[float], floor: float) -> list[Span]:
    """Quotable spans of a chunk, most relevant first. The best sentence always makes a span (the
    caller gates it); further spans start from the next best unused sentence at or above `floor`.
    Each span widens to contiguous neighbours almost as relevant as its seed, up to MAX_SENTENCES."""
    used = [False] * len(relevances)
    spans: list[Span] = []
    for seed in sorted(range(len(relevances)), key=lambda i: (-relevances[i], i)):
        if used[seed] or (spans and relevances[seed] < floor):
            continue
        keep = max(floor, relevances[seed] - NEIGHBOUR_MARGIN)
        first = last = seed
        while last - first + 1 < MAX_SENTENCES:
            left = relevances[first - 1] if first > 0 and not used[first - 1] else -1.0
            right = relevances[last + 1] if last + 1 < len(relevances) and not used[last + 1] else -1.0
            if max(left, right) < keep:
                break
            if right >= left:
                last += 1
            else:
                first -= 1
        for i in range(first, last + 1):
            used[i] = True
        spans.append(Span(first, last, float(relevances[seed])))
    return spans


def same_statement(a: Candidate, a_text: str, b: Candidate, b_text: str) -> bool:
    """The same span twice (overlapping chunks), or one statement quoted in two documents."""
    if a.chunk.doc_id == b.chunk.doc_id:
        return a.place.overlaps(b.place)
    return restates(frozenset(tokenize(a_text)), frozenset(tokenize(b_text)))


def restates(text_terms: frozenset[str], other_terms: frozenset[str]) -> bool:
    """Most of the shorter text's terms are in the longer one (at least DUPLICATE_MIN_TERMS of them)."""
    shorter = min(len(text_terms), len(other_terms))
    return shorter >= DUPLICATE_MIN_TERMS and len(text_terms & other_terms) / shorter >= DUPLICATE_CONTAINMENT


def group_duplicates(candidates: Sequence[Candidate], documents: Mapping[str, Document]) -> list[list[Candidate]]:
    """Groups of candidates stating the same thing, in order of their best member; the first member of
    each group is the one to show (quotable, best tier, then most relevant), the rest are where else it
    is said."""
    groups: list[list[Candidate]] = []
    for cand in candidates:
        text = documents[cand.chunk.doc_id].text[cand.start : cand.end]
        for group in groups:
            if any(same_statement(cand, text, g, documents[g.chunk.doc_id].text[g.start : g.end]) for g in group):
                group.append(cand)
                break
        else:
            groups.append([cand])
    return [sorted(g, key=lambda c: (not c.quotable, c.tier.rank, -c.relevance, c.retrieval_rank)) for g in groups]


def maxsim(query: np.ndarray, passage: np.ndarray) -> float:
    """Mean over query tokens of the best cosine to any passage token (rows L2-normalised)."""
    if not len(query) or not len(passage):
        return 0.0
    return float((query @ passage.T).max(axis=1).mean())


def maxsims(query: np.ndarray, passages: Sequence[np.ndarray]) -> list[float]:
    """maxsim of every passage, in one matrix product: a question's candidates together are a few
    hundred token rows, and many small products each pay BLAS's thread hand-off (measured: a tail of
    tens of milliseconds a question while the other core was busy)."""
    lengths = np.array([len(p) for p in passages], dtype=np.int64)
    scores = np.zeros(len(passages))
    present = lengths > 0
    if len(query) and present.any():
        rows = np.concatenate([p for p in passages if len(p)])
        scores[present] = np.maximum.reduceat(query @ rows.T, offsets(lengths[present])[:-1], axis=1).mean(axis=0)
    return [float(x) for x in scores]
