"""Retrieval accuracy on a BEIR benchmark, every mode side by side, scored at document level. The
benchmark's chunks are searched through the retriever seam `followup ask` searches through
(index/retrievers.Retriever): the embedded retriever, or a server's."""

from __future__ import annotations

import functools
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
from followup.evaluate.embedding_cache import EncodeFn, cached_embeddings
from followup.evaluate.metrics import RECALL_CURVE, aggregate, per_query, percentiles
from followup.evaluate.token_cache import EncodeTokensFn, cached_tokens, token_cache_key
from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex
from followup.index.retrievers import EmbeddedRetriever, Ranking, Retriever, SearchScope
from followup.ingest.chunking import chunk_documents, indexed_text
from followup.retrieve.hybrid import fuse


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
# Chunks an embedded search returns first, deeper only while they do not decide the CANDIDATES documents:
# NFCorpus's dev queries needed 2,354 (p50) to 2,854 chunks to cover 1,000 documents. Every one of its
# 13,239 chunks a search cost 9 ms (p50) a query in building and scattering the ranking, against 1 ms
# for the product itself.
FIRST_DEPTH = 4 * CANDIDATES
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
class ChunkSearches:
    """What searches a benchmark's chunks, within which scope, and how many chunks a search returns:
    `first_depth`, then deeper up to `depth` while they do not decide the document ranking."""

    retriever: Retriever
    depth: int
    first_depth: int
    scope: SearchScope | None = None

    @classmethod
    def embedded(cls, bm25: BM25Index, vectors: np.ndarray) -> ChunkSearches:
        """The embedded retriever over every chunk, searched as `followup ask` searches a library: BM25's
        top k (BM25Index.top) and faiss's exact flat index (DenseIndex), however many chunks. faiss adds
        a product up in another order than numpy (1.8% of 13,239 random scores differed in the last
        bit): a near tie can swap against the numpy product this path once scored, and the document
        rankings are those `ask` would make (NFCorpus test's nDCG@10: docs/evaluation.md)."""
        dense = DenseIndex.build(vectors, flat_limit=len(vectors))
        return cls(EmbeddedRetriever(bm25, dense), len(vectors), min(FIRST_DEPTH, len(vectors)))

    @classmethod
    def on_server(cls, retriever: Retriever, chunks: int) -> ChunkSearches:
        """A server holding the same chunks (a Milvus collection), searched once as deep as it goes: every
        chunk of NFCorpus (13,239), MedQuAD's best third."""
        depth = min(SERVER_DEPTH, chunks)
        return cls(retriever, depth, depth)


@dataclass(frozen=True)
class BenchmarkIndex:
    """A benchmark corpus chunked as the project's corpus is, with BM25 and (cached) chunk embeddings;
    rankings are per document, a document scoring as its best chunk."""

    ids: list[str]
    chunk_document: np.ndarray
    bm25: BM25Index
    vectors: np.ndarray
    label: str  # names the cache files: benchmark and chunking
    chunk_texts: list[str]  # what BM25 and the encoders saw: indexed_text, context + "\n" + chunk text
    document_chunks: list[np.ndarray]  # each document's chunk ids, in order
    searches: ChunkSearches

    @functools.cached_property
    def chunk_counts(self) -> np.ndarray:
        """Each document's number of chunks."""
        return np.bincount(self.chunk_document, minlength=len(self.ids))

    def lexical(self, text: str) -> Ranking:
        tokens, searches = tokenize(text), self.searches
        # Chunks a search does not return score 0, as BM25 scores them.
        return self._documents(lambda k: searches.retriever.lexical(tokens, k, searches.scope), 0.0)

    def dense(self, query_vector: np.ndarray) -> Ranking:
        searches = self.searches
        return self._documents(lambda k: searches.retriever.semantic(query_vector, k, searches.scope), -np.inf)

    def _documents(self, search: Callable[[int], Ranking], missing: float) -> Ranking:
        """The CANDIDATES best documents, each scoring as its best chunk, from the best chunks `search`
        returns. As the documents of all chunks would rank: a document left out of the chunks scores at
        most as the last chunk returned, so once the last document kept scores above it, or the search
        returned all it scores, more chunks change nothing; else the search is asked again, deeper."""
        depth = self.searches.first_depth
        while True:
            found = search(depth)
            documents = best_documents(found, self.chunk_document, self.chunk_counts, CANDIDATES, missing)
            deepest = len(found) < depth or depth >= self.searches.depth
            if deepest or not documents or documents[-1][1] > np.float32(found[-1][1]):
                return documents
            depth = min(4 * depth, self.searches.depth)

    def on_server(self, retriever: Retriever) -> BenchmarkIndex:
        """The same index, searched on a server that holds its chunks."""
        return replace(self, searches=ChunkSearches.on_server(retriever, len(self.chunk_document)))

    def as_run(self, ranking: Sequence[tuple[int, float]]) -> dict[str, float]:
        """The top DEPTH documents with rank-derived scores, so trec_eval keeps our order (it breaks
        score ties by document id)."""
        return {self.ids[i]: float(DEPTH - n) for n, (i, _) in enumerate(ranking[:DEPTH])}


def best_documents(
    found: Ranking, chunk_document: np.ndarray, chunk_counts: np.ndarray, k: int, missing: float
) -> Ranking:
    """The k best documents, best first, ties by smaller document: each scores as its best chunk among
    `found` (float32, as scores are kept), and at least `missing` while some chunk of it is not found (a
    document without chunks: -inf). From the chunks found, without a score for every chunk: what
    top_scores(best_chunk_per_document(the chunks' scores, missing where not found), k) ranks."""
    chunks = np.fromiter((c for c, _ in found), dtype=np.int64, count=len(found))
    scores = np.fromiter((s for _, s in found), dtype=np.float32, count=len(found))
    best = np.full(len(chunk_counts), -np.inf, dtype=np.float32)
    np.maximum.at(best, chunk_document[chunks], scores)
    unfound = np.bincount(chunk_document[chunks], minlength=len(chunk_counts)) < chunk_counts
    best[unfound] = np.maximum(best[unfound], np.float32(missing))
    candidates = np.arange(best.size)
    if best.size > k:  # ties with the k-th best stay until the sort, so the cut is by smaller document too
        candidates = np.flatnonzero(best >= np.partition(best, best.size - k)[best.size - k])
    order = candidates[np.lexsort((candidates, -best[candidates]))][:k]
    return list(zip(order.tolist(), best[order].tolist(), strict=True))


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
        searches=ChunkSearches.embedded(bm25, vectors),
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
    hybrid: dict[str, tuple[Ranking, float]] = {}  # the rerank's input and its cost
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
                ranking = fuse([lexical, dense], mode.split("-")[1], rrf_k, minmax_weights)
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
            head = [i for i, _ in ranking[:RERANK_DEPTH]]
            scores = late_scores(query.vectors, head, index.document_chunks, tokens)
            reranked = blend_rerank(ranking, scores.tolist(), late_weight)
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
