"""The regression gate's arithmetic, without the model."""

from __future__ import annotations

import json

from followup.regression import BASELINE, GATED, TOLERANCE, regressions


def test_the_gate_catches_a_drop() -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    figures = dict(baseline["figures"])
    assert regressions(figures) == []
    figures["hit@3"] -= TOLERANCE + 0.01
    [line] = regressions(figures)
    assert line.startswith("hit@3:")
    assert set(GATED) <= set(baseline["figures"])
