"""Build the development library (followup/evaluate/library.py) into OUT_DIR: OUT_DIR/corpus and
OUT_DIR/index. `followup eval evals/articles/follow-ups.jsonl --index OUT_DIR/index --corpus
OUT_DIR/corpus` then asks each graded follow-up scoped to its article.

    python evals/build_library.py [OUT_DIR]     (default build/library; `make library`)
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from followup.evaluate.library import build_library

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "library"
    corpus, index, built = build_library(out, ROOT / "corpus", ROOT / "evals" / "articles")
    print(f"library: {corpus} ({built.articles} articles, {built.chunks} chunks), index {index}")
