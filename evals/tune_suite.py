"""Tune the answer settings on the suite's dev split: fusion, abstention thresholds, answer ratio.

Retrieval runs once per fusion method; the thresholds only change what `decide` does with it, so a
grid of hundreds of settings takes seconds. Reports the best settings by abstention F1 + hit@3 (ties:
hit@1), then the same settings on the test split, which is never used to choose:

    python evals/tune_suite.py [--index index] [--corpus corpus] [--suite evals/muscle-spasm-suite.jsonl]
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

from followup.answer.stages import Assessment
from followup.answerer import Answerer
from followup.core.settings import DEFAULT_RETRIEVAL, RetrievalParams
from followup.core.types import AskRequest
from followup.evaluate.suite_eval import answer_measures, gold_spans, summarise
from followup.evaluate.suites import SuiteItem, load_suite
from followup.ingest.corpus import load_corpus

GRID = {
    "min_relevance": [0.30, 0.33, 0.35, 0.36, 0.37, 0.38, 0.39, 0.41, 0.44],
    "answer_ratio": [0.70, 0.75, 0.80, 0.85, 0.90],
}


def score(
    answerer: Answerer, params: RetrievalParams, items: list[SuiteItem], assessed: dict[str, Assessment],
    sources: dict[str, str],
) -> dict[str, float]:  # fmt: skip
    runner = Answerer(answerer.index, answerer.encoder, params)
    texts = {k: d.text for k, d in answerer.index.documents.items()}
    rows = []
    for item in items:
        answer = runner.decide(AskRequest(item.question, item.history), assessed[item.id])
        rows.append(answer_measures(item, answer, gold_spans(item, texts), sources))
    return summarise(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--suite", type=Path, default=Path(__file__).with_name("muscle-spasm-suite.jsonl"))
    args = parser.parse_args()
    answerer = Answerer.load(args.index, args.corpus)
    sources = {d.id: d.text for d in load_corpus(args.corpus).documents}
    splits = {split: load_suite(args.suite, split) for split in ("dev", "test")}
    results = []
    for fusion in ("rrf", "minmax"):
        base = replace(DEFAULT_RETRIEVAL, fusion=fusion)
        runner = Answerer(answerer.index, answerer.encoder, base)
        assessed = {
            split: {i.id: runner.assess(AskRequest(i.question, i.history)) for i in items}
            for split, items in splits.items()
        }
        for values in itertools.product(*GRID.values()):
            settings: dict[str, Any] = dict(zip(GRID, values, strict=True))
            params = replace(base, **settings)
            dev = score(answerer, params, splits["dev"], assessed["dev"], sources)
            results.append((dev["abstention_F1"] + dev["hit@3"], dev["hit@1"], params, dev, assessed))
    results.sort(key=lambda r: (-r[0], -r[1]))
    print("objective  hit@1  hit@3  absF1  | fusion  min_rel  ratio")
    for objective, _, params, dev, _ in results[:15]:
        print(f"{objective:9.3f}  {dev['hit@1']:.3f}  {dev['hit@3']:.3f}  {dev['abstention_F1']:.3f}  | "
              f"{params.fusion:6}  {params.min_relevance:7.2f}  {params.answer_ratio:6.2f}")  # fmt: skip
    _, _, best, dev, assessed = results[0]
    test = score(answerer, best, splits["test"], assessed["test"], sources)
    in_use = score(
        answerer, DEFAULT_RETRIEVAL, splits["test"],
        {i.id: answerer.assess(AskRequest(i.question, i.history)) for i in splits["test"]}, sources,
    )  # fmt: skip
    print(f"\nbest on dev: {best}\n  dev:  {dev}\n  test: {test}\n  test with the settings in use: {in_use}")


if __name__ == "__main__":
    main()
