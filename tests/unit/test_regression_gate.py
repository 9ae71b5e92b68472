"""The regression gate's arithmetic, without the model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from followup.evaluate.regression import (
    GATED,
    GATED_GRADED,
    GATED_SUITES,
    GRADED_SUITE,
    GRADED_TOLERANCE,
    TOLERANCE,
    baseline_figures,
    regressions,
)


@pytest.mark.parametrize("suite", GATED_SUITES)
def test_the_gate_catches_a_drop(suite: str) -> None:
    figures = dict(baseline_figures(suite))
    assert set(GATED) <= set(figures)
    assert regressions(suite, figures) == []
    figures["hit@3"] -= TOLERANCE + 0.01
    [line] = regressions(suite, figures)
    assert line.startswith(f"{suite} hit@3:")


def test_the_graded_gate_catches_fewer_answers_and_more_false_abstentions() -> None:
    figures = dict(baseline_figures(GRADED_SUITE))
    assert regressions(GRADED_SUITE, figures, gated=GATED_GRADED, tolerance=GRADED_TOLERANCE) == []
    better = figures | {"false_abstention": figures["false_abstention"] - 0.1, "hit@1": figures["hit@1"] + 0.1}
    assert regressions(GRADED_SUITE, better, gated=GATED_GRADED, tolerance=GRADED_TOLERANCE) == []
    worse = figures | {"false_abstention": figures["false_abstention"] + GRADED_TOLERANCE + 0.01}
    [line] = regressions(GRADED_SUITE, worse, gated=GATED_GRADED, tolerance=GRADED_TOLERANCE)
    assert line.startswith(f"{GRADED_SUITE} false_abstention:")


def test_a_suite_missing_from_the_baseline_is_named(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"suites": {}}), encoding="utf-8")
    with pytest.raises(KeyError, match=re.escape("no figures for blind-holdout.jsonl")):
        regressions("blind-holdout.jsonl", {}, baseline)
