"""The evaluation harness without the model: BEIR loading, metrics, the BEIR loop with a stand-in
encoder, the embedding cache, suite validation, run folders and run comparison."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from followup.core.errors import CorpusError
from followup.core.settings import ChunkingParams
from followup.core.words import tokenize
from followup.embed.token_vectors import TokenEmbedding
from followup.evaluate.beir_data import load_beir
from followup.evaluate.beir_eval import BEIR_MODES, BenchmarkEncoders, evaluate_beir
from followup.evaluate.embedding_cache import cached_embeddings
from followup.evaluate.metrics import aggregate
from followup.evaluate.report import compare_runs, table, write_run
from followup.evaluate.suites import load_suite

VOCABULARY = ["statin", "cancer", "breast", "diet", "asthma", "fish", "mercury", "coffee"]


def word_tokens(text: str) -> TokenEmbedding:
    """Stands in for a text's token vectors: one one-hot vector per known word, in order."""
    words = [tokenize(w)[0] for w in VOCABULARY]
    rows = [np.eye(len(VOCABULARY), dtype=np.float32)[words.index(t)] for t in tokenize(text) if t in words]
    vectors = np.stack(rows) if rows else np.zeros((0, len(VOCABULARY)), np.float32)
    return TokenEmbedding(vectors, np.zeros((len(vectors), 2), np.int32))


class BagOfWordsEncoder:
    """Stands in for the model: a normalised bag of known words, so the right document is findable.
    A QueryEncoder (embed/protocols.py), and its `encode` embeds chunk texts in bulk."""

    dimension = len(VOCABULARY)

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        self.calls += 1
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text):
                for column, word in enumerate(VOCABULARY):
                    if token == tokenize(word)[0]:
                        vectors[row, column] += 1
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

    def encode_query(self, text: str) -> np.ndarray:
        return np.asarray(self.encode([text])[0])

    def encode_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenEmbedding]]:
        return self.encode(texts), [word_tokens(t) for t in texts]

    def encoders(self) -> BenchmarkEncoders:
        """Chunks and queries both embedded by this stand-in; no token vectors for the chunks."""
        return BenchmarkEncoders(self.encode, self)


def write_beir(root: Path) -> Path:
    docs = [
        {"_id": "D1", "title": "Statins and breast cancer", "text": "Statin users had lower breast cancer deaths."},
        {"_id": "D2", "title": "Diet and asthma", "text": "A plant diet eased asthma."},
        {"_id": "D3", "title": "Fish", "text": "Fish can carry mercury."},
        {"_id": "D4", "title": "Coffee", "text": "Coffee was not linked to cancer."},
    ]
    queries = [{"_id": "Q1", "text": "statin breast cancer"}, {"_id": "Q2", "text": "mercury in fish"},
               {"_id": "Q3", "text": "diet for asthma"}]  # fmt: skip
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nQ1\tD1\t2\nQ1\tD4\t1\nQ2\tD3\t1\n")
    return root


def test_beir_loader_keeps_judged_queries_only(tmp_path: Path) -> None:
    dataset = load_beir(write_beir(tmp_path / "mini"), "test")
    assert dataset.name == "mini" and len(dataset.documents) == 4
    assert dataset.queries == {"Q1": "statin breast cancer", "Q2": "mercury in fish"}
    assert dataset.qrels == {"Q1": {"D1": 2, "D4": 1}, "Q2": {"D3": 1}}


def test_beir_loader_errors_name_the_file_and_line(tmp_path: Path) -> None:
    root = write_beir(tmp_path / "mini")
    with pytest.raises(CorpusError, match=r"qrels/dev\.tsv: file not found; splits here: test"):
        load_beir(root, "dev")
    (root / "corpus.jsonl").write_text('{"_id": "D1", "text": "x"}\n{broken\n')
    with pytest.raises(CorpusError, match=r"corpus\.jsonl:2: invalid JSON"):
        load_beir(root, "test")


def test_metrics_by_hand() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    run = {"q1": {"d9": 2.0, "d1": 1.0}}  # q2 retrieved nothing: it counts as 0, not as absent
    values = aggregate(qrels, run)
    assert values["RR@10"] == pytest.approx((0.5 + 0.0) / 2)
    assert values["R@5"] == pytest.approx(0.5)
    assert values["nDCG@10"] == pytest.approx((1 / np.log2(3)) / 2)


def test_beir_evaluation_side_by_side_with_cached_embeddings(tmp_path: Path) -> None:
    dataset = load_beir(write_beir(tmp_path / "mini"), "test")
    encoder = BagOfWordsEncoder()
    results = evaluate_beir(dataset, encoder.encoders(), ChunkingParams(), tmp_path / "cache")
    assert set(results) == set(BEIR_MODES)
    for result in results.values():
        assert result.metrics["RR@10"] == pytest.approx(1.0)
        assert set(result.per_query) == {"Q1", "Q2"}
        assert set(result.latency_ms) == {"p50", "p95"}
    calls = encoder.calls
    evaluate_beir(dataset, encoder.encoders(), ChunkingParams(), tmp_path / "cache")
    assert encoder.calls == calls + 2, "the corpus came from the cache; only the two queries were embedded"


def test_a_benchmark_is_scored_by_the_embedded_indexes_over_every_chunk(tmp_path: Path) -> None:
    from followup.evaluate.beir_eval import build_benchmark_index
    from followup.evaluate.document_search import EveryChunkScored

    dataset = load_beir(write_beir(tmp_path / "mini"), "test")
    encoder = BagOfWordsEncoder()
    index = build_benchmark_index(dataset, encoder.encode, ChunkingParams(), tmp_path / "cache")
    searches = index.searches
    # As `followup ask` searches a library: faiss's exact flat index, and the BM25 postings.
    assert isinstance(searches, EveryChunkScored) and searches.dense.info.kind == "flat"
    query = encoder.encode_query("mercury in fish")
    ((best_chunk, best_score),) = searches.dense.search(query, 1)
    ranking = index.dense(query)
    assert int(ranking.items[0]) == int(index.chunk_document[best_chunk])
    assert ranking.scores[0] == np.float32(best_score), "faiss's own float"


def write_larger_beir(root: Path) -> Path:
    """40 documents of two to five known words each, a few of them in two chunks (ChunkingParams(8))."""
    rng = np.random.default_rng(7)
    docs = []
    for n in range(40):
        words = rng.choice(VOCABULARY, size=int(rng.integers(2, 6)))
        text = ". ".join(f"The {w} study" for w in words) + "."
        docs.append({"_id": f"D{n}", "title": f"Study {n}", "text": text})
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    (root / "queries.jsonl").write_text('{"_id": "Q1", "text": "fish mercury"}\n')
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nQ1\tD1\t1\n")
    return root


@pytest.mark.parametrize("candidates", [1, 3, 1000])
def test_every_chunk_scored_ranks_documents_as_a_search_over_every_chunk(tmp_path: Path, candidates: int) -> None:
    """The documents, order and float32 scores of the embedded path are those of the retriever seam's
    search for every chunk (ChunksSearched: a server's path), at any number of candidates."""
    from followup.evaluate.beir_eval import build_benchmark_index
    from followup.evaluate.document_search import ChunksSearched, EveryChunkScored
    from followup.index.dense import DenseIndex
    from followup.index.retrievers import EmbeddedRetriever

    dataset = load_beir(write_larger_beir(tmp_path / "larger"), "test")
    encoder = BagOfWordsEncoder()
    index = build_benchmark_index(dataset, encoder.encode, ChunkingParams(max_words=8), tmp_path / "cache")
    chunks = len(index.chunk_document)
    assert chunks > len(index.ids) == 40, "some documents have two chunks"
    every = EveryChunkScored.of(index.bm25, DenseIndex.build(index.vectors), index.chunk_document, candidates)
    searched = ChunksSearched(EmbeddedRetriever(index.bm25, every.dense), index.chunk_document,
                              np.bincount(index.chunk_document), chunks, candidates)  # fmt: skip
    for text in ["fish mercury", "cancer", "coffee diet asthma", "statin", "nothing known", ""]:
        tokens, vector = tokenize(text), encoder.encode_query(text)
        for mine, theirs in ((every.lexical(tokens), searched.lexical(tokens)),
                             (every.semantic(vector), searched.semantic(vector))):  # fmt: skip
            assert mine.items.tolist() == theirs.items.tolist(), text
            assert mine.scores.dtype == theirs.scores.dtype == np.float32
            assert mine.scores.tolist() == theirs.scores.tolist(), text
        assert len(every.lexical(tokens)) == min(candidates, 40), "documents without a term score 0, as BM25's"


def test_every_chunk_scored_needs_the_chunks_numbered_document_by_document() -> None:
    from followup.evaluate.document_search import EveryChunkScored
    from followup.index.bm25 import BM25Index
    from followup.index.dense import DenseIndex

    bm25, dense = BM25Index([["a"], ["b"], ["c"]]), DenseIndex.build(np.eye(3, dtype=np.float32))
    assert EveryChunkScored.of(bm25, dense, np.array([0, 0, 1]), 10).first_chunks.tolist() == [0, 2]
    for chunk_document in (np.array([0, 1, 0]), np.array([0, 2, 2])):  # out of order; document 1 has none
        with pytest.raises(ValueError, match="document by document"):
            EveryChunkScored.of(bm25, dense, chunk_document, 10)


def test_a_benchmark_searched_through_a_server_retriever_ranks_as_in_memory(tmp_path: Path) -> None:
    """`followup eval BEIR --backend milvus` searches a server through the Retriever seam; with an
    unscoped embedded retriever over the same chunks standing in for it, the measures must not move."""
    from followup.evaluate.beir_eval import BenchmarkIndex
    from followup.index.dense import DenseIndex
    from followup.index.retrievers import EmbeddedRetriever, Retriever

    dataset = load_beir(write_beir(tmp_path / "mini"), "test")
    encoders = BagOfWordsEncoder().encoders()
    calls: list[str] = []

    class Counting(EmbeddedRetriever):
        def lexical(self, tokens: Sequence[str], k: int, scope: Any = None) -> list[tuple[int, float]]:
            calls.append("lexical")
            return super().lexical(tokens, k, scope)

        def semantic(self, vector: np.ndarray, k: int, scope: Any = None) -> list[tuple[int, float]]:
            calls.append("semantic")
            return super().semantic(vector, k, scope)

    def searches(index: BenchmarkIndex) -> Retriever:
        return Counting(index.bm25, DenseIndex.build(index.vectors))

    in_memory = evaluate_beir(dataset, encoders, ChunkingParams(), tmp_path / "cache")
    through = evaluate_beir(dataset, encoders, ChunkingParams(), tmp_path / "cache", searches_for=searches)
    assert sorted(calls) == ["lexical"] * len(dataset.queries) + ["semantic"] * len(dataset.queries)
    for mode in BEIR_MODES:
        assert through[mode].metrics == in_memory[mode].metrics, mode
        assert through[mode].per_query == in_memory[mode].per_query, mode


def test_embedding_cache_is_keyed_by_content(tmp_path: Path) -> None:
    encoder = BagOfWordsEncoder()
    first = cached_embeddings(["fish", "coffee"], encoder.encode, tmp_path, "x")
    again = cached_embeddings(["fish", "coffee"], encoder.encode, tmp_path, "x")
    assert encoder.calls == 1 and np.array_equal(first, again)
    cached_embeddings(["fish", "diet"], encoder.encode, tmp_path, "x")
    assert encoder.calls == 2
    assert not list(tmp_path.glob("*.partial")), "no temporary file left"


def test_suite_lines_are_validated(tmp_path: Path) -> None:
    good = {"id": "a", "split": "dev", "kind": "direct", "question": "q", "answerable": True,
            "gold": [{"source_id": "s", "text": "t"}], "citations": [1]}  # fmt: skip
    path = tmp_path / "suite.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "split": "test"}) + "\n")
    assert [i.id for i in load_suite(path, "dev")] == ["a"]
    assert [i.id for i in load_suite(path, "all")] == ["a", "b"]
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "answerable": False}) + "\n")
    with pytest.raises(CorpusError, match=r"suite\.jsonl:2: .*duplicate id 'a'"):
        load_suite(path)
    path.write_text(json.dumps({**good, "gold": []}) + "\n")
    with pytest.raises(CorpusError, match="needs gold and citations"):
        load_suite(path)


def test_the_project_suite_is_well_formed() -> None:
    suite = Path(__file__).resolve().parents[2] / "evals" / "muscle-spasm-suite.jsonl"
    items = load_suite(suite)
    assert len(items) >= 95
    assert sum(not i.answerable for i in items) >= 15
    assert {i.kind for i in items} == {"direct", "paraphrase", "lay", "elliptical", "out_of_scope"}
    assert all(i.history for i in items if i.kind == "elliptical")
    assert abs(sum(i.split == "dev" for i in items) - len(items) / 2) <= 2


def _run(tmp_path: Path, values: dict[str, float]) -> Path:
    summary: dict[str, Any] = {
        "suite": "mini",
        "split": "test",
        "queries": 2,
        "results": {"bm25": {"nDCG@10": 0.5}},
        "latency_ms": {"bm25": {"p50": 1, "p95": 2}},
    }
    rows = [{"query_id": q, "mode": "bm25", "metrics": {"nDCG@10": v}} for q, v in values.items()]
    return write_run(tmp_path, summary, rows, {"bm25": {"R@1": 0.2, "R@10": 0.6}})


def test_run_folder_and_comparison(tmp_path: Path) -> None:
    first = _run(tmp_path / "a", {"q1": 0.2, "q2": 0.9})
    second = _run(tmp_path / "b", {"q1": 0.7, "q2": 0.4})
    assert {p.name for p in first.iterdir()} == {"results.json", "per-query.jsonl", "report.md", "recall.png"}
    assert (first / "recall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| bm25 | 0.5000 |" in (first / "report.md").read_text()
    report = compare_runs(first, second)
    assert "bm25: 0.5500 -> 0.5500 (+0.0000) over 2 queries; 1 better, 1 worse" in report
    assert "+0.500  q1" in report and "-0.500  q2" in report


def test_terminal_table_aligns_columns() -> None:
    text = table({"bm25": {"nDCG@10": 0.31}, "hybrid-minmax": {"nDCG@10": 0.35}}, {
        "bm25": {"p50": 1.0, "p95": 2.0}, "hybrid-minmax": {"p50": 3.0, "p95": 4.0}})  # fmt: skip
    lines = text.splitlines()
    assert lines[0].split() == ["mode", "nDCG@10", "p50", "ms", "p95", "ms"]
    assert len({len(line) for line in lines}) == 1


def test_best_documents_rank_as_every_chunk_scored() -> None:
    """From the chunks found alone, the documents rank as from a score for every chunk (`missing` where
    not found) and each document's best chunk: the same documents, order and float32 scores."""
    from followup.evaluate.document_search import best_documents
    from followup.retrieve.hybrid import best_chunk_per_document, top_scores

    rng = np.random.default_rng(11)
    for _ in range(300):
        documents = int(rng.integers(1, 30))
        chunk_document = np.sort(rng.integers(0, documents, size=int(rng.integers(1, 80))))  # some have none
        chunks = len(chunk_document)
        found_chunks = rng.choice(chunks, size=int(rng.integers(0, chunks + 1)), replace=False)
        values = rng.choice([0.0, 0.5, 2.0, -1.0, float(rng.random())], size=len(found_chunks))  # ties
        found = sorted(zip(found_chunks.tolist(), values.tolist(), strict=True), key=lambda p: (-p[1], p[0]))
        counts = np.bincount(chunk_document, minlength=documents)
        for missing in (0.0, -np.inf):
            every = np.full(chunks, missing, dtype=np.float32)
            every[[c for c, _ in found]] = [s for _, s in found]
            for k in (1, 3, documents, 1000):
                expected = top_scores(best_chunk_per_document(every, chunk_document, documents), k)
                assert best_documents(found, chunk_document, counts, k, missing).as_list() == expected
