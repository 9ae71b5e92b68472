"""Clinicians' feedback exported as a graded suite: verdicts as grades, reports on one question merged,
conflicts settled by the most cautious verdict, and the suite as `followup eval` loads and measures it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from followup.core.errors import CorpusError
from followup.core.feedback import FeedbackReport, StoredReport, add_report, read_reports
from followup.core.types import Role, Tier
from followup.evaluate.feedback_suite import feedback_suite, item_id, settled_verdict, suite_lines
from followup.evaluate.graded import (
    FEEDBACK_FIGURES,
    flagged_spans,
    graded_spans,
    is_graded_suite,
    load_graded,
    shown_measures,
    summarise,
)
from followup.present.contract import Answer, Passage

ARTICLE = "muscle-spasm"
REVIEW = "muscle-spasm/ref-7"
TEXTS = {
    ARTICLE: "Baclofen 10-20 mg three times daily helps 1. Stretching helps cramps. Quinine is not advised 1.",
    REVIEW: "Baclofen, tizanidine and dantrolene are effective. Dantrolene harms the liver.",
}
DOSE, STRETCH, QUININE = "Baclofen 10-20 mg three times daily helps 1.", "Stretching helps cramps.", \
    "Quinine is not advised 1."  # fmt: skip
EFFECTIVE, LIVER = "Baclofen, tizanidine and dantrolene are effective.", "Dantrolene harms the liver."
MS = "Which medication treats spasticity in multiple sclerosis?"


def stored(id_: int, text: str, verdict: str, question: str = "What dose should be used?",
           history: tuple[str, ...] = (MS,), comment: str | None = None) -> StoredReport:  # fmt: skip
    source = REVIEW if text in TEXTS[REVIEW] else ARTICLE
    start = TEXTS[source].index(text)
    report = FeedbackReport(question, history, ARTICLE, f"build-{id_ % 2}", f"build-{id_ % 2}", source, start,
                            start + len(text), text, verdict, comment)  # type: ignore[arg-type]  # fmt: skip
    return StoredReport(id_, f"2026-12-08T09:30:0{id_}.000000Z", report)


def test_verdicts_become_grades_and_flags() -> None:
    [row] = feedback_suite([stored(1, DOSE, "answers"), stored(2, EFFECTIVE, "relevant"),
                            stored(3, STRETCH, "not_relevant"), stored(4, LIVER, "wrong", comment="misleading")],
                           "test").rows  # fmt: skip
    assert [(g["text"], g["grade"], g["source_id"]) for g in row["grades"]] == [
        (DOSE, 2, ARTICLE),
        (EFFECTIVE, 1, REVIEW),
    ]
    assert [(f["text"], f["verdict"]) for f in row["flagged"]] == [(STRETCH, "not_relevant"), (LIVER, "wrong")]
    assert row["flagged"][1]["comments"] == ["misleading"]
    assert "1 passage(s) reported wrong" in row["notes"] and "builds build-0, build-1" in row["notes"]
    assert (row["article"], row["split"], row["kind"], row["partial"]) == (ARTICLE, "test", "elliptical", True)
    assert row["question"] == "What dose should be used?" and row["history"] == [MS]


def test_reports_on_one_conversation_are_one_item_and_others_are_not() -> None:
    reports = [stored(1, DOSE, "answers"), stored(2, STRETCH, "not_relevant", question="Do stretches help?",
               history=()), stored(3, EFFECTIVE, "relevant"), stored(4, DOSE, "answers", history=())]  # fmt: skip
    suite = feedback_suite(reports, "dev")
    assert [(r["question"], r["history"], len(r["grades"]) + len(r["flagged"])) for r in suite.rows] == [
        ("What dose should be used?", [MS], 2),  # reports 1 and 3
        ("Do stretches help?", [], 1),
        ("What dose should be used?", [], 1),  # the same question without its history is another one
    ]
    assert [r["kind"] for r in suite.rows] == ["elliptical", "direct", "direct"]
    assert (suite.reports, suite.passages, suite.conflicts) == (4, 4, 0)
    assert suite.rows[0]["id"] == item_id(ARTICLE, [MS], "What dose should be used?")  # stable across exports
    assert len({r["id"] for r in suite.rows}) == 3


def test_conflicting_verdicts_on_a_passage_keep_the_most_cautious_and_count_them_all() -> None:
    assert settled_verdict(["answers", "wrong", "relevant"]) == "wrong"
    assert settled_verdict(["relevant", "not_relevant"]) == "not_relevant"
    assert settled_verdict(["answers", "relevant"]) == "relevant"
    suite = feedback_suite([stored(1, DOSE, "answers"), stored(2, DOSE, "wrong"), stored(3, DOSE, "answers"),
                            stored(4, QUININE, "relevant"), stored(5, QUININE, "answers")], "test")  # fmt: skip
    [row] = suite.rows
    assert row["flagged"] == [{"source_id": ARTICLE, "text": DOSE, "verdict": "wrong", "reports": {"answers": 2,
                               "wrong": 1}, "report_ids": [1, 2, 3], "comments": []}]  # fmt: skip
    assert [(g["text"], g["grade"], g["reports"]) for g in row["grades"]] == [
        (QUININE, 1, {"relevant": 1, "answers": 1})
    ]
    assert suite.conflicts == 2


def test_the_exported_file_loads_as_a_graded_suite_with_its_flags(tmp_path: Path) -> None:
    path = tmp_path / "feedback-suite.jsonl"
    path.write_text(suite_lines(feedback_suite([stored(1, DOSE, "answers"), stored(2, LIVER, "wrong"),
                                                stored(3, STRETCH, "not_relevant")], "test")))  # fmt: skip
    assert is_graded_suite(path)
    [item] = load_graded(path, "test")
    assert item.partial and item.answerable and [g.source_id for g in item.grades] == [ARTICLE]
    assert [(f.verdict, f.source_id) for f in item.flagged] == [("wrong", REVIEW), ("not_relevant", ARTICLE)]
    assert load_graded(path, "dev") == []
    [wrong] = flagged_spans(item, TEXTS, "wrong")
    assert TEXTS[REVIEW][wrong.start : wrong.end] == LIVER and wrong.source_id == REVIEW


def test_a_flag_with_another_verdict_is_named(tmp_path: Path) -> None:
    row = json.loads(suite_lines(feedback_suite([stored(1, LIVER, "wrong")], "test")))
    row["flagged"][0]["verdict"] = "meh"
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(CorpusError, match=r"s\.jsonl:1: a flagged sentence's verdict is one of not_relevant, wrong"):
        load_graded(path)


def passage(text: str, rank: int) -> Passage:
    source = REVIEW if text in TEXTS[REVIEW] else ARTICLE
    start = TEXTS[source].index(text)
    return Passage(rank, text, text, source, "Results", (1,), Tier.GUIDELINE, 0.5, start, start + len(text),
                   role=Role.ANSWER if rank == 1 else Role.EVIDENCE)  # fmt: skip


def measured(tmp_path: Path, reports: list[StoredReport], *shown: str) -> dict[str, float]:
    path = tmp_path / "suite.jsonl"
    path.write_text(suite_lines(feedback_suite(reports, "test")))
    [item] = load_graded(path)
    passages = tuple(passage(t, rank) for rank, t in enumerate(shown, start=1))
    answer = Answer(item.question, "", ARTICLE, bool(passages), passages, ())
    return shown_measures(item, answer, graded_spans(item, TEXTS), flagged_spans(item, TEXTS, "wrong"),
                          flagged_spans(item, TEXTS, "not_relevant"))  # fmt: skip


def test_a_passage_reported_wrong_shown_again_is_counted(tmp_path: Path) -> None:
    reports = [stored(1, DOSE, "answers"), stored(2, LIVER, "wrong")]
    again = measured(tmp_path, reports, DOSE, LIVER)
    assert again["wrong_shown"] == 1.0 and again["hit@1"] == 1.0
    assert again["evidence_precision"] == 0.5  # of the two judged passages shown, one is relevant
    assert measured(tmp_path, reports, DOSE)["wrong_shown"] == 0.0


def test_in_a_partial_suite_unjudged_passages_and_no_answer_are_unknown_not_wrong(tmp_path: Path) -> None:
    # STRETCH was never judged: it does not lower precision; the answer shown first is a hit.
    values = measured(tmp_path, [stored(1, DOSE, "answers"), stored(2, QUININE, "relevant")], DOSE, STRETCH, QUININE)
    assert values["evidence_precision"] == 1.0 and values["hit@1"] == 1.0 and values["answer_recall"] == 1.0
    # Nothing reported as answering: not taken to be out of scope, so abstention is not measured.
    only_noise = measured(tmp_path, [stored(1, STRETCH, "not_relevant")], STRETCH, DOSE)
    assert only_noise == {"passages": 2.0, "evidence_precision": 0.0}
    assert "out_of_scope_abstained" not in measured(tmp_path, [stored(1, STRETCH, "not_relevant")])


def test_wrong_shown_is_a_figure_of_a_feedback_suite_only() -> None:
    assert "wrong_shown" in summarise([{"wrong_shown": 1.0}, {"passages": 1.0}], FEEDBACK_FIGURES)
    assert "wrong_shown" not in summarise([{"passages": 1.0}])
    assert summarise([{"wrong_shown": 1.0}, {"wrong_shown": 0.0}], FEEDBACK_FIGURES)["wrong_shown"] == 0.5


def test_reports_stored_and_read_back_export_the_same(tmp_path: Path) -> None:
    db = tmp_path / "feedback.sqlite3"
    for report in (stored(1, DOSE, "answers"), stored(2, LIVER, "wrong", comment="liver harm is rare")):
        add_report(db, report.report)
    [row] = feedback_suite(read_reports(db), "test").rows
    assert [g["text"] for g in row["grades"]] == [DOSE] and row["flagged"][0]["comments"] == ["liver harm is rare"]
