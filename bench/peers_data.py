"""What bench/peers_compare.py hands each stack, and how each stack's half answers: one folder of the same
chunks, chunk vectors and query vectors (written once by the project's code), read by every side; each
side's rankings and latencies, written back as one JSON object.

Imported by every side, in its own venv, so it needs numpy and nothing else (never followup).

The folder:
    chunks.json         {"documents": [id, ...], "chunk_document": [int, ...], "chunk_texts": [str, ...]}
    chunk_vectors.npy   float32 (chunks, dimension), L2-normalised: chunk i's vector
    queries.json        {"ids": [id, ...], "texts": [str, ...]}
    query_vectors.npy   float32 (queries, dimension), L2-normalised: query i's vector
    settings.json       {"depth": 100, "candidates": 1000, "weights": [bm25, dense], "warmup": 10,
                         "stopwords": [...], "token_pattern": "..."}
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# One thread for every stack's native libraries: set in each side's environment before numpy, faiss or
# torch loads (peers_compare.py passes them down), so no stack gets more cores than another.
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@dataclass(frozen=True)
class PeerSettings:
    depth: int  # documents kept per query: R@100 is the deepest measure
    candidates: int  # chunks each of the floor's retrievers returns before fusion
    weights: tuple[float, float]  # min-max fusion weights (bm25, dense): followup's defaults
    warmup: int  # untimed queries before timing
    stopwords: tuple[str, ...]  # followup's BM25 stopwords, for the floor's tokenizer
    token_pattern: str  # followup's BM25 word pattern (on lower-cased text)


@dataclass(frozen=True)
class PeerData:
    documents: list[str]
    chunk_document: np.ndarray  # int64, chunk i's document (index into documents)
    chunk_texts: list[str]
    chunk_vectors: np.ndarray
    query_ids: list[str]
    query_texts: list[str]
    query_vectors: np.ndarray
    settings: PeerSettings


def write_peer_data(folder: Path, data: PeerData) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    chunks = {"documents": data.documents, "chunk_document": data.chunk_document.tolist(),
              "chunk_texts": data.chunk_texts}  # fmt: skip
    (folder / "chunks.json").write_text(json.dumps(chunks), encoding="utf-8")
    np.save(folder / "chunk_vectors.npy", np.ascontiguousarray(data.chunk_vectors, dtype=np.float32))
    queries = {"ids": data.query_ids, "texts": data.query_texts}
    (folder / "queries.json").write_text(json.dumps(queries), encoding="utf-8")
    np.save(folder / "query_vectors.npy", np.ascontiguousarray(data.query_vectors, dtype=np.float32))
    settings = data.settings
    (folder / "settings.json").write_text(json.dumps({
        "depth": settings.depth, "candidates": settings.candidates, "weights": list(settings.weights),
        "warmup": settings.warmup, "stopwords": list(settings.stopwords), "token_pattern": settings.token_pattern,
    }), encoding="utf-8")  # fmt: skip


def read_peer_data(folder: Path) -> PeerData:
    """The folder's contents, refused with the file named when its parts disagree."""
    chunks = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
    queries = json.loads((folder / "queries.json").read_text(encoding="utf-8"))
    raw = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    chunk_vectors = np.load(folder / "chunk_vectors.npy")
    query_vectors = np.load(folder / "query_vectors.npy")
    chunk_document = np.asarray(chunks["chunk_document"], dtype=np.int64)
    if not len(chunks["chunk_texts"]) == len(chunk_document) == len(chunk_vectors):
        raise ValueError(f"{folder}: chunks.json has {len(chunks['chunk_texts'])} texts and "
                         f"{len(chunk_document)} documents, chunk_vectors.npy {len(chunk_vectors)} rows")  # fmt: skip
    if len(chunk_document) and not 0 <= int(chunk_document.min()) <= int(chunk_document.max()) < len(
        chunks["documents"]
    ):
        raise ValueError(f"{folder}/chunks.json: a chunk_document outside its {len(chunks['documents'])} documents")
    if not len(queries["ids"]) == len(queries["texts"]) == len(query_vectors):
        raise ValueError(f"{folder}: queries.json has {len(queries['ids'])} ids and {len(queries['texts'])} "
                         f"texts, query_vectors.npy {len(query_vectors)} rows")  # fmt: skip
    if query_vectors.shape[1:] != chunk_vectors.shape[1:]:
        raise ValueError(f"{folder}: query vectors {query_vectors.shape[1:]} and chunk vectors "
                         f"{chunk_vectors.shape[1:]} differ in dimension")  # fmt: skip
    weights = tuple(float(w) for w in raw["weights"])
    if len(weights) != 2:
        raise ValueError(f"{folder}/settings.json: weights must be [bm25, dense], got {raw['weights']!r}")
    settings = PeerSettings(int(raw["depth"]), int(raw["candidates"]), (weights[0], weights[1]), int(raw["warmup"]),
                            tuple(raw["stopwords"]), str(raw["token_pattern"]))  # fmt: skip
    chunk_vectors, query_vectors = (np.ascontiguousarray(v, dtype=np.float32) for v in (chunk_vectors, query_vectors))
    return PeerData(list(chunks["documents"]), chunk_document, list(chunks["chunk_texts"]), chunk_vectors,
                    list(queries["ids"]), list(queries["texts"]), query_vectors, settings)  # fmt: skip


Search = Callable[[int], Sequence[str]]  # query number -> document ids, best first


def timed_queries(
    search: Search, queries: int, warmup: int, parts: dict[str, list[float]] | None = None
) -> tuple[list[list[str]], list[float]]:
    """Each query's ranking and its wall time in ms, one query at a time, after `warmup` untimed queries.
    `parts`: the search's own per-part samples, cleared after the warm-up so they cover the timed queries."""
    for number in range(min(warmup, queries)):
        search(number)
    for samples in (parts or {}).values():
        samples.clear()
    rankings: list[list[str]] = []
    latency_ms: list[float] = []
    for number in range(queries):
        begun = time.perf_counter()
        ranking = search(number)
        latency_ms.append((time.perf_counter() - begun) * 1000)
        rankings.append(list(ranking))
    return rankings, latency_ms


def _status_mb(field: str) -> float | None:
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text(encoding="utf-8").splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024  # kB
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory so far: VmHWM, which starts afresh when the side's interpreter is
    exec'd. Not getrusage's ru_maxrss, which Linux carries across exec from the parent whose memory the
    child was spawned sharing, so every side would report the orchestrator's peak."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB


def best_chunk_documents(chunk_ids: Sequence[int], chunk_document: np.ndarray, depth: int) -> list[int]:
    """Documents in the order of their best chunk in a chunk ranking (best first), at most `depth` (MaxP)."""
    seen: dict[int, None] = {}
    for chunk in chunk_ids:
        seen.setdefault(int(chunk_document[chunk]), None)
        if len(seen) == depth:
            break
    return list(seen)


def write_side_report(path: Path, report: dict[str, Any]) -> None:
    """The side's report with its peak memory and its memory at the end (what its index holds once built)."""
    memory = {"peak_rss_mb": peak_rss_mb(), "final_rss_mb": _status_mb("VmRSS")}
    path.write_text(json.dumps({**report, **memory}) + "\n", encoding="utf-8")
