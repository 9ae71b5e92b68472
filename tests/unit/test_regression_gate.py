"""The regression gate's arithmetic, without the model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from followup.evaluate.regression import GATED, GATED_SUITES, TOLERANCE, baseline_figures, regressions


@pytest.mark.parametrize("suite", GATED_SUITES)
def test_the_gate_catches_a_drop(suite: str) -> None:
    figures = dict(baseline_figures(suite))
    assert set(GATED) <= set(figures)
    assert regressions(suite, figures) == []
    figures["hit@3"] -= TOLERANCE + 0.01
    [line] = regressions(suite, figures)
    assert line.startswith(f"{suite} hit@3:")


def test_a_suite_missing_from_the_baseline_is_named(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"suites": {}}), encoding="utf-8")
    with pytest.raises(KeyError, match=re.escape("no figures for blind-holdout.jsonl")):
        regressions("blind-holdout.jsonl", {}, baseline)
