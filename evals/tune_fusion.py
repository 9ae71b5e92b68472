"""Tune the fusion of BM25 and dense on a BEIR benchmark's dev split; report the choice on test.

Each retriever's document ranking is computed once per query (embeddings come from the cache that
`followup eval` fills); min-max weights for BM25 (dense weight 1) and the RRF constant are then swept
on dev, and the best of each is scored on test, which is never used to choose:

    python evals/tune_fusion.py ../shared/benchmarks/medquad
"""

from __future__ import annotations

import argparse
from pathlib import Path

from followup.beir import load_beir
from followup.config import DEFAULT_CHUNKING
from followup.encoder import Encoder
from followup.eval_beir import BenchmarkIndex, build_benchmark_index
from followup.metrics import aggregate
from followup.search import fuse

Rankings = dict[str, tuple[list[tuple[int, float]], list[tuple[int, float]]]]
Qrels = dict[str, dict[str, int]]
BM25_WEIGHTS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]
RRF_KS = [10, 30, 60, 100]


def rankings(path: Path, split: str, encoder: Encoder, cache: Path) -> tuple[Rankings, BenchmarkIndex, Qrels]:
    dataset = load_beir(path, split)
    index = build_benchmark_index(dataset, encoder, DEFAULT_CHUNKING, cache)
    result = {
        qid: (index.lexical(text), index.dense(encoder.encode_query(text))) for qid, text in dataset.queries.items()
    }
    return result, index, dataset.qrels


def ndcg(runs: Rankings, index: BenchmarkIndex, qrels: Qrels, method: str, **options: float) -> float:
    run = {}
    for qid, (lexical, dense) in runs.items():
        if method == "rrf":
            ranking = fuse([lexical, dense], "rrf", rrf_k=int(options["k"]))
        else:
            ranking = fuse([lexical, dense], "minmax", weights=[options["bm25"], 1.0])
        run[qid] = index.as_run(ranking)
    return aggregate(qrels, run)["nDCG@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", type=Path)
    parser.add_argument("--cache", type=Path, default=Path(".cache/embeddings"))
    args = parser.parse_args()
    encoder = Encoder()
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
