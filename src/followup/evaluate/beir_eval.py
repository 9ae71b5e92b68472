"""Retrieval accuracy on a BEIR benchmark, every mode side by side, scored at document level. The
benchmark's chunks are scored by the embedded retriever's indexes, or searched on a server through the
retriever seam `followup ask` searches through (evaluate/document_search.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from followup.answer.candidates import maxsim
from followup.core.progress import ProgressLine
from followup.core.settings import ChunkingParams
from followup.core.storage import offsets
from followup.core.types import Block, Document
from followup.core.words import tokenize
from followup.embed.protocols import QueryEncoder
from followup.embed.token_vectors import dequantise
from followup.evaluate.beir_data import BeirDataset
from followup.evaluate.document_search import ChunksSearched, DocumentSearch, EveryChunkScored
from followup.evaluate.embedding_cache import EncodeFn, cached_embeddings
from followup.evaluate.metrics import RECALL_CURVE, aggregate, per_query, percentiles
from followup.evaluate.token_cache import EncodeTokensFn, cached_tokens, token_cache_key
from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex
from followup.index.retrievers import Retriever
from followup.ingest.chunking import chunk_documents, indexed_text
from followup.retrieve.hybrid import Ranked, fuse_ranked


@dataclass(frozen=True)
class BenchmarkEncoders:
    """How a benchmark is embedded: its chunk texts in bulk (`chunks`: pooled vectors; `chunk_tokens`:
    token vectors, which the late-interaction mode needs), and each query as `followup ask` embeds a
    question (`queries`: its vector, and its token vectors for the rerank)."""

    chunks: EncodeFn
    queries: QueryEncoder
    chunk_tokens: EncodeTokensFn | None = None


BEIR_MODES = ("bm25", "dense", "hybrid-rrf", "hybrid-minmax")
LATE_INTERACTION = "hybrid-minmax+li"  # run too when evaluate_beir is given the ONNX token encoder
DEPTH = 100  # documents kept per query: R@100 is the deepest measure
CANDIDATES = 1000  # documents per retriever before fusion
RERANK_DEPTH = 20  # hybrid-minmax documents reordered by late interaction
SERVER_DEPTH = 16_384  # chunks a search on a server returns at most (Milvus's limit on a search)
# Weight of the (min-max scaled) MaxSim score against the fused score in the rerank: chosen on NFCorpus
# dev from 0, 0.25, 0.5, 0.75, 1 (evals/tune_fusion.py --late-interaction).
LATE_INTERACTION_WEIGHT = 0.5
LATE_INTERACTION_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
log = logging.getLogger(__name__)  # status lines: the CLI shows them on stderr (core/status_lines.py)


@dataclass(frozen=True)
class ModeResult:
    metrics: dict[str, float]
    recall_curve: dict[str, float]
    per_query: dict[str, dict[str, float]]
    latency_ms: dict[str, float]  # p50 and p95 of one query: embedding, scoring, fusion (and rerank)
    added_latency_ms: dict[str, float] = field(default_factory=dict)  # the rerank alone, over the hybrid


def as_documents(dataset: BeirDataset) -> list[Document]:
    """Each benchmark document as one block; its title becomes the indexed context of its chunks."""
    return [Document(d.id, dataset.name, d.title, d.text, (Block(0, len(d.text), ()),)) for d in dataset.documents]


@dataclass(frozen=True)
class BenchmarkIndex:
    """A benchmark corpus chunked as the project's corpus is, with BM25 and (cached) chunk embeddings;
    rankings are per document, a document scoring as its best chunk."""

    ids: list[str]
    chunk_document: np.ndarray  # chunk i's document; chunks are numbered document by document
    bm25: BM25Index
    vectors: np.ndarray
    label: str  # names the cache files: benchmark and chunking
    chunk_texts: list[str]  # what BM25 and the encoders saw: indexed_text, context + "\n" + chunk text
    document_chunks: list[np.ndarray]  # each document's chunk ids, in order
    searches: DocumentSearch

    def lexical(self, text: str) -> Ranked:
        return self.searches.lexical(tokenize(text))

    def dense(self, query_vector: np.ndarray) -> Ranked:
        return self.searches.semantic(query_vector)

    def fused(self, rankings: Sequence[Ranked], method: str, rrf_k: int = 60,
              weights: Sequence[float] | None = None) -> Ranked:  # fmt: skip
        """The rankings fused (retrieve/hybrid.fuse), the best DEPTH documents: as deep as a run goes."""
        return fuse_ranked(rankings, method, rrf_k, weights, universe=len(self.ids), depth=DEPTH)

    def on_server(self, retriever: Retriever) -> BenchmarkIndex:
        """The same index, searched on a server that holds its chunks, once as deep as it goes: every
        chunk of NFCorpus (13,239), MedQuAD's best third."""
        depth = min(SERVER_DEPTH, len(self.chunk_document))
        counts = np.bincount(self.chunk_document, minlength=len(self.ids))
        return replace(self, searches=ChunksSearched(retriever, self.chunk_document, counts, depth, CANDIDATES))

    def as_run(self, ranking: Ranked) -> dict[str, float]:
        """The top DEPTH documents with rank-derived scores, so trec_eval keeps our order (it breaks
        score ties by document id)."""
        return {self.ids[i]: float(DEPTH - n) for n, i in enumerate(ranking.items[:DEPTH].tolist())}


def build_benchmark_index(
    dataset: BeirDataset, encode_chunks: EncodeFn, chunking: ChunkingParams, cache_dir: Path, cache_variant: str = ""
) -> BenchmarkIndex:
    """Chunks embedded by `encode_chunks` (cached), searched by the embedded retriever. `cache_variant`
    names how the encoder embeds (as "bf16") in the cache files' names."""
    documents = [d for d in as_documents(dataset) if d.text.strip()]
    chunks = chunk_documents(documents, chunking)
    doc_index = {d.id: i for i, d in enumerate(documents)}
    texts = {d.id: d.text for d in documents}
    chunk_texts = [indexed_text(c, texts[c.doc_id]) for c in chunks]
    log.info("%s (%s): %d documents, %d chunks, %d queries",
             dataset.name, dataset.split, len(documents), len(chunks), len(dataset.queries))  # fmt: skip
    label = f"{dataset.name}-w{chunking.max_words}-o{chunking.overlap_sentences}" + (
        f"-{cache_variant}" if cache_variant else ""
    )
    chunk_document = np.asarray([doc_index[c.doc_id] for c in chunks], dtype=np.int64)
    by_document: list[list[int]] = [[] for _ in documents]
    for chunk_id, document in enumerate(chunk_document.tolist()):
        by_document[document].append(chunk_id)
    ids = [d.id for d in documents]
    bm25 = BM25Index([tokenize(t) for t in chunk_texts])
    vectors = cached_embeddings(chunk_texts, encode_chunks, cache_dir, label)
    return BenchmarkIndex(
        ids=ids,
        chunk_document=chunk_document,
        bm25=bm25,
        vectors=vectors,
        label=label,
        chunk_texts=chunk_texts,
        document_chunks=[np.asarray(c, dtype=np.int64) for c in by_document],
        # Every chunk scored by the embedded retriever's indexes: faiss's exact flat index, as `followup
        # ask` searches a library, and the BM25 postings.
        searches=EveryChunkScored.of(bm25, DenseIndex.build(vectors, len(vectors)), chunk_document, CANDIDATES),
    )


TokenRows = Sequence[tuple[np.ndarray, np.ndarray]]  # by chunk id: int8 token vectors and their scales


def chunk_tokens(index: BenchmarkIndex, encode_tokens: EncodeTokensFn, cache_dir: Path) -> TokenRows:
    """Every chunk's stored token vectors, embedding (one pass over each chunk's indexed text) and
    caching those no earlier run did. Every chunk, not only those of documents that reach some query's
    top RERANK_DEPTH: on NFCorpus those were 76% of the chunks for the dev queries and 90% for dev and
    test, so the subset saved little and would tie the cache to the queries and fusion settings."""
    cache = cached_tokens(index.chunk_texts, encode_tokens, cache_dir, index.label, token_cache_key())
    return [cache.get(t) for t in index.chunk_texts]


def document_maxsim(query_tokens: np.ndarray, chunk_ids: np.ndarray, tokens: TokenRows) -> float:
    """A document's late-interaction score: its best chunk's MaxSim (as its dense score is its best chunk's)."""
    return max((maxsim(query_tokens, dequantise(*tokens[int(c)])) for c in chunk_ids), default=0.0)


def late_scores(
    query_tokens: np.ndarray, documents: Sequence[int], document_chunks: Sequence[np.ndarray], tokens: TokenRows
) -> np.ndarray:
    """document_maxsim of each of `documents`, in one product over all their chunks' int8 tokens. A token
    dequantised is its int8 row over that row's norm (dequantise re-normalises, so the scale cancels):
    6 ms for 80 NFCorpus chunks (9,000 tokens) where dequantise and maxsim chunk by chunk took 13 ms."""
    chunk_ids = [int(c) for d in documents for c in document_chunks[d]]
    owners = np.array([n for n, d in enumerate(documents) for _ in document_chunks[d]], dtype=np.int64)
    lengths = np.array([len(tokens[c][0]) for c in chunk_ids], dtype=np.int64)
    chunk_scores = np.zeros(len(chunk_ids), dtype=np.float64)  # maxsim of an empty side is 0
    filled = np.flatnonzero(lengths)
    if len(query_tokens) and len(filled):
        values = np.concatenate([tokens[chunk_ids[i]][0] for i in filled]).astype(np.float32)
        norms = np.sqrt(np.einsum("ij,ij->i", values, values))
        similarity = (query_tokens @ values.T) / np.maximum(norms, 1e-12)
        chunk_scores[filled] = np.maximum.reduceat(similarity, offsets(lengths[filled])[:-1], axis=1).mean(axis=0)
    scores = np.full(len(documents), -np.inf)
    np.maximum.at(scores, owners, chunk_scores)
    return np.where(np.isneginf(scores), 0.0, scores)  # a document without chunks scores 0, as above


def _min_max(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.ones_like(values)  # as fusion.min_max_fusion


def blend_rerank(
    ranking: Sequence[tuple[int, float]], late_scores: Sequence[float], weight: float, depth: int = RERANK_DEPTH
) -> list[tuple[int, float]]:
    """The first `depth` documents of a fused ranking reordered by
    weight * minmax(late interaction) + (1 - weight) * minmax(fused score), both scaled over those
    documents; ties keep the fused order. Documents past `depth` follow in their fused order, scores
    unchanged (the order is what counts: runs carry rank-derived scores). `late_scores[i]` belongs to
    `ranking[i]`."""
    head = list(ranking[:depth])
    if len(late_scores) != len(head):
        raise ValueError(f"{len(late_scores)} late-interaction scores for {len(head)} documents")
    if not head:
        return list(ranking)
    fused = np.array([s for _, s in head], dtype=np.float64)
    blended = weight * _min_max(np.asarray(late_scores, dtype=np.float64)) + (1 - weight) * _min_max(fused)
    order = sorted(range(len(head)), key=lambda i: (-blended[i], i))
    return [(head[i][0], float(blended[i])) for i in order] + list(ranking[depth:])


def late_latency(added: Sequence[float], encode: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of what the rerank adds to a query, and the p50 of its two parts: the query's ONNX
    pass (which a service would share with the query's pooled vector) and the scoring and blend."""
    if not added:
        return {}
    rest = [a - e for a, e in zip(added, encode, strict=True)]
    return {**percentiles(added), "query_pass_p50": percentiles(encode)["p50"], "scoring_p50": percentiles(rest)["p50"]}


def evaluate_beir(
    dataset: BeirDataset,
    encoders: BenchmarkEncoders,
    chunking: ChunkingParams,
    cache_dir: Path,
    modes: Sequence[str] | None = None,
    rrf_k: int = 60,
    minmax_weights: tuple[float, float] = (1.0, 1.0),
    late_weight: float = LATE_INTERACTION_WEIGHT,
    cache_variant: str = "",
    searches_for: Callable[[BenchmarkIndex], Retriever] | None = None,
) -> dict[str, ModeResult]:
    """Every mode's measures (by default BEIR_MODES, and LATE_INTERACTION when the encoders embed the
    chunks' token vectors). LATE_INTERACTION embeds each query's token vectors with `encoders.queries`,
    on one thread as `followup ask` does: a two-thread session's idle threads spin and slowed the scoring
    after it from 7.6 to 12.2 ms. Its queries run after the others, once every chunk's token vectors are
    cached, so its latency is the hybrid's plus the rerank's. `searches_for`: a server's retriever over
    the benchmark's chunks, searched instead of the embedded one."""
    if modes is None:
        modes = (*BEIR_MODES, LATE_INTERACTION) if encoders.chunk_tokens is not None else BEIR_MODES
    late = LATE_INTERACTION in modes
    if late and encoders.chunk_tokens is None:
        raise ValueError(f"{LATE_INTERACTION} needs the chunks' token vectors (BenchmarkEncoders.chunk_tokens)")
    index = build_benchmark_index(dataset, encoders.chunks, chunking, cache_dir, cache_variant)
    if searches_for is not None:  # the benchmark's chunks on a server (followup eval --backend milvus)
        index = index.on_server(searches_for(index))
    runs: dict[str, dict[str, dict[str, float]]] = {mode: {} for mode in modes}
    timings: dict[str, list[float]] = {mode: [] for mode in modes}
    hybrid: dict[str, tuple[Ranked, float]] = {}  # the rerank's input and its cost
    progress = ProgressLine("queries")
    for done, (qid, text) in enumerate(dataset.queries.items(), start=1):
        started = time.perf_counter()
        vector = encoders.queries.encode_query(text)
        encoded = time.perf_counter()
        lexical = index.lexical(text)
        lexical_done = time.perf_counter()
        dense = index.dense(vector)
        dense_done = time.perf_counter()
        rankings = {"bm25": lexical, "dense": dense}
        costs = {"bm25": lexical_done - encoded, "dense": (encoded - started) + (dense_done - lexical_done)}
        fused_modes = [m for m in modes if m.startswith("hybrid") and m != LATE_INTERACTION]
        if late and "hybrid-minmax" not in fused_modes:
            fused_modes.append("hybrid-minmax")
        for mode in [*fused_modes, *(m for m in modes if not m.startswith("hybrid"))]:
            mode_started = time.perf_counter()
            if mode.startswith("hybrid"):
                ranking = index.fused([lexical, dense], mode.split("-")[1], rrf_k, minmax_weights)
                cost = costs["bm25"] + costs["dense"] + time.perf_counter() - mode_started
                if mode == "hybrid-minmax":
                    hybrid[qid] = (ranking, cost)
            else:
                ranking, cost = rankings[mode], costs[mode]
            if mode in runs:
                runs[mode][qid] = index.as_run(ranking)
                timings[mode].append(cost * 1000)
        progress(done, len(dataset.queries))
    added: list[float] = []
    encode_ms: list[float] = []  # of `added`: the query's ONNX pass for its token vectors
    if late and encoders.chunk_tokens is not None:
        tokens = chunk_tokens(index, encoders.chunk_tokens, cache_dir)
        progress = ProgressLine("late interaction")
        for done, (qid, text) in enumerate(dataset.queries.items(), start=1):
            ranking, cost = hybrid[qid]
            started = time.perf_counter()
            _, (query,) = encoders.queries.encode_with_tokens([text])
            encoded = time.perf_counter()
            head = ranking.items[:RERANK_DEPTH].tolist()
            scores = late_scores(query.vectors, head, index.document_chunks, tokens)
            reranked = Ranked.of(blend_rerank(ranking.as_list(), scores.tolist(), late_weight))
            extra = time.perf_counter() - started
            runs[LATE_INTERACTION][qid] = index.as_run(reranked)
            timings[LATE_INTERACTION].append((cost + extra) * 1000)
            added.append(extra * 1000)
            encode_ms.append((encoded - started) * 1000)
            progress(done, len(dataset.queries))
    return {
        mode: ModeResult(
            aggregate(dataset.qrels, runs[mode]),
            aggregate(dataset.qrels, runs[mode], list(RECALL_CURVE)),
            per_query(dataset.qrels, runs[mode]),
            percentiles(timings[mode]),
            late_latency(added, encode_ms) if mode == LATE_INTERACTION else {},
        )
        for mode in modes
    }
