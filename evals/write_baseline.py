"""Write evals/baseline.json: the suite's figures with the settings in use, which CI must keep.

Run after a change that is meant to move the figures, and commit the new baseline with the change:

    python evals/write_baseline.py [--index index] [--corpus corpus]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from followup.corpus import load_corpus
from followup.pipeline import Answerer
from followup.regression import BASELINE, GATED, default_figures
from followup.suite import load_suite

SUITE = Path(__file__).with_name("muscle-spasm-suite.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    args = parser.parse_args()
    answerer = Answerer.load(args.index, args.corpus)
    figures = default_figures(answerer, load_corpus(args.corpus), load_suite(SUITE, "all"))
    baseline = {"suite": SUITE.name, "split": "all", "figures": {k: round(figures[k], 4) for k in GATED}}
    BASELINE.write_text(json.dumps(baseline, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(baseline, indent=2))


if __name__ == "__main__":
    main()
