"""followup's BM25 as sparse vectors beside Milvus's own BM25 function, on a BEIR benchmark.

Both index the same chunk texts as `followup eval` does (context + "\\n" + chunk, MaxP per document).
followup's: the build's own BM25 weights (rank-bm25's BM25Okapi over followup's tokenizer and stemmer)
in a sparse field, queried with term counts (index/milvus.py). Milvus's: a VARCHAR field with the
`english` analyzer and a BM25 function filling a sparse field (k1 1.5, b 0.75, as followup's),
queried with the question's text. Reported: nDCG@10, R@100 and search p50 of each, on milvus-lite.

    python bench/milvus_native_bm25.py [--beir ../shared/benchmarks/nfcorpus] [--split dev]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

# tests.milvus_engine: the milvus-lite engine process the backend tests start
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.milvus_engine import MilvusLiteEngine

from followup.core.progress import ProgressLine
from followup.core.settings import DEFAULT_CHUNKING
from followup.core.words import tokenize
from followup.evaluate.beir_data import load_beir
from followup.evaluate.beir_eval import CANDIDATES, DEPTH, SERVER_DEPTH, as_documents
from followup.evaluate.metrics import aggregate
from followup.index.bm25 import K1, B, BM25Index
from followup.index.milvus import MilvusRetriever, Vocabulary, build_rows
from followup.index.milvus_build import backend_for
from followup.ingest.chunking import chunk_documents, indexed_text
from followup.retrieve.hybrid import best_chunk_per_document, top_scores

DEFAULT_BEIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "nfcorpus"
NATIVE = "native_bm25"
OURS = "followup_bm25"


def native_collection(client: Any, texts: list[str]) -> None:
    from pymilvus import DataType, Function, FunctionType  # type: ignore[import-untyped, import-not-found, unused-ignore]

    schema = client.create_schema()
    schema.add_field("chunk_id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True,
                     analyzer_params={"type": "english"})  # fmt: skip
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))  # fmt: skip
    params = client.prepare_index_params()
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                     params={"inverted_index_algo": "TAAT_NAIVE", "bm25_k1": K1, "bm25_b": B})  # fmt: skip
    client.create_collection(NATIVE, schema=schema, index_params=params)
    progress = ProgressLine("native BM25 rows")
    for lo in range(0, len(texts), 500):
        rows = [{"chunk_id": i, "text": texts[i]} for i in range(lo, min(len(texts), lo + 500))]
        client.insert(NATIVE, rows)
        progress(min(len(texts), lo + 500), len(texts))
    client.flush(NATIVE)
    client.load_collection(NATIVE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beir", type=Path, default=DEFAULT_BEIR)
    parser.add_argument("--split", default="dev")
    args = parser.parse_args()
    dataset = load_beir(args.beir, args.split)
    documents = [d for d in as_documents(dataset) if d.text.strip()]
    chunks = chunk_documents(documents, DEFAULT_CHUNKING)
    texts = {d.id: d.text for d in documents}
    chunk_texts = [indexed_text(c, texts[c.doc_id]) for c in chunks]
    position = {d.id: i for i, d in enumerate(documents)}
    chunk_document = np.array([position[c.doc_id] for c in chunks], dtype=np.int64)
    bm25 = BM25Index([tokenize(t) for t in chunk_texts])
    depth = min(SERVER_DEPTH, len(chunks))
    print(f"{dataset.name} ({args.split}): {len(chunks)} chunks, {len(dataset.queries)} queries", file=sys.stderr)
    with MilvusLiteEngine(Path(".cache/milvus-native-bm25")) as engine:
        backend = backend_for(engine.uri, "lite")
        client = backend.client
        for name in (NATIVE, OURS):
            if client.has_collection(name):
                client.drop_collection(name)
        native_collection(client, chunk_texts)
        placeholder = np.tile(np.array([1.0, 0.0], np.float32), (len(chunks), 1))  # lexical only: no vectors
        backend.write_collection(OURS, build_rows(bm25, placeholder, [c.doc_id for c in chunks]))
        ours = MilvusRetriever(backend, OURS, Vocabulary(bm25))

        def native(text: str) -> list[tuple[int, float]]:
            hits = client.search(NATIVE, data=[text], anns_field="sparse", limit=depth,
                                 search_params={"metric_type": "BM25"}, output_fields=["chunk_id"])  # fmt: skip
            return [(int(h["entity"]["chunk_id"]), float(h["distance"])) for h in hits[0]]

        searches = {"followup BM25 (sparse vectors)": lambda t: ours.lexical(tokenize(t), depth),
                    "Milvus BM25 function (english analyzer)": native}  # fmt: skip
        for label, search in searches.items():
            run: dict[str, dict[str, float]] = {}
            times = []
            for qid, text in dataset.queries.items():
                started = time.perf_counter()
                ranking = search(text)
                times.append(time.perf_counter() - started)
                scores = np.zeros(len(chunks), np.float32)
                for chunk, score in ranking:
                    scores[chunk] = score
                found = top_scores(best_chunk_per_document(scores, chunk_document, len(documents)), CANDIDATES)
                run[qid] = {documents[i].id: float(DEPTH - n) for n, (i, _) in enumerate(found[:DEPTH])}
            measures = aggregate(dataset.qrels, run)
            print(f"{label:42} nDCG@10 {measures['nDCG@10']:.4f}  R@100 {measures['R@100']:.4f}  "
                  f"search p50 {statistics.median(times) * 1000:.1f} ms")  # fmt: skip
        backend.close()


if __name__ == "__main__":
    main()
