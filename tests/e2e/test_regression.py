"""CI's regression gate: each gated suite with the settings in use may not fall below evals/baseline.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.answerer import Answerer
from followup.evaluate.graded import load_graded
from followup.evaluate.regression import (
    EVALS,
    GATED_GRADED,
    GATED_SUITES,
    GRADED_SPLIT,
    GRADED_SUITE,
    GRADED_TOLERANCE,
    TOLERANCE,
    default_figures,
    graded_figures,
    regressions,
)
from followup.evaluate.suites import load_suite
from followup.ingest.corpus import load_corpus

pytestmark = pytest.mark.model


@pytest.mark.parametrize("suite", GATED_SUITES)
def test_gated_suites_do_not_regress(answerer: Answerer, built: tuple[Path, Path], suite: str) -> None:
    figures = default_figures(answerer, load_corpus(built[0]), load_suite(EVALS / suite, "all"))
    assert figures["grounding"] == 1.0, "every passage must be a verbatim slice of its source"
    assert figures["tier_ordering"] == 1.0
    failed = regressions(suite, figures)
    assert not failed, f"regressions beyond the tolerance of {TOLERANCE}:\n" + "\n".join(failed)


def test_graded_dev_articles_do_not_regress(library_answerer: Answerer) -> None:
    figures = graded_figures(library_answerer, load_graded(EVALS / GRADED_SUITE, GRADED_SPLIT))
    failed = regressions(GRADED_SUITE, figures, gated=GATED_GRADED, tolerance=GRADED_TOLERANCE)
    assert not failed, "regressions on the graded dev articles:\n" + "\n".join(failed)
