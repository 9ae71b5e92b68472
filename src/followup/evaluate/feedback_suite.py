"""Clinicians' feedback (core/feedback.py) as a graded suite (evaluate/graded.py) that `followup eval`
runs: one item per question asked (the same question, history and article), its passages graded by the
verdicts on them.

- `answers` is grade 2, `relevant` grade 1; `not_relevant` and `wrong` are not relevant (grade 0, which
  the format does not list): they go under the item's `flagged`, with their verdict, so a passage
  reported wrong stays visible and `followup eval` counts whether it is shown again (`wrong_shown`).
- Several verdicts on one passage (the same source and text): the most cautious wins, `wrong` before
  `not_relevant` before `relevant` before `answers`. One clinician's "wrong" is a safety signal that
  another's "answers" must not outvote; every verdict stays counted in the entry's `reports`.
- Items are `"partial": true`: only the passages a clinician judged are graded.
- A passage is named by its verbatim text and source, as a graded sentence is, so the suite holds while
  the offsets move under a changed corpus.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from followup.core.feedback import VERDICTS, StoredReport, Verdict
from followup.evaluate.graded import ANSWERS, RELEVANT

GRADES: dict[Verdict, int] = {"answers": ANSWERS, "relevant": RELEVANT, "not_relevant": 0, "wrong": 0}
MOST_CAUTIOUS_FIRST: tuple[Verdict, ...] = tuple(reversed(VERDICTS))


@dataclass(frozen=True)
class ExportedSuite:
    rows: tuple[dict[str, Any], ...]  # one JSON object a line
    reports: int
    passages: int
    conflicts: int  # passages given more than one verdict


def item_id(article_id: str, history: Sequence[str], question: str) -> str:
    """Stable across exports: the same conversation is the same item."""
    key = json.dumps([article_id, list(history), question], ensure_ascii=False)
    return "feedback-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def settled_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    return next(v for v in MOST_CAUTIOUS_FIRST if v in verdicts)


def feedback_suite(reports: Sequence[StoredReport], split: str) -> ExportedSuite:
    """The reports as graded items of `split`, in the order their first report came."""
    questions: dict[tuple[str, tuple[str, ...], str], list[StoredReport]] = {}
    for stored in sorted(reports, key=lambda s: s.id):
        r = stored.report
        questions.setdefault((r.article_id, r.history, r.question), []).append(stored)
    rows, passages, conflicts = [], 0, 0
    for (article_id, history, question), asked in questions.items():
        by_passage: dict[tuple[str, str], list[StoredReport]] = {}
        for stored in asked:
            by_passage.setdefault((stored.report.source_id, stored.report.text), []).append(stored)
        grades, flagged = [], []
        for (source_id, text), judged in by_passage.items():
            verdicts = [s.report.verdict for s in judged]
            verdict = settled_verdict(verdicts)
            conflicts += len(set(verdicts)) > 1
            entry = {"source_id": source_id, "text": text, "verdict": verdict,
                     "reports": dict(Counter(verdicts)), "report_ids": [s.id for s in judged],
                     "comments": [s.report.comment for s in judged if s.report.comment]}  # fmt: skip
            if GRADES[verdict]:
                grades.append({**entry, "grade": GRADES[verdict]})
            else:
                flagged.append(entry)
        passages += len(by_passage)
        wrong = sum(f["verdict"] == "wrong" for f in flagged)
        notes = (f"from {len(asked)} clinician report(s) on {len(by_passage)} passage(s), builds "
                 f"{', '.join(sorted({s.report.build for s in asked}))}"
                 + (f"; {wrong} passage(s) reported wrong" if wrong else ""))  # fmt: skip
        rows.append({"id": item_id(article_id, history, question), "article": article_id, "split": split,
                     "kind": "elliptical" if history else "direct", "question": question, "history": list(history),
                     "partial": True, "grades": grades, "flagged": flagged, "notes": notes,
                     "first_reported": asked[0].created_at, "last_reported": asked[-1].created_at})  # fmt: skip
    return ExportedSuite(tuple(rows), len(reports), passages, conflicts)


def suite_lines(suite: ExportedSuite) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in suite.rows)
