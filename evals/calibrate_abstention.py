"""Choose the abstention threshold on written questions: evals/abstention-calibration.jsonl.

Each line: {"question": ..., "answerable": true|false, "history": [...]?}. For every question the
script records the raw signals the answerer uses (best passage relevance; what the question names
that the sources never mention), then sweeps `min_relevance` and reports abstention precision,
recall and F1 (positive = should abstain).
The chosen value is the middle of the widest run of thresholds with the best F1: as far as possible
from both classes. Run after `followup index`:

    python evals/calibrate_abstention.py [--index index] [--file evals/abstention-calibration.jsonl]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from followup.answer.stages import is_answerable
from followup.answerer import Answerer
from followup.core.settings import DEFAULT_RETRIEVAL
from followup.core.types import AskRequest


def f1_scores(signals: list[tuple[float, tuple[str, ...], bool]], threshold: float) -> tuple[float, float, float]:
    params = replace(DEFAULT_RETRIEVAL, min_relevance=threshold)
    abstained = [not is_answerable(rel, not_covered, params) for rel, not_covered, _ in signals]
    should = [not answerable for _, _, answerable in signals]
    tp = sum(a and s for a, s in zip(abstained, should, strict=True))
    precision = tp / sum(abstained) if any(abstained) else 1.0
    recall = tp / sum(should) if any(should) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--file", type=Path, default=Path(__file__).with_name("abstention-calibration.jsonl"))
    args = parser.parse_args()
    answerer = Answerer.load(args.index)
    signals = []
    for line in args.file.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        assessment = answerer.assess(AskRequest(item["question"], tuple(item.get("history", []))))
        not_covered = assessment.retrieval.not_covered
        signals.append((assessment.best_relevance, not_covered, bool(item["answerable"])))
        print(
            f"{'answerable' if item['answerable'] else 'out-of-scope':12} relevance {assessment.best_relevance:.3f} "
            f"{'not covered: ' + ', '.join(not_covered) if not_covered else ''}  {item['question']}"
        )
    thresholds = [round(0.20 + 0.01 * i, 2) for i in range(41)]
    results = [(t, *f1_scores(signals, t)) for t in thresholds]
    print("\nmin_relevance  precision  recall  F1")
    for t, p, r, f in results:
        print(f"{t:13.2f}  {p:9.3f}  {r:6.3f}  {f:.3f}")
    best_f1 = max(f for *_, f in results)
    runs: list[list[float]] = []
    for t, *_, f in results:
        if f == best_f1:
            if runs and round(runs[-1][-1] + 0.01, 2) == t:
                runs[-1].append(t)
            else:
                runs.append([t])
    widest = max(runs, key=len)
    chosen = round((widest[0] + widest[-1]) / 2, 2)
    print(
        f"\nbest F1 {best_f1:.3f} for min_relevance {widest[0]:.2f}..{widest[-1]:.2f}; choose {chosen:.2f} "
        f"(in use: {DEFAULT_RETRIEVAL.min_relevance:.2f})"
    )


if __name__ == "__main__":
    main()
