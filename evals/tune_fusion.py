"""Tune the fusion of BM25 and dense on a BEIR benchmark's dev split; report the choice on test.

Each retriever's document ranking is computed once per query (embeddings come from the cache that
`followup eval` fills); min-max weights for BM25 (dense weight 1) and the RRF constant are then swept
on dev, and the best of each is scored on test, which is never used to choose:

    python evals/tune_fusion.py ../shared/benchmarks/medquad

With --late-interaction it sweeps instead the weight of the late-interaction rerank of the default
hybrid's top documents (followup eval's mode hybrid-minmax+li) on dev, then scores the choice on test:

    python evals/tune_fusion.py ../shared/benchmarks/nfcorpus --late-interaction
"""

from __future__ import annotations

import argparse
from pathlib import Path

from followup.core.settings import DEFAULT_CHUNKING, DEFAULT_RETRIEVAL
from followup.embed.encoder import OnnxQueryEncoder
from followup.embed.torch_encoder import Encoder
from followup.evaluate.beir_data import load_beir
from followup.evaluate.beir_eval import (
    LATE_INTERACTION_WEIGHTS,
    RERANK_DEPTH,
    BenchmarkIndex,
    blend_rerank,
    build_benchmark_index,
    chunk_tokens,
    late_scores,
)
from followup.evaluate.metrics import aggregate
from followup.evaluate.run import query_model_path
from followup.retrieve.hybrid import Ranked

Rankings = dict[str, tuple[Ranked, Ranked]]
Qrels = dict[str, dict[str, int]]
BM25_WEIGHTS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]
RRF_KS = [10, 30, 60, 100]


def rankings(path: Path, split: str, encoder: Encoder, cache: Path) -> tuple[Rankings, BenchmarkIndex, Qrels]:
    dataset = load_beir(path, split)
    index = build_benchmark_index(dataset, encoder.encode, DEFAULT_CHUNKING, cache)
    result = {
        qid: (index.lexical(text), index.dense(encoder.encode_query(text))) for qid, text in dataset.queries.items()
    }
    return result, index, dataset.qrels


def ndcg(runs: Rankings, index: BenchmarkIndex, qrels: Qrels, method: str, **options: float) -> float:
    run = {}
    for qid, (lexical, dense) in runs.items():
        if method == "rrf":
            ranking = index.fused([lexical, dense], "rrf", rrf_k=int(options["k"]))
        else:
            ranking = index.fused([lexical, dense], "minmax", weights=[options["bm25"], 1.0])
        run[qid] = index.as_run(ranking)
    return aggregate(qrels, run)["nDCG@10"]


Reranked = tuple[Ranked, list[float]]  # hybrid-minmax ranking, MaxSim of its top documents


def late_interaction_inputs(
    path: Path, split: str, encoder: Encoder, tokens_encoder: OnnxQueryEncoder, cache: Path
) -> tuple[dict[str, Reranked], BenchmarkIndex, Qrels]:
    """Per query the default hybrid's ranking and the late-interaction score of its top documents."""
    runs, index, qrels = rankings(path, split, encoder, cache)
    fused = {q: index.fused([lexical, dense], "minmax", weights=DEFAULT_RETRIEVAL.minmax_weights)
             for q, (lexical, dense) in runs.items()}  # fmt: skip
    tokens = chunk_tokens(index, tokens_encoder.encode_tokens, cache)
    queries = load_beir(path, split).queries
    result = {}
    for qid, ranking in fused.items():
        _, (query,) = tokens_encoder.encode_with_tokens([queries[qid]])
        head = ranking.items[:RERANK_DEPTH].tolist()
        result[qid] = (ranking, late_scores(query.vectors, head, index.document_chunks, tokens).tolist())
    return result, index, qrels


def late_measures(inputs: dict[str, Reranked], index: BenchmarkIndex, qrels: Qrels, weight: float) -> dict[str, float]:
    run = {
        q: index.as_run(Ranked.of(blend_rerank(ranking.as_list(), scores, weight)))
        for q, (ranking, scores) in inputs.items()
    }
    return aggregate(qrels, run)


def tune_late_interaction(benchmark: Path, cache: Path, index_dir: Path, encoder: Encoder) -> None:
    dataset = load_beir(benchmark, "dev")
    onnx_path = query_model_path(index_dir, cache, encoder, [f"{d.title}\n{d.text}" for d in dataset.documents[:32]])
    tokens_encoder = OnnxQueryEncoder(onnx_path, threads=2)
    dev, index, dev_qrels = late_interaction_inputs(benchmark, "dev", encoder, tokens_encoder, cache)
    print(f"late-interaction weight (top {RERANK_DEPTH} of hybrid-minmax):  dev nDCG@10  R@100")
    scores = {w: late_measures(dev, index, dev_qrels, w) for w in LATE_INTERACTION_WEIGHTS}
    for w, values in scores.items():
        print(f"  {w:.2f}  {values['nDCG@10']:.4f}  {values['R@100']:.4f}")
    best = max(scores, key=lambda w: (scores[w]["nDCG@10"], -w))  # ties: the smaller weight
    test, _, test_qrels = late_interaction_inputs(benchmark, "test", encoder, tokens_encoder, cache)
    print(f"\nchosen on dev: weight {best}")
    print(f"test nDCG@10: weight {best}: {late_measures(test, index, test_qrels, best)['nDCG@10']:.4f}; "
          f"hybrid-minmax (weight 0): {late_measures(test, index, test_qrels, 0.0)['nDCG@10']:.4f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", type=Path)
    parser.add_argument("--cache", type=Path, default=Path(".cache/embeddings"))
    parser.add_argument("--index", type=Path, default=Path("index"), help="where an ONNX export may be found")
    parser.add_argument("--late-interaction", action="store_true", help="sweep the rerank's weight instead")
    args = parser.parse_args()
    encoder = Encoder()
    if args.late_interaction:
        tune_late_interaction(args.benchmark, args.cache, args.index, encoder)
        return
    dev, index, dev_qrels = rankings(args.benchmark, "dev", encoder, args.cache)
    test, _, test_qrels = rankings(args.benchmark, "test", encoder, args.cache)
    print("min-max, BM25 weight (dense 1):  dev nDCG@10")
    scores = {w: ndcg(dev, index, dev_qrels, "minmax", bm25=w) for w in BM25_WEIGHTS}
    for w, value in scores.items():
        print(f"  {w:.1f}  {value:.4f}")
    best_w = max(scores, key=lambda w: scores[w])
    print("RRF k:  dev nDCG@10")
    rrf = {k: ndcg(dev, index, dev_qrels, "rrf", k=k) for k in RRF_KS}
    for k, value in rrf.items():
        print(f"  {k:3d}  {value:.4f}")
    best_k = max(rrf, key=lambda k: rrf[k])
    print(f"\nchosen on dev: min-max BM25 weight {best_w}, RRF k {best_k}")
    print(f"test nDCG@10: min-max w={best_w}: {ndcg(test, index, test_qrels, 'minmax', bm25=best_w):.4f}; "
          f"min-max w=1.0: {ndcg(test, index, test_qrels, 'minmax', bm25=1.0):.4f}; "
          f"RRF k={best_k}: {ndcg(test, index, test_qrels, 'rrf', k=best_k):.4f}; "
          f"dense alone: {ndcg(test, index, test_qrels, 'minmax', bm25=0.0):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
