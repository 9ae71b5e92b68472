"""followup at library scale, in one run.

1. A real library: MedQuAD's 15,809 answers as 5,401 articles (bench/medquad_library.py), indexed by
   `followup index` (time, peak memory, texts embedded, size on disk), then asked MedQuAD's test
   questions through the whole answer pipeline: `followup ask` cold start, warm p50/p99 per mode, and
   scoped to the gold answer's article; then one article is changed and the index rebuilt (time, texts
   embedded), and changed back.
2. Synthetic corpora of 10k, 100k and 1M chunks made from that library's real chunk vectors and tokens
   (beyond its 50,532 chunks, each new chunk mixes two real ones plus noise), through the retrieval code
   `followup ask` runs (search.rank_chunks): BM25, dense (the index kind the build would choose, and
   exact flat search for reference), hybrid, and hybrid scoped to one 10-chunk article; recall@10 of
   the chosen dense index against exact search; bytes per chunk; a PNG of latency against size.

    python bench/scale.py [--sizes 10000 100000 1000000] [--queries 200] [--skip-library] [--json]

The library's embeddings are kept in .cache/medquad-library/index/embeddings, so only the first run
embeds (17 minutes on these 2 cores, in bfloat16: 320,017 chunk and sentence texts); `--cold`
deletes them first.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from followup.core.progress import ProgressLine
from followup.core.settings import DEFAULT_RETRIEVAL, MODES
from followup.core.words import tokenize
from followup.evaluate.beir_data import load_beir
from followup.index.bm25 import BM25Index
from followup.index.dense import FLAT_LIMIT, DenseIndex
from followup.index.layout import current_build, read_manifest
from followup.index.retrievers import EmbeddedRetriever, SearchScope
from followup.ingest.chunking import indexed_text
from followup.retrieve.hybrid import rank_chunks
from machine import describe_machine, machine_line
from medquad_library import DEFAULT_BEIR, article_id, write_library

LIBRARY = Path(".cache/medquad-library")
CHART = Path("docs/scale.png")
RESULTS = Path("docs/scale-results.json")  # tests/unit/test_published_figures.py checks the README against it
ARTICLE_CHUNKS = 10  # a synthetic article's size, for scoped queries
MIX, NOISE = 0.6, 0.5  # a synthetic vector: normalise(real_a + MIX * real_b + NOISE * gaussian / sqrt(d))


def _commit() -> str:
    """The code measured: its commit, marked when the work tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (" (modified)" if git("status", "--porcelain", "--", "src") else "")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentiles_ms(samples: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def timed(run: Callable[[], object], repeat: int = 1) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return samples


def followup(*args: str) -> tuple[float, str]:
    """Run the CLI; its stderr (progress lines) is passed through and returned."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "followup.cli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        sys.stderr.write(f"  {line}")
        lines.append(line)
    if process.wait() != 0:
        raise SystemExit(f"followup {args[0]} failed:\n{''.join(lines)[-2000:]}")
    return time.perf_counter() - started, "".join(lines)


def embedded_count(stderr: str) -> int:
    """Chunks the build embedded (each with its sentences, alone and in context)."""
    found = re.search(r"(\d+) chunk texts to embed", stderr)
    return int(found.group(1)) if found else 0


def rss_parts_mb() -> dict[str, float]:
    """The process's own memory (RssAnon) and the pages of mapped files it holds (RssFile), which the
    kernel can drop and share between processes."""
    parts = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("RssAnon", "RssFile"):
            parts[key] = int(line.split()[1]) / 1024
    return parts


# --- 1. the MedQuAD library through the whole pipeline ------------------------------------------------


def library_build(corpus: Path, index: Path) -> dict[str, Any]:
    seconds, stderr = followup("index", "--corpus", str(corpus), "--index", str(index))
    location = current_build(index)
    manifest = read_manifest(location).raw
    size = sum(p.stat().st_size for p in location.path.iterdir() if p.is_file())
    segments = sum(p.stat().st_size for p in location.path.glob("segment-*"))
    return {
        "segments_mb": segments / 1e6,
        "articles": manifest["counts"]["articles"],
        "chunks": manifest["counts"]["chunks"],
        "sentences": manifest["counts"]["sentences"],
        "dense_index": manifest["dense_index"]["kind"],
        "build_seconds": seconds,
        "texts_embedded": embedded_count(stderr),
        "build_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "index_mb": size / 1e6,
        "index_mb_without_onnx": sum(
            p.stat().st_size for p in location.path.iterdir() if p.is_file() and p.suffix != ".onnx"
        )
        / 1e6,
    }


@dataclass(frozen=True)
class LibraryQuery:
    text: str
    article: str  # the article holding the first gold answer


def library_queries(limit: int) -> list[LibraryQuery]:
    dataset = load_beir(DEFAULT_BEIR, "test")
    queries = []
    for qid, text in list(dataset.queries.items())[:limit]:
        gold = sorted(d for d, grade in dataset.qrels[qid].items() if grade > 0)
        if gold:
            queries.append(LibraryQuery(text, article_id(gold[0])))
    return queries


def library_queries_warm(corpus: Path, index: Path, queries: list[LibraryQuery]) -> dict[str, Any]:
    from followup.answerer import Answerer
    from followup.core.types import AskRequest
    from followup.embed.encoder import OnnxQueryEncoder
    from followup.index.reader import load_index

    # The index alone first, beside the model: "memory beyond the model" is what the index adds.
    before, parts_before = rss_mb(), rss_parts_mb()
    started = time.perf_counter()
    alone = load_index(index, corpus)
    index_seconds = time.perf_counter() - started
    after_index, parts_index = rss_mb(), rss_parts_mb()
    assert alone.query_model is not None
    model = OnnxQueryEncoder(alone.query_model)
    model_mb = rss_mb() - after_index
    del alone, model
    started = time.perf_counter()
    answerer = Answerer.load(index, corpus)
    load_seconds = time.perf_counter() - started
    chunks = len(answerer.index.chunks)
    after = rss_mb()
    results: dict[str, Any] = {
        "load_seconds": load_seconds,
        "index_load_seconds": index_seconds,
        "rss_after_load_mb": after,
        "rss_growth_mb": after - before,
        "model_mb": model_mb,
        "index_mb": after_index - before,
        "index_anonymous_mb": parts_index["RssAnon"] - parts_before["RssAnon"],
        "index_file_pages_mb": parts_index["RssFile"] - parts_before["RssFile"],
        "bytes_per_chunk_in_memory": (after - before) * 1e6 / chunks,
        "index_bytes_per_chunk_beyond_model": (after_index - before) * 1e6 / chunks,
    }
    progress = ProgressLine("library queries")
    for n, mode in enumerate(MODES):
        requests = [AskRequest(q.text, mode=mode) for q in queries]
        for request in requests[:10]:
            answerer.answer(request)  # warm-up
        results[mode] = percentiles_ms([timed(lambda r=r: answerer.answer(r))[0] for r in requests])  # type: ignore[misc]
        progress(n + 1, len(MODES) + 2)
    scoped = [AskRequest(q.text, article_id=q.article) for q in queries]
    results["hybrid_scoped"] = percentiles_ms([timed(lambda r=r: answerer.answer(r))[0] for r in scoped])  # type: ignore[misc]
    progress(len(MODES) + 1, len(MODES) + 2)
    # A sanity check that the library is searched right: the gold answer's article among the first three
    # chunks retrieved. (Not among the passages: the library cites nothing, so every answer abstains.)
    found = 0
    for query in queries:
        ranking = answerer.retrieve(AskRequest(query.text)).ranking[:3]
        found += any(answerer.index.chunks[chunk].article_id == query.article for chunk, _ in ranking)
    results["gold_article_in_top3_chunks"] = found / len(queries)
    results["rss_after_queries_mb"] = rss_mb()
    results["rss_parts_after_queries_mb"] = rss_parts_mb()
    progress(len(MODES) + 2, len(MODES) + 2)
    return results


def library_incremental(corpus: Path, index: Path, article: str) -> dict[str, Any]:
    """Change one sentence of one article, rebuild, change it back, rebuild."""
    text_file = corpus / article / "article.md"
    original = text_file.read_text(encoding="utf-8")
    changed = original.rstrip("\n") + " This sentence was added to measure an incremental rebuild.\n"
    try:
        text_file.write_text(changed, encoding="utf-8")
        seconds, stderr = followup("index", "--corpus", str(corpus), "--index", str(index))
    finally:
        text_file.write_text(original, encoding="utf-8")
    back_seconds, back_stderr = followup("index", "--corpus", str(corpus), "--index", str(index))
    return {
        "article": article,
        "rebuild_seconds": seconds,
        "texts_embedded": embedded_count(stderr),
        "revert_rebuild_seconds": back_seconds,
        "revert_texts_embedded": embedded_count(back_stderr),
    }


def library(where: Path, all_queries: list[LibraryQuery], cold: bool, articles: int | None) -> dict[str, Any]:
    corpus, index = where / "corpus", where / "index"
    if not (corpus / "PROVENANCE.md").is_file():
        write_library(DEFAULT_BEIR, corpus, articles)
    if cold and index.exists():
        shutil.rmtree(index)
    from_scratch = not index.exists()
    print("library: indexing (the first run embeds every text; later runs reuse them)", file=sys.stderr)
    # Without --cold, an existing index is brought up to date: its seconds are not a first build's.
    report: dict[str, Any] = {"build": {"from_scratch": from_scratch, **library_build(corpus, index)}}
    queries = [q for q in all_queries if (corpus / q.article).is_dir()]
    print("library: cold starts", file=sys.stderr)
    ask = ["ask", queries[0].text, "--corpus", str(corpus), "--index", str(index)]
    report["cold_start_seconds"] = statistics.median(followup(*ask)[0] for _ in range(3))
    report["queries"] = len(queries)
    report["warm"] = library_queries_warm(corpus, index, queries)
    print("library: incremental rebuild", file=sys.stderr)
    report["incremental"] = library_incremental(corpus, index, queries[0].article)
    return report


# --- 2. synthetic corpora through the retrieval code ---------------------------------------------------


@dataclass(frozen=True)
class Base:
    vectors: np.ndarray  # the library's real chunk vectors
    tokens: list[list[str]]
    query_vectors: np.ndarray
    query_tokens: list[list[str]]


def load_base(index: Path, queries: list[LibraryQuery]) -> Base:
    from followup.embed.encoder import OnnxQueryEncoder
    from followup.index.reader import load_index

    built = load_index(index)
    if built.dense is None:
        raise SystemExit(f"{index}: a build on Milvus; the synthetic corpora are made from an embedded one")
    vectors = built.dense.all_vectors()
    tokens = [tokenize(indexed_text(c, built.documents[c.doc_id].text)) for c in built.chunks]
    assert built.query_model is not None
    encoder = OnnxQueryEncoder(built.query_model)
    query_vectors = np.stack([encoder.encode_query(q.text) for q in queries])
    return Base(vectors, tokens, query_vectors, [tokenize(q.text) for q in queries])


def synthetic(base: Base, size: int, seed: int = 0) -> tuple[np.ndarray, list[list[str]]]:
    real = min(size, len(base.tokens))
    vectors = np.empty((size, base.vectors.shape[1]), dtype=np.float32)
    vectors[:real] = base.vectors[:real]
    tokens = list(base.tokens[:real])
    rng = np.random.default_rng(seed)
    block = 100_000
    for start in range(real, size, block):
        n = min(block, size - start)
        a, b = rng.integers(0, len(base.tokens), n), rng.integers(0, len(base.tokens), n)
        noise = rng.standard_normal((n, vectors.shape[1]), dtype=np.float32) / np.sqrt(vectors.shape[1])
        mixed = base.vectors[a] + MIX * base.vectors[b] + NOISE * noise
        vectors[start : start + n] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
        for i, j in zip(a.tolist(), b.tolist(), strict=True):
            left, right = base.tokens[i], base.tokens[j]
            tokens.append(left[: len(left) // 2] + right[len(right) // 2 :])
    return vectors, tokens


def tenth_best(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Each query's 10th best exact score: a returned chunk scoring at least this is a true top-10
    one (MedQuAD repeats some answers word for word, so exact ties are common)."""
    kth: list[float] = []
    for start in range(0, len(queries), 50):
        scores = queries[start : start + 50] @ vectors.T
        kth.extend((-np.partition(-scores, 9, axis=1)[:, 9]).tolist())
    return np.asarray(kth)


def recall_at_10(dense: DenseIndex, vectors: np.ndarray, queries: np.ndarray) -> float:
    kth = tenth_best(vectors, queries)
    found = 0
    for query, threshold in zip(queries, kth, strict=True):
        ids = [i for i, _ in dense.search(query, 10)]
        found += int(np.sum(vectors[ids] @ query >= threshold - 1e-6))
    return found / (10 * len(queries))


def scale_point(base: Base, size: int) -> dict[str, Any]:
    print(f"synthetic {size:,} chunks: generating", file=sys.stderr)
    vectors, tokens = synthetic(base, size)
    before = rss_mb()
    started = time.perf_counter()
    bm25 = BM25Index(tokens)
    bm25_build = time.perf_counter() - started
    print(f"synthetic {size:,} chunks: BM25 built in {bm25_build:.1f} s; dense index", file=sys.stderr)
    started = time.perf_counter()
    dense = DenseIndex.build(vectors)
    dense_build = time.perf_counter() - started
    flat = dense if dense.info.kind == "flat" else DenseIndex.build(vectors, flat_limit=size)
    del tokens
    params = DEFAULT_RETRIEVAL
    k0 = params.candidates_per_retriever
    queries = list(zip(base.query_tokens, base.query_vectors, strict=True))
    rng = np.random.default_rng(1)
    scopes = [SearchScope(("article",), np.arange(s, s + ARTICLE_CHUNKS, dtype=np.int64))
              for s in rng.integers(0, size - ARTICLE_CHUNKS, 10**4)]  # fmt: skip
    retriever = EmbeddedRetriever(bm25, dense)

    def latency(run: Callable[[list[str], np.ndarray, int], object]) -> dict[str, float]:
        for n, (t, v) in enumerate(queries[:10]):
            run(t, v, n)
        return percentiles_ms([timed(lambda t=t, v=v, n=n: run(t, v, n))[0] for n, (t, v) in enumerate(queries)])  # type: ignore[misc]

    print(f"synthetic {size:,} chunks: queries", file=sys.stderr)
    figures = {
        "bm25": latency(lambda t, v, n: rank_chunks(retriever, t, v, "bm25", params)),
        "dense": latency(lambda t, v, n: dense.search(v, k0)),
        "dense_flat": latency(lambda t, v, n: flat.search(v, k0)),
        "hybrid": latency(lambda t, v, n: rank_chunks(retriever, t, v, "hybrid", params)),
        "hybrid_scoped": latency(lambda t, v, n: rank_chunks(retriever, t, v, "hybrid", params, scopes[n])),
    }
    recall = recall_at_10(dense, vectors, base.query_vectors)
    dense_bytes, bm25_bytes = dense.nbytes, bm25.nbytes
    return {
        "chunks": size,
        "dense_index": dense.info.kind,
        "bm25_build_seconds": bm25_build,
        "dense_build_seconds": dense_build,
        "recall_at_10_vs_exact": recall,
        "latency": figures,
        "bytes_per_chunk": {
            "dense": dense_bytes / size,
            "bm25_postings": bm25_bytes / size,
            "process_rss_growth": (rss_mb() - before) * 1e6 / size,
        },
    }


def chart(points: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [p["chunks"] for p in points]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    labels = {"bm25": "BM25", "dense": "dense (flat, then HNSW)", "dense_flat": "dense, exact flat",
              "hybrid": "hybrid", "hybrid_scoped": "hybrid, scoped to one article"}  # fmt: skip
    for key, label in labels.items():
        ax.plot(sizes, [p["latency"][key]["p50_ms"] for p in points], marker="o", label=label,
                linestyle="--" if key == "dense_flat" else "-")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel("p50 latency per query (ms)")
    ax.set_title("Retrieval latency against corpus size (2 cores; query embedding excluded)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-library", action="store_true", help="only the synthetic corpora")
    parser.add_argument("--cold", action="store_true", help="delete the library's index and embeddings first")
    parser.add_argument("--chart", type=Path, default=CHART)
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the report is written as JSON")
    parser.add_argument("--library", type=Path, default=LIBRARY, help="where the library and its index live")
    parser.add_argument("--articles", type=int, default=None, help="only the first N articles (a quick check)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    machine = describe_machine()
    report: dict[str, Any] = {"machine": machine_line(machine), "cpu": machine, "flat_limit": FLAT_LIMIT,
                              "commit": _commit(), "date": time.strftime("%Y-%m-%d")}  # fmt: skip
    queries = library_queries(args.queries)
    if not args.skip_library:
        report["library"] = library(args.library, queries, args.cold, args.articles)
    index = args.library / "index"
    base = load_base(index, queries)
    report["synthetic"] = [scale_point(base, size) for size in args.sizes]
    chart(report["synthetic"], args.chart)
    args.results.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")  # the README's figures come from it
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print_report(report, args.chart)


def print_report(report: dict[str, Any], chart_path: Path) -> None:
    print(f"machine: {report['machine']}; flat dense search up to {report['flat_limit']:,} chunks, HNSW beyond")
    if "library" in report:
        lib = report["library"]
        b, w, inc = lib["build"], lib["warm"], lib["incremental"]
        print(f"\nMedQuAD library: {b['articles']:,} articles, {b['chunks']:,} chunks, {b['sentences']:,} sentences "
              f"({b['dense_index']} dense index)")  # fmt: skip
        print(f"  index: {b['build_seconds']:.1f} s ({b['texts_embedded']:,} chunks embedded), peak "
              f"{b['build_peak_rss_mb']:.0f} MB, {b['index_mb']:.0f} MB on disk "
              f"({b['index_mb_without_onnx']:.0f} MB without the ONNX model)")  # fmt: skip
        print(f"  followup ask cold start: {lib['cold_start_seconds']:.2f} s; load {w['load_seconds']:.2f} s, "
              f"RSS {w['rss_after_load_mb']:.0f} MB ({w['bytes_per_chunk_in_memory']:.0f} B per chunk)")  # fmt: skip
        print(f"  the index alone: load {w['index_load_seconds']:.2f} s, {w['index_mb']:.0f} MB "
              f"({w['index_bytes_per_chunk_beyond_model']:.0f} B per chunk beyond the model's "
              f"{w['model_mb']:.0f} MB; {w['index_anonymous_mb']:.0f} MB anonymous, "
              f"{w['index_file_pages_mb']:.0f} MB mapped pages)")  # fmt: skip
        for mode in (*MODES, "hybrid_scoped"):
            print(f"  {mode:14} p50 {w[mode]['p50_ms']:6.1f} ms  p99 {w[mode]['p99_ms']:6.1f} ms "
                  f"({lib['queries']} test questions, whole answer pipeline)")  # fmt: skip
        print(f"  gold answer's article among the first 3 chunks retrieved: {w['gold_article_in_top3_chunks']:.3f}")
        print(f"  one article changed: rebuild {inc['rebuild_seconds']:.1f} s, {inc['texts_embedded']} chunks "
              f"embedded; changed back: {inc['revert_rebuild_seconds']:.1f} s, "
              f"{inc['revert_texts_embedded']} chunks embedded")  # fmt: skip
    print("\nSynthetic corpora, retrieval only (query embedding excluded), p50 / p99 ms:")
    print("| chunks | dense index | recall@10 | BM25 | dense | dense flat | hybrid | hybrid scoped | bytes/chunk |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in report["synthetic"]:
        lat = p["latency"]
        cells = " | ".join(f"{lat[k]['p50_ms']:.2f} / {lat[k]['p99_ms']:.2f}"
                           for k in ("bm25", "dense", "dense_flat", "hybrid", "hybrid_scoped"))  # fmt: skip
        per = p["bytes_per_chunk"]
        print(f"| {p['chunks']:,} | {p['dense_index']} | {p['recall_at_10_vs_exact']:.3f} | {cells} | "
              f"{per['dense'] + per['bm25_postings']:.0f} (RSS {per['process_rss_growth']:.0f}) |")  # fmt: skip
    print(f"\nchart: {chart_path}")


if __name__ == "__main__":
    main()
