"""Every answer of the project's question files, written down so that a change meant to keep behaviour
can be checked: each question of evals/*.jsonl, in each retrieval mode, over the whole library and
scoped to each article of the index (top_k 3), as the answer contract's JSON, one file per suite and
mode. Meant for the bundled corpus the suites are written for: a library multiplies the scoped runs.

    python evals/answer_snapshot.py OUT_DIR [--index index] [--corpus corpus]
    diff -r BEFORE_DIR AFTER_DIR

The refactoring issue's protocol ("the held-out and own-suite answers are identical before and after")
is this script run on both commits; the files differ in nothing but the answers.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import followup
from followup.core.settings import MODES
from followup.present.render import answer_to_contract

EVALS = Path(__file__).resolve().parent
SCOPED_TOP_K = 3


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    history: tuple[str, ...]


def questions(path: Path) -> list[Question]:
    """The questions of a suite or calibration file (both JSON lines with `question` and `history`)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Question(str(r.get("id", n)), r["question"], tuple(r.get("history", []))) for n, r in enumerate(rows, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the answer files")
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    args = parser.parse_args()
    answerer = followup.open_index(args.index, corpus_dir=args.corpus)
    args.out.mkdir(parents=True, exist_ok=True)
    for suite in sorted(EVALS.glob("*.jsonl")):
        items = questions(suite)
        for mode in MODES:
            lines = []
            for item in items:
                for article, top_k in ((None, 5), *((a, SCOPED_TOP_K) for a in sorted(answerer.index.articles))):
                    request = followup.AskRequest(item.question, item.history, article, top_k, mode)
                    answer = answer_to_contract(answerer.answer(request))
                    lines.append(json.dumps({"id": item.id, "article": article, **answer}, ensure_ascii=False))
            (args.out / f"{suite.stem}-{mode}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
            print(f"{suite.stem} ({mode}): {len(lines)} answers")


if __name__ == "__main__":
    main()
