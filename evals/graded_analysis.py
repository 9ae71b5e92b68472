"""Per-question analysis of the graded articles' dev split: for each follow-up, what the default mode
showed and, where it failed, at which stage (retrieval, answer order, the relevance floor, the scope
checks). Writes docs/graded-dev-analysis.md. The test split is never analysed question by question.

    python evals/graded_analysis.py [--index build/library/index] [--corpus build/library/corpus]
"""

from __future__ import annotations

import argparse
import subprocess
from collections import Counter
from pathlib import Path

from followup.answerer import Answerer
from followup.core.types import AskRequest
from followup.evaluate.graded import ANSWERS, GradedItem, graded_spans, load_graded, place_grade

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "graded-dev-analysis.md"


def outcome(answerer: Answerer, item: GradedItem, texts: dict[str, str]) -> tuple[str, str]:
    """(what happened, the first passage's grade or why it abstained)."""
    request = AskRequest(item.question, item.history, article_id=item.article)
    assessment = answerer.assess(request)
    answer = answerer.decide(request, assessment)
    spans = graded_spans(item, texts)
    if not answer.answered:
        why = (
            f"names what the sources never mention: {', '.join(answer.not_covered)}"
            if answer.not_covered
            else (f"best relevance {assessment.best_relevance:.2f} below the floor")
        )
        return ("false abstention" if item.answerable else "abstained (right)"), why
    grades = [
        max([place_grade(p.source_id, p.start, p.end, spans), *(place_grade(q.source_id, q.start, q.end, spans)
                                                                 for q in p.also_in)])
        for p in answer.passages
    ]  # fmt: skip
    shown = f"first passage graded {grades[0]}; {sum(g >= 1 for g in grades)} of {len(grades)} bear on it"
    if not item.answerable:
        return "answered out of scope", shown
    if grades[0] == ANSWERS:
        return "hit@1", shown
    if ANSWERS in grades[:3]:
        return "hit@3 only", shown
    in_pool = any(place_grade(c.chunk.doc_id, c.start, c.end, spans) == ANSWERS for c in assessment.candidates)
    return ("answer scored below the first three" if in_pool else "answer not retrieved"), shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "build" / "library" / "index")
    parser.add_argument("--corpus", type=Path, default=ROOT / "build" / "library" / "corpus")
    args = parser.parse_args()
    answerer = Answerer.load(args.index, args.corpus)
    texts = {doc_id: doc.text for doc_id, doc in answerer.index.documents.items()}
    items = load_graded(ROOT / "evals" / "articles" / "follow-ups.jsonl", "dev")
    rows = [(item, *outcome(answerer, item, texts)) for item in items]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    lines = [
        "# The graded articles' dev split, question by question",
        "",
        f"Written by `python evals/graded_analysis.py` at commit {commit.strip()}: the default mode, each",
        "question scoped to its article in the development library. Outcomes, in pipeline order: the answering",
        "sentence never reached the scored candidates (*answer not retrieved*); it did, but scored below the",
        "first three (*answer scored below the first three*); in the first three but not first (*hit@3 only*);",
        "the question abstained although the article answers it (*false abstention*); the article does not",
        "answer it and passages were shown (*answered out of scope*).",
        "",
        "| outcome | " + " | ".join(kind for kind in ("direct", "lay", "elliptical", "out_of_scope")) + " | all |",
        "|---|---|---|---|---|---|",
    ]
    counts = Counter((what, item.kind) for item, what, _ in rows)
    for what in sorted({what for _, what, _ in rows}):
        cells = [str(counts[(what, kind)]) for kind in ("direct", "lay", "elliptical", "out_of_scope")]
        lines.append(f"| {what} | " + " | ".join(cells) + f" | {sum(counts[(what, k)] for k in KINDS)} |")
    for article in sorted({item.article for item in items}):
        lines += ["", f"## {article}", "", "| id | kind | question | outcome | detail |", "|---|---|---|---|---|"]
        for item, what, detail in rows:
            if item.article == article:
                question = item.question.replace("|", "/")
                asked = f"{' / '.join(item.history)} → {question}" if item.history else question
                lines.append(f"| {item.id.rsplit('-', 1)[-1]} | {item.kind} | {asked} | {what} | {detail} |")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


KINDS = ("direct", "lay", "elliptical", "out_of_scope")

if __name__ == "__main__":
    main()
