"""Assemble evals/articles/follow-ups.jsonl from each article folder's raw work: the writer's
questions (questions.written.jsonl), the second reader's grades by sentence id (grades.written.jsonl)
and the article's numbered sentences (sentences.tsv), with each article's split from splits.tsv.

    python evals/assemble_graded.py
"""

from __future__ import annotations

import json
from pathlib import Path

ARTICLES = Path(__file__).resolve().parent / "articles"


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def article_rows(folder: Path, split: str) -> list[str]:
    sentences = {}
    for line in (folder / "sentences.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        sentence_id, _section, text = line.split("\t", 2)
        sentences[sentence_id] = text
    grades = {str(g["id"]): g for g in read_jsonl(folder / "grades.written.jsonl")}
    rows = []
    for question in read_jsonl(folder / "questions.written.jsonl"):
        graded = grades[str(question["id"])]
        marks = graded["grades"]
        assert isinstance(marks, dict)
        kept = sorted((sid, int(grade)) for sid, grade in marks.items() if int(grade) > 0)
        row = {
            "id": question["id"], "article": folder.name, "split": split, "kind": question["kind"],
            "question": question["question"], "history": question["history"],
            "answerable": any(grade == 2 for _, grade in kept),
            "grades": [{"sentence": sid, "text": sentences[sid], "grade": grade} for sid, grade in kept],
            "writer_expected_answer": bool(question["answerable"]), "grader_comment": graded.get("comment", ""),
        }  # fmt: skip
        rows.append(json.dumps(row, ensure_ascii=False))
    return rows


def main() -> None:
    splits = [line.split("\t") for line in (ARTICLES / "splits.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    rows = [row for slug, split in splits for row in article_rows(ARTICLES / slug, split)]
    (ARTICLES / "follow-ups.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} follow-ups from {len(splits)} articles")


if __name__ == "__main__":
    main()
