"""The regression gate: the own suite's figures with the settings in use, against a committed baseline."""

from __future__ import annotations

import json
from pathlib import Path

from followup.config import DEFAULT_RETRIEVAL
from followup.corpus import Corpus
from followup.eval_suite import Config, evaluate_suite
from followup.pipeline import Answerer
from followup.suite import SuiteItem

BASELINE = Path(__file__).resolve().parents[2] / "evals" / "baseline.json"
# A figure may drop by at most this much (absolute): two questions of the 96 answerable ones.
TOLERANCE = 0.02
GATED = ("nDCG@10", "R@10", "RR@10", "hit@1", "hit@3", "citation_accuracy", "abstention_F1", "tier_ordering",
         "grounding")  # fmt: skip


def default_figures(answerer: Answerer, corpus: Corpus, items: list[SuiteItem]) -> dict[str, float]:
    config = Config("default", "hybrid", DEFAULT_RETRIEVAL)
    [result] = evaluate_suite(answerer, corpus, items, [config]).values()
    return {**result.retrieval, **result.answers}


def regressions(figures: dict[str, float], baseline_path: Path = BASELINE) -> list[str]:
    """One line per gated figure that fell more than TOLERANCE below the baseline."""
    baseline = json.loads(baseline_path.read_text(encoding="utf-8"))["figures"]
    return [
        f"{name}: {figures[name]:.4f} < baseline {baseline[name]:.4f} - {TOLERANCE}"
        for name in GATED
        if figures[name] < baseline[name] - TOLERANCE
    ]
