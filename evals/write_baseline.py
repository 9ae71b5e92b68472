"""Write evals/baseline.json: each gated suite's figures with the settings in use, which CI must keep:
the seed's suites in the bundled corpus, and the graded articles' dev split in the development
library (built into build/library when it is not up to date).

Run after a change that is meant to move the figures, and commit the new baseline with the change:

    python evals/write_baseline.py [--index index] [--corpus corpus]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from followup.answerer import Answerer
from followup.evaluate.graded import load_graded
from followup.evaluate.library import build_library
from followup.evaluate.regression import (
    BASELINE,
    EVALS,
    GATED,
    GATED_GRADED,
    GATED_SUITES,
    GRADED_SPLIT,
    GRADED_SUITE,
    default_figures,
    graded_figures,
)
from followup.evaluate.suites import load_suite
from followup.ingest.corpus import load_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    args = parser.parse_args()
    answerer = Answerer.load(args.index, args.corpus)
    corpus = load_corpus(args.corpus)
    suites = {}
    for suite in GATED_SUITES:
        figures = default_figures(answerer, corpus, load_suite(EVALS / suite, "all"))
        suites[suite] = {"split": "all", "figures": {k: round(figures[k], 4) for k in GATED}}
    root = EVALS.parent
    library_corpus, library_index, _ = build_library(root / "build" / "library", root / "corpus", EVALS / "articles")
    graded = graded_figures(
        Answerer.load(library_index, library_corpus), load_graded(EVALS / GRADED_SUITE, GRADED_SPLIT)
    )
    suites[GRADED_SUITE] = {"split": GRADED_SPLIT, "figures": {k: round(graded[k], 4) for k in GATED_GRADED}}
    baseline = {"suites": suites}
    BASELINE.write_text(json.dumps(baseline, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(baseline, indent=2))


if __name__ == "__main__":
    main()
