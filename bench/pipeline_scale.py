"""1M chunks through the whole pipeline: a synthetic library in the real index format, loaded by
`followup ask` and `Answerer.load`, queried with MedQuAD's test questions.

The synthetic build is made from a built library (default: the MedQuAD library of bench/scale.py):
copies of all its articles, copy 0 with the library's ids and copy c > 0 with `~c` appended to every
article and document id (articles, documents, chunks, medications.json), until the chunk count reaches
--chunks. The last copy stops at the first article boundary at or past --chunks, so the build holds
--chunks chunks or at most one article's chunks more. Each chunk record is the library's chunk pointed
at the copied document; its row of chunk-embeddings.npy points at the library chunk's own segment row,
so sentence vectors and token vectors are the real ones, and the library build's segment files and
ONNX models are hard-linked, not copied. Dense vectors and BM25 tokens are the real ones for
copy 0; for copy c > 0 each chunk mixes, as bench/scale.py does, its own vector with another random
chunk's plus noise (normalise(own + 0.6 other + 0.5 gaussian / sqrt(d))) and the first half of its own
tokens with the second half of the other's, so the HNSW graph is not full of exact duplicates. The
build is written by the project's own writers (records.write_records, BM25Index.save, DenseIndex,
store.write_manifest and publish) and loads as any build does. It is reused when it was made from
the same library build for the same --chunks (--rebuild forces a new one): the HNSW graph is slow.

Measured: build seconds per step and peak memory; size on disk (own files, hard-linked ones);
`followup ask` cold start (median of 3 processes, each with its peak RSS); then in a fresh process:
`Answerer.load` seconds and where they go, RSS before and after (VmRSS, RssAnon, RssFile), hybrid
`answer()` p50/p99 over the questions after 10 warm-up ones (also scoped to the gold article), RSS after
the questions, bytes per chunk in memory, and the share of questions answered with passages.

    python bench/pipeline_scale.py [--library .cache/medquad-library/index] [--chunks 1000000]
        [--out .cache/synthetic-library/index] [--queries 200] [--threads 1] [--rebuild] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from followup.core.progress import ProgressLine
from followup.core.settings import ChunkingParams
from followup.core.types import Article, Chunk, Document
from followup.core.words import tokenize
from followup.evaluate.beir_data import load_beir
from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex
from followup.index.incremental import write_terms
from followup.index.layout import (
    DENSE_INDEX_FILE,
    DENSE_ROWS_FILE,
    INITIALS_FILE,
    MEDICATIONS_FILE,
    QUERY_MODEL_FILE,
    QUESTION_MODEL_FILE,
    QUESTION_MODEL_FP32_FILE,
    BuildLocation,
    build_lock,
    build_recipe,
    current_build,
    new_build,
    publish,
    read_manifest,
    write_json,
    write_manifest,
)
from followup.index.reader import read_initials
from followup.index.records import ArticleChunks, ChunkTable, DocumentTable, read_articles, write_records
from followup.index.segments import CHUNK_EMBEDDINGS_FILE, Segment, file_name, link_or_copy, segment_files
from followup.ingest.chunking import indexed_text
from machine import describe_machine, machine_line
from medquad_library import DEFAULT_BEIR, article_id

LIBRARY_INDEX = Path(".cache/medquad-library/index")
OUT = Path(".cache/synthetic-library/index")
GENERATOR = "bench/pipeline_scale.py 2"  # changes when the synthetic build's content would (2: article initials)
MIX, NOISE, SEED = 0.6, 0.5, 0  # as bench/scale.py
COPY = "~"  # copy c > 0 of id X is X~c
BLOCK = 50_000  # vectors mixed per step
COLD_RUNS = 3
BUILD_FIGURES = "synthetic-build.json"  # in --out, beside builds/
# Manifest fields of the library's build that describe its own files and corpus, not the recipe.
LIBRARY_ONLY = ("format_version", "files", "corpus_files", "article_hashes")
WARM_UP = 10
# bench/scale.py measured DenseIndex.build at 718 s for 1M vectors on these 2 cores (docs/scale-results.json):
# an estimate for the progress line only, scaled by n log n.
HNSW_SECONDS_AT_1M = 718.0


# --- measuring helpers ---------------------------------------------------------------------------------


def memory_mb() -> dict[str, float]:
    """VmRSS, RssAnon and RssFile of this process, in MB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


def percentiles_ms(samples: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "n": len(samples)}


@contextlib.contextmanager
def ticking(label: str, expected: float | None = None, every: float = 30.0) -> Iterator[None]:
    """Elapsed time on stderr during one long call that reports nothing itself (faiss releases the GIL;
    numpy's sort does too): "label: 45 s (about 700 s expected)"."""
    stop = threading.Event()
    started = time.perf_counter()
    hint = f" (about {expected:.0f} s expected)" if expected else ""
    print(f"{label}{hint}", file=sys.stderr, flush=True)

    def tick() -> None:
        while not stop.wait(every):
            print(f"{label}: {time.perf_counter() - started:.0f} s{hint}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        print(f"{label}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


class Steps:
    """Seconds per named step of the build."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 3)


# --- questions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryQuery:
    text: str
    article: str  # the article holding the first gold answer (copy 0's id)


def library_queries(beir: Path, limit: int) -> list[LibraryQuery]:
    """MedQuAD's test questions, as bench/scale.py asks them."""
    dataset = load_beir(beir, "test")
    queries = []
    for qid, text in list(dataset.queries.items())[:limit]:
        gold = sorted(d for d, grade in dataset.qrels[qid].items() if grade > 0)
        if gold:
            queries.append(LibraryQuery(text, article_id(gold[0])))
    return queries


def original_id(identifier: str) -> str:
    """The library's id of a copied article or document."""
    head, mark, tail = identifier.rpartition(COPY)
    return head if mark and tail.isdigit() else identifier


def copy_number(identifier: str) -> int:
    _, mark, tail = identifier.rpartition(COPY)
    return int(tail) if mark and tail.isdigit() else 0


def copy_id(identifier: str, copy: int) -> str:
    return identifier if copy == 0 else f"{identifier}{COPY}{copy}"


# --- the library the copies are made from --------------------------------------------------------------


@dataclass
class Library:
    location: BuildLocation
    manifest: dict[str, Any]
    articles: list[Article]
    documents: list[Document]
    chunks: list[Chunk]
    article_chunks: list[np.ndarray]  # each article's chunk ids, in the order of `articles`
    refs: np.ndarray  # (chunks, 2): each chunk's segment and row
    vectors: np.ndarray  # (chunks, dimension): each chunk's pooled vector, from its segment row
    token_counts: np.ndarray  # (chunks,): token vectors per chunk
    medications: dict[str, Any]
    initials: dict[str, str]  # each article's word initials (index/layout.py INITIALS_FILE)


def library_location(index: Path) -> tuple[BuildLocation, dict[str, Any]]:
    location = current_build(index)
    return location, dict(read_manifest(location).raw)


def read_library(index: Path) -> Library:
    location, manifest = library_location(index)
    path = location.path
    articles = list(read_articles(path).values())
    article_ids = [a.id for a in articles]
    table = DocumentTable(path)
    documents = [table[d] for d in table.ids]
    chunk_table = ChunkTable(path, table, article_ids)
    progress = ProgressLine("reading the library's chunk records")
    chunks = []
    for i in range(len(chunk_table)):
        chunks.append(chunk_table[i])
        if i % 10_000 == 0 or i + 1 == len(chunk_table):
            progress(i + 1, len(chunk_table))
    by_article = ArticleChunks(path, article_ids)
    refs = np.array(np.load(path / CHUNK_EMBEDDINGS_FILE), dtype=np.int32).reshape(-1, 2)
    segments = [Segment(path, name) for name in manifest["segments"]]
    dimension = int(manifest["embedding_dimension"])
    vectors = np.empty((len(refs), dimension), dtype=np.float32)
    token_counts = np.empty(len(refs), dtype=np.int64)
    for s, segment in enumerate(segments):
        mine = np.flatnonzero(refs[:, 0] == s)
        vectors[mine] = segment.vectors[refs[mine, 1]]
        # Each row's number of token vectors, from the segment's token-rows array.
        token_counts[mine] = np.diff(np.load(path / file_name(segment.name, "token-rows")))[refs[mine, 1]]
    medications = json.loads((path / MEDICATIONS_FILE).read_text(encoding="utf-8"))
    return Library(location, manifest, articles, documents, chunks, [by_article[a] for a in article_ids], refs,
                   vectors, token_counts, medications, read_initials(path / INITIALS_FILE))  # fmt: skip


def plan_copies(library: Library, target: int) -> list[list[int]]:
    """The articles (positions in the library) of each copy: whole copies, then the last one up to the
    first article boundary at or past `target` chunks."""
    sizes = [len(c) for c in library.article_chunks]
    if sum(sizes) == 0:
        raise SystemExit(f"{library.location.path}: the library has no chunks")
    copies: list[list[int]] = []
    total = 0
    while total < target:
        taken = []
        for a, size in enumerate(sizes):
            if total >= target:
                break
            taken.append(a)
            total += size
        copies.append(taken)
    return copies


# --- the synthetic build -------------------------------------------------------------------------------


def spec_of(library_loc: BuildLocation, library_manifest: dict[str, Any], chunks: int) -> dict[str, Any]:
    """What decides the synthetic build's content: a build with the same spec is reused."""
    return {
        "generator": GENERATOR,
        "library_index": str(library_loc.root),
        "library_build": library_loc.name,
        "library_corpus_hash": library_manifest.get("corpus_hash"),
        "chunks_requested": chunks,
        "mix": MIX,
        "noise": NOISE,
        "seed": SEED,
    }


def reusable(out: Path, spec: dict[str, Any]) -> dict[str, Any] | None:
    try:
        manifest = dict(read_manifest(current_build(out)).raw)
    except Exception:  # none yet, or unreadable: built again
        return None
    synthetic = manifest.get("synthetic", {})
    return manifest if synthetic.get("spec") == spec else None


def build_synthetic(library_index: Path, out: Path, target: int) -> dict[str, Any]:
    steps = Steps()
    with steps("read the library"):
        library = read_library(library_index)
    spec = spec_of(library.location, library.manifest, target)
    copies = plan_copies(library, target)
    n_lib = len(library.chunks)
    doc_text = {d.id: d.text for d in library.documents}
    docs_by_article: dict[str, list[Document]] = {}
    for doc in library.documents:
        docs_by_article.setdefault(doc.article_id, []).append(doc)

    with steps("chunk, document and article records"):
        articles: list[Article] = []
        documents: list[Document] = []
        chunks: list[Chunk] = []
        base_parts: list[np.ndarray] = []  # the library chunk each synthetic chunk copies, copy by copy
        progress = ProgressLine("synthetic records (copies)")
        for c, taken in enumerate(copies):
            ids = np.sort(np.concatenate([library.article_chunks[a] for a in taken])).astype(np.int64)
            base_parts.append(ids)
            for a in taken:
                article = library.articles[a]
                articles.append(article if c == 0 else replace(article, id=copy_id(article.id, c)))
                for doc in docs_by_article.get(article.id, []):
                    documents.append(doc if c == 0 else replace(doc, id=copy_id(doc.id, c),
                                                                article_id=copy_id(doc.article_id, c)))  # fmt: skip
            for i in ids.tolist():
                ch = library.chunks[i]
                chunks.append(Chunk(len(chunks), copy_id(ch.doc_id, c), copy_id(ch.article_id, c), ch.start, ch.end,
                                    ch.section, ch.sentences, ch.context))  # fmt: skip
            progress(c + 1, len(copies))
        base = np.concatenate(base_parts)
    n = len(chunks)
    print(f"{len(copies)} copies of the library's {len(library.articles):,} articles: {len(articles):,} articles, "
          f"{len(documents):,} documents, {n:,} chunks", file=sys.stderr)  # fmt: skip

    rng = np.random.default_rng(SEED)
    # The other chunk each chunk of copies c > 0 is mixed with (vector and tokens alike).
    others = [rng.integers(0, n_lib, len(ids)) if c else np.zeros(0, np.int64) for c, ids in enumerate(base_parts)]

    with steps("BM25 tokens"):
        progress = ProgressLine("tokenizing the library's chunks")
        real: list[list[str]] = []
        for i, ch in enumerate(library.chunks):
            real.append(tokenize(indexed_text(ch, doc_text[ch.doc_id])))
            if i % 5_000 == 0 or i + 1 == n_lib:
                progress(i + 1, n_lib)
        tokens: list[list[str]] = []
        progress = ProgressLine("synthetic chunk tokens")
        for c, (ids, other) in enumerate(zip(base_parts, others, strict=True)):
            if c == 0:
                tokens.extend(real[i] for i in ids.tolist())
            else:
                for i, j in zip(ids.tolist(), other.tolist(), strict=True):
                    left, right = real[i], real[j]
                    tokens.append(left[: len(left) // 2] + right[len(right) // 2 :])
            progress(len(tokens), n)
        del real

    with steps("dense vectors"):
        vectors = np.empty((n, library.vectors.shape[1]), dtype=np.float32)
        progress = ProgressLine("synthetic chunk vectors")
        start = 0
        for c, (ids, other) in enumerate(zip(base_parts, others, strict=True)):
            if c == 0:
                vectors[: len(ids)] = library.vectors[ids]
            else:
                for lo in range(0, len(ids), BLOCK):
                    own, mixed_with = ids[lo : lo + BLOCK], other[lo : lo + BLOCK]
                    noise = rng.standard_normal((len(own), vectors.shape[1]), dtype=np.float32)
                    mixed = library.vectors[own] + MIX * library.vectors[mixed_with] + NOISE * noise / math.sqrt(
                        vectors.shape[1])  # fmt: skip
                    vectors[start + lo : start + lo + len(own)] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
            start += len(ids)
            progress(start, n)

    out.mkdir(parents=True, exist_ok=True)
    with build_lock(out), new_build(out) as work:
        with steps("write records"), ticking(f"write_records: {n:,} chunks, {len(documents):,} documents"):
            write_records(work, articles, documents, chunks)
        sentences, n_documents = sum(len(ch.sentences) for ch in chunks), len(documents)
        del chunks, documents
        with steps("BM25 build"), ticking(f"BM25 postings of {n:,} chunks"):
            bm25 = BM25Index(tokens)
        postings_mb = bm25.nbytes / 1e6
        with steps("BM25 save"):
            bm25.save(work)
        with steps("BM25 terms file (for a next build)"):
            write_terms(work, tokens)
        del bm25, tokens
        gc.collect()

        expected = HNSW_SECONDS_AT_1M * (n / 1e6) * math.log(n) / math.log(1e6)
        with steps("dense index build"), ticking(f"DenseIndex.build over {n:,} vectors", expected):
            dense = DenseIndex.build(vectors)
        with steps("dense index save"):
            dense.save(work / DENSE_INDEX_FILE)
            np.save(work / DENSE_ROWS_FILE, dense.row_chunks)
        info = {**asdict(dense.info), "rows": len(dense.row_chunks)}
        del dense, vectors
        gc.collect()

        with steps("embedding rows and links"):
            np.save(work / CHUNK_EMBEDDINGS_FILE, library.refs[base])
            known: dict[str, dict[str, Any]] = {}
            for name in [*(f for s in library.manifest["segments"] for f in segment_files(s)), QUERY_MODEL_FILE,
                         QUESTION_MODEL_FILE, QUESTION_MODEL_FP32_FILE]:  # fmt: skip
                link_or_copy(library.location.path / name, work / name)
                known[name] = library.manifest["files"][name]

        with steps("medications"):
            names = library.medications["names_by_article"]
            by_article = {copy_id(a, c): names[a] for c, taken in enumerate(copies) for a in
                          (library.articles[p].id for p in taken) if a in names}  # fmt: skip
            write_json(work / MEDICATIONS_FILE, {"lexicon": library.medications["lexicon"],
                                                 "names_by_article": by_article})  # fmt: skip
        with steps("article initials"):  # a copy's words are its article's
            write_json(work / INITIALS_FILE, {copy_id(a, c): library.initials[a] for c, taken in enumerate(copies)
                                              for a in (library.articles[p].id for p in taken)})  # fmt: skip

        lib = library.manifest
        recipe = build_recipe(ChunkingParams(**lib["chunking"]))
        differs = [k for k, v in recipe.items() if lib.get(k) != v]
        if differs:
            print(f"warning: the library's recipe differs from this followup's in {differs}", file=sys.stderr)
        corpus_hash = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        counts = {
            "articles": len(articles),
            "documents": n_documents,
            "chunks": n,
            "sentences": sentences,
            "tokens": int(library.token_counts[base].sum()),
        }
        manifest = {
            # The library's recipe and versions (model, layout, tokenizer): what a real build records.
            **{k: v for k, v in lib.items() if k not in LIBRARY_ONLY},
            "corpus_hash": corpus_hash,
            "corpus_files": {},  # no corpus: nothing for a next build to reuse by file
            "article_hashes": {},
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "counts": counts,
            "segments": lib["segments"],
            "embedded": 0,
            "embedding_dimension": int(library.vectors.shape[1]),
            "dense_index": info,
            "synthetic": {
                "spec": spec,
                "copies": len(copies),
                "library_chunks": n_lib,
                "bm25_postings_mb": postings_mb,
                "build_seconds": steps.seconds,
                "build_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            },
        }
        with steps("manifest (sha256 of own files)"):
            write_manifest(work, manifest, known)
        with steps("publish (fsync)"):
            location = publish(out, work, corpus_hash)
    print(f"synthetic build published: {location.path}", file=sys.stderr)
    figures = {"build": location.name, "steps": steps.seconds,
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip
    # Beside builds/ (readers ignore it): the figures of the whole build, its last two steps included,
    # in order (the manifest sorts its keys), for a later run that reuses the build.
    (out / BUILD_FIGURES).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


def recorded_figures(out: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The figures of the reused build: from BUILD_FIGURES when it is that build's, else the manifest's."""
    name = current_build(out).name
    with contextlib.suppress(OSError, ValueError):
        figures: dict[str, Any] = json.loads((out / BUILD_FIGURES).read_text(encoding="utf-8"))
        if figures.get("build") == name:
            return figures
    made = manifest["synthetic"]
    return {"build": name, "steps": made["build_seconds"], "peak_rss_mb": made["build_peak_rss_mb"]}


def disk_usage(out: Path, library_index: Path) -> dict[str, Any]:
    """Bytes of the build's own files and of the files it shares (hard links) with the library's build."""
    location = current_build(out)
    library = current_build(library_index).path
    shared = {(p.stat().st_dev, p.stat().st_ino) for p in library.iterdir() if p.is_file()}
    own: dict[str, int] = {}
    linked: dict[str, int] = {}
    for path in location.path.iterdir():
        if path.is_file():
            stat = path.stat()
            (linked if (stat.st_dev, stat.st_ino) in shared else own)[path.name] = stat.st_size
    largest = dict(sorted(own.items(), key=lambda kv: -kv[1])[:6])
    return {
        "build": str(location.path),
        "own_mb": sum(own.values()) / 1e6,
        "linked_mb": sum(linked.values()) / 1e6,
        "own_files": len(own),
        "linked_files": len(linked),
        "largest_own_mb": {k: v / 1e6 for k, v in largest.items()},
    }


# --- followup ask as a process -------------------------------------------------------------------------


def cold_starts(out: Path, question: str, runs: int = COLD_RUNS) -> dict[str, Any]:
    """`followup ask QUESTION --index OUT --no-stale-check`: wall time and peak RSS of each process.
    The peak through GNU time where it is installed: a child's own ru_maxrss (os.wait4) starts from
    this process's size at the fork (Linux carries it across exec), which after a build here is GBs."""
    command = [sys.executable, "-m", "followup.cli", "ask", question, "--index", str(out), "--no-stale-check"]
    gnu_time = Path("/usr/bin/time")
    if gnu_time.is_file():
        command = [str(gnu_time), "-f", "maxrss-kb %M", *command]
    seconds, peaks = [], []
    first_lines = ""
    for _ in range(runs):
        with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
            started = time.perf_counter()
            process = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True)
            _, status, usage = os.wait4(process.pid, 0)
            seconds.append(time.perf_counter() - started)
            process.returncode = os.waitstatus_to_exitcode(status)
            stdout.seek(0)
            stderr.seek(0)
            errors = stderr.read()
            if process.returncode != 0:
                raise SystemExit(f"followup ask failed ({process.returncode}):\n{errors[-2000:]}")
            reported = [line.split()[1] for line in errors.splitlines() if line.startswith("maxrss-kb ")]
            peaks.append(int(reported[-1]) / 1024 if reported else usage.ru_maxrss / 1024)
            first_lines = "\n".join(stdout.read().splitlines()[:4])
    return {
        "command": " ".join(["followup", "ask", json.dumps(question), "--index", str(out), "--no-stale-check"]),
        "median_seconds": statistics.median(seconds),
        "seconds": seconds,
        "peak_rss_mb": max(peaks),
        "peak_rss_mb_each": peaks,
        "output_head": first_lines,
    }


def child(mode: str, out: Path, beir: Path, queries: int, threads: int) -> dict[str, Any]:
    """Run `mode` in a fresh process, so its memory is not this one's (which built the index)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--out", str(out),
               "--beir", str(beir), "--queries", str(queries), "--threads", str(threads)]  # fmt: skip
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


# --- in a fresh process: load and answer ---------------------------------------------------------------


def measure_answers(out: Path, beir: Path, limit: int, threads: int) -> dict[str, Any]:
    import onnxruntime  # noqa: F401  # imported before the first RSS reading: the libraries are not the index

    from followup.answerer import Answerer
    from followup.core.types import AskRequest
    from followup.embed.encoder import OnnxQueryEncoder  # noqa: F401

    queries = library_queries(beir, limit)
    gc.collect()
    before = memory_mb()
    started = time.perf_counter()
    answerer = Answerer.load(out, threads=threads)
    load_seconds = time.perf_counter() - started
    after_load = memory_mb()
    index = answerer.index
    chunks = len(index.chunks)

    started = time.perf_counter()
    answerer.answer(AskRequest(queries[0].text))
    first_answer = time.perf_counter() - started
    for query in queries[:WARM_UP]:
        answerer.answer(AskRequest(query.text))
    samples: list[float] = []
    answered = with_passages = gold_top3 = from_copies = 0
    slowest: list[tuple[float, str]] = []
    progress = ProgressLine("hybrid questions")
    for n, query in enumerate(queries):
        started = time.perf_counter()
        answer = answerer.answer(AskRequest(query.text))
        samples.append(time.perf_counter() - started)
        slowest.append((samples[-1], query.text))
        answered += answer.answered
        with_passages += answer.answered and bool(answer.passages)
        articles = [index.documents[p.source_id].article_id for p in answer.passages[:3]]
        gold_top3 += any(original_id(a) == query.article for a in articles)
        from_copies += bool(articles) and copy_number(articles[0]) > 0
        progress(n + 1, len(queries))
    after_queries = memory_mb()
    scoped_samples = []
    for query in queries:
        target = query.article if query.article in index.articles else None
        if target is None:
            continue
        started = time.perf_counter()
        answerer.answer(AskRequest(query.text, article_id=target))
        scoped_samples.append(time.perf_counter() - started)
    slowest.sort(reverse=True)
    return {
        "threads": threads,
        "chunks": chunks,
        "articles": len(index.articles),
        "load_seconds": load_seconds,
        "first_answer_seconds": first_answer,
        "rss_mb": {"before_load": before, "after_load": after_load, "after_queries": after_queries},
        "bytes_per_chunk_in_memory": {
            key: (after_load[key] - before[key]) * 1e6 / max(1, chunks) for key in ("VmRSS", "RssAnon", "RssFile")
        },
        "bytes_per_chunk_after_queries": (after_queries["VmRSS"] - before["VmRSS"]) * 1e6 / max(1, chunks),
        "hybrid": percentiles_ms(samples),
        "hybrid_scoped_to_gold_article": percentiles_ms(scoped_samples) if scoped_samples else None,
        "slowest_ms": [(round(s * 1000, 1), q) for s, q in slowest[:5]],
        "questions": len(queries),
        "answered_share": answered / len(queries),
        "answered_with_passages_share": with_passages / len(queries),
        "gold_article_in_top3_passages_share": gold_top3 / len(queries),
        "top_passage_from_a_copy_share": from_copies / max(1, with_passages),
    }


def measure_load(out: Path, threads: int) -> dict[str, Any]:
    """Where `Answerer.load` spends its time and memory: the whole load_index, the query encoder and
    Answerer's own set-up, each with the RSS it adds; then load_index's steps one by one, as
    index/reader.py runs them (timed only: the index loaded first is still held)."""
    import onnxruntime  # noqa: F401

    from followup.answerer import Answerer
    from followup.embed.encoder import OnnxQueryEncoder
    from followup.index.reader import load_index
    from followup.index.segments import ChunkEmbeddings

    steps = Steps()
    growth: dict[str, float] = {}

    @contextlib.contextmanager
    def step(name: str) -> Iterator[None]:
        before = memory_mb()["VmRSS"]
        with steps(name):
            yield
        growth[name] = memory_mb()["VmRSS"] - before

    gc.collect()
    with step("load_index, whole"):
        index = load_index(out)
    assert index.query_model is not None
    with step("OnnxQueryEncoder"):
        encoder = OnnxQueryEncoder(index.query_model, threads)
    with step("Answerer(...) (medication mentions)"):
        Answerer(index, encoder)
    with steps("current_build + read_manifest (stat each file)"):
        location = current_build(out)
        manifest = read_manifest(location)
    path = location.path
    with steps("articles.json (read_articles)"):
        article_ids = list(read_articles(path))
    with steps("DocumentTable (document-ids.json)"):
        documents = DocumentTable(path)
    with steps("ChunkTable (maps)"):
        ChunkTable(path, documents, article_ids)
    with steps("BM25Index.open (maps)"):
        BM25Index.open(path)
    with steps("DenseIndex.load (faiss.read_index)"):
        DenseIndex.load(path / DENSE_INDEX_FILE, np.load(path / DENSE_ROWS_FILE))
    with steps("ChunkEmbeddings (maps, checks refs)"):
        ChunkEmbeddings(path, manifest.raw["segments"])
    with steps("ArticleChunks"):
        ArticleChunks(path, article_ids)
    with steps("medications.json"):
        json.loads((path / MEDICATIONS_FILE).read_text(encoding="utf-8"))
    return {"seconds": steps.seconds, "rss_growth_mb": growth}


# --- the report ----------------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    b, d, cold, warm = report["build"], report["disk"], report["cold_start"], report["in_process"]
    print(f"machine: {report['machine']}")
    print(f"synthetic library: {report['chunks']:,} chunks, {report['articles']:,} articles, "
          f"{report['documents']:,} documents ({report['copies']} copies of {report['library']}); "
          f"{report['dense_index']} dense index")  # fmt: skip
    reused = " (reused: the build's figures are from when it was made)" if b["reused"] else ""
    print(f"\nbuild{reused}: {sum(b['steps'].values()):.1f} s, peak RSS {b['peak_rss_mb']:.0f} MB")
    for step, seconds in b["steps"].items():
        print(f"  {step:36} {seconds:8.1f} s")
    print(f"\non disk: {d['own_mb']:.0f} MB own ({d['own_files']} files), {d['linked_mb']:.0f} MB hard-linked "
          f"from the library's build ({d['linked_files']} files)")  # fmt: skip
    for name, mb in d["largest_own_mb"].items():
        print(f"  {name:36} {mb:8.1f} MB")
    each = ", ".join(f"{s:.2f}" for s in cold["seconds"])
    print(f"\n{cold['command']}\n  cold start median {cold['median_seconds']:.2f} s ({each}); "
          f"peak RSS {cold['peak_rss_mb']:.0f} MB")  # fmt: skip
    load = report["load_breakdown"]
    print(f"\nAnswerer.load (fresh process, threads={warm['threads']}): {warm['load_seconds']:.2f} s; where it goes:")
    for step, seconds in load["seconds"].items():
        grown = load["rss_growth_mb"].get(step)
        print(f"  {step:48} {seconds:7.3f} s" + (f"  +{grown:.0f} MB RSS" if grown is not None else ""))
    rss = warm["rss_mb"]
    for when in ("before_load", "after_load", "after_queries"):
        m = rss[when]
        print(f"  RSS {when:14} VmRSS {m['VmRSS']:7.0f} MB  RssAnon {m['RssAnon']:7.0f} MB  "
              f"RssFile {m['RssFile']:7.0f} MB")  # fmt: skip
    per = warm["bytes_per_chunk_in_memory"]
    print(f"  per chunk after load: {per['VmRSS']:.0f} B (anon {per['RssAnon']:.0f}, file {per['RssFile']:.0f}); "
          f"after the questions {warm['bytes_per_chunk_after_queries']:.0f} B; the index alone (load_index's growth) "
          f"{report['index_bytes_per_chunk_in_memory']:.0f} B")  # fmt: skip
    h, s = warm["hybrid"], warm["hybrid_scoped_to_gold_article"]
    print(f"\nhybrid answer(), {h['n']} MedQuAD test questions after {WARM_UP} warm-up: p50 {h['p50_ms']:.1f} ms, "
          f"p99 {h['p99_ms']:.1f} ms (the first after load: {warm['first_answer_seconds'] * 1000:.0f} ms)")  # fmt: skip
    if s:
        print(f"  scoped to the gold article: p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms")
    print("  slowest: " + "; ".join(f"{ms} ms {q!r}" for ms, q in warm["slowest_ms"]))
    print(f"  answered {warm['answered_share']:.3f}, with passages {warm['answered_with_passages_share']:.3f}; "
          f"gold article (any copy) in the first 3 passages {warm['gold_article_in_top3_passages_share']:.3f}; "
          f"first passage from a copy c > 0: {warm['top_passage_from_a_copy_share']:.3f}")  # fmt: skip
    targets = report["targets"]
    print("\ntargets: " + "; ".join(f"{k} {'met' if v['met'] else 'MISSED'} ({v['measured']:.2f} vs {v['limit']})"
                                   for k, v in targets.items()))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", type=Path, default=LIBRARY_INDEX, help="the built library's index directory")
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=OUT, help="index directory of the synthetic build")
    parser.add_argument("--queries", type=int, default=200, help="MedQuAD test questions asked")
    parser.add_argument("--beir", type=Path, default=DEFAULT_BEIR, help="MedQuAD in BEIR format (its questions)")
    parser.add_argument("--threads", type=int, default=1, help="query encoder threads in process (the CLI uses all)")
    parser.add_argument("--rebuild", action="store_true", help="build again even if a matching build exists")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--child", choices=("answers", "load"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "answers":
        print(json.dumps(measure_answers(args.out, args.beir, args.queries, args.threads)))
        return
    if args.child == "load":
        print(json.dumps(measure_load(args.out, args.threads)))
        return

    library_loc, library_manifest = library_location(args.library)
    spec = spec_of(library_loc, library_manifest, args.chunks)
    existing = None if args.rebuild else reusable(args.out, spec)
    if existing is not None:
        print(f"reusing {current_build(args.out).path} (--rebuild builds it again)", file=sys.stderr)
        build = {"reused": True, **recorded_figures(args.out, existing)}
    else:
        build = {"reused": False, **build_synthetic(args.library, args.out, args.chunks)}
    gc.collect()
    manifest = read_manifest(current_build(args.out)).raw
    questions = library_queries(args.beir, args.queries)
    print("cold starts of followup ask", file=sys.stderr)
    cold = cold_starts(args.out, questions[0].text)
    print("loading in a fresh process, step by step", file=sys.stderr)
    load = child("load", args.out, args.beir, args.queries, args.threads)
    print("loading and answering in a fresh process", file=sys.stderr)
    warm = child("answers", args.out, args.beir, args.queries, args.threads)
    rss_gb = max(cold["peak_rss_mb"], warm["rss_mb"]["after_queries"]["VmHWM"]) / 1024
    p50 = warm["hybrid"]["p50_ms"]
    index_growth = load["rss_growth_mb"]["load_index, whole"]
    report: dict[str, Any] = {
        "machine": machine_line(describe_machine()),  # the CPU and the vector instructions it has
        "library": f"{library_loc.path} ({library_manifest['counts']['chunks']:,} chunks)",
        "chunks_requested": args.chunks,
        "chunks": manifest["counts"]["chunks"],
        "articles": manifest["counts"]["articles"],
        "documents": manifest["counts"]["documents"],
        "sentences": manifest["counts"]["sentences"],
        "copies": manifest["synthetic"]["copies"],
        "dense_index": manifest["dense_index"]["kind"],
        "build": build,
        "disk": disk_usage(args.out, args.library),
        "cold_start": cold,
        "load_breakdown": load,
        "index_bytes_per_chunk_in_memory": index_growth * 1e6 / manifest["counts"]["chunks"],
        "in_process": warm,
        "targets": {
            "cold start <= 5 s": {"measured": cold["median_seconds"], "limit": 5, "met": cold["median_seconds"] <= 5},
            "hybrid p50 <= 40 ms": {"measured": p50, "limit": 40, "met": p50 <= 40},
            "peak RSS <= 6 GB": {"measured": rss_gb, "limit": 6, "met": rss_gb <= 6},
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print_report(report)


if __name__ == "__main__":
    main()
