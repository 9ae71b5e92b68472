"""The regression gate: each gated suite's figures with the settings in use, against a committed
baseline (evals/baseline.json, one entry per suite file)."""

from __future__ import annotations

import json
from pathlib import Path

from followup.answerer import Answerer
from followup.core.settings import DEFAULT_RETRIEVAL
from followup.evaluate.suite_eval import Config, evaluate_suite
from followup.evaluate.suites import SuiteItem
from followup.ingest.corpus import Corpus

EVALS = Path(__file__).resolve().parents[3] / "evals"
BASELINE = EVALS / "baseline.json"
# The own suite, and the two blind holdouts written without seeing the system (see the README).
GATED_SUITES = ("muscle-spasm-suite.jsonl", "blind-holdout.jsonl", "blind-holdout-2.jsonl")
# A figure may drop by at most this much (absolute): two questions of the own suite's 96 answerable
# ones; on the blind holdout's 30, any one question.
TOLERANCE = 0.02
GATED = ("nDCG@10", "R@10", "RR@10", "hit@1", "hit@3", "citation_accuracy", "abstention_F1", "tier_ordering",
         "grounding")  # fmt: skip


def default_figures(answerer: Answerer, corpus: Corpus, items: list[SuiteItem]) -> dict[str, float]:
    config = Config("default", "hybrid", DEFAULT_RETRIEVAL)
    [result] = evaluate_suite(answerer, corpus, items, [config]).values()
    return {**result.retrieval, **result.answers}


def baseline_figures(suite: str, baseline_path: Path = BASELINE) -> dict[str, float]:
    suites: dict[str, dict[str, dict[str, float]]] = json.loads(baseline_path.read_text(encoding="utf-8"))["suites"]
    if suite not in suites:
        raise KeyError(f"{baseline_path} has no figures for {suite}: run evals/write_baseline.py")
    return suites[suite]["figures"]


def regressions(suite: str, figures: dict[str, float], baseline_path: Path = BASELINE) -> list[str]:
    """One line per gated figure that fell more than TOLERANCE below the suite's baseline."""
    baseline = baseline_figures(suite, baseline_path)
    return [
        f"{suite} {name}: {figures[name]:.4f} < baseline {baseline[name]:.4f} - {TOLERANCE}"
        for name in GATED
        if figures[name] < baseline[name] - TOLERANCE
    ]
