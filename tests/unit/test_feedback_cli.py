"""`followup feedback export`: the feedback file as a graded suite, written whole, a summary on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from followup.cli import main
from followup.core.feedback import FeedbackReport, add_report
from followup.evaluate.graded import load_graded

DOSE = "Baclofen 10-20 mg three times daily helps 1."


def report(verdict: str, question: str = "What dose should be used?") -> FeedbackReport:
    return FeedbackReport(question, (), "muscle-spasm", "b1", "b1", "muscle-spasm", 0, len(DOSE), DOSE,
                          verdict, "per day" if verdict == "wrong" else None)  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
def index_with_feedback(tmp_path: Path) -> Path:
    index = tmp_path / "index"
    for verdict, question in (("answers", "What dose?"), ("wrong", "What dose?"), ("relevant", "Is it safe?")):
        add_report(index / "feedback.sqlite3", report(verdict, question))
    return index


def test_export_writes_a_suite_followup_eval_loads(
    index_with_feedback: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out" / "feedback-suite.jsonl"
    assert main(["feedback", "export", "--index", str(index_with_feedback), "--output", str(output)]) == 0
    items = load_graded(output, "test")
    assert [(i.question, [g.grade for g in i.grades], [f.verdict for f in i.flagged]) for i in items] == [
        ("What dose?", [], ["wrong"]),  # answers and wrong on one passage: the most cautious
        ("Is it safe?", [1], []),
    ]
    err = capsys.readouterr().err
    assert f"3 report(s) in {index_with_feedback / 'feedback.sqlite3'} -> 2 item(s), 2 passage(s)" in err
    assert "(0 answers, 1 relevant, 0 not_relevant, 1 wrong); 1 passage(s) with conflicting verdicts" in err
    assert f"followup eval {output} --split test" in err
    assert [p.name for p in output.parent.iterdir()] == [output.name]  # no partial file left


def test_export_to_stdout_with_db_and_split(
    index_with_feedback: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = index_with_feedback / "feedback.sqlite3"
    assert main(["feedback", "export", "--db", str(db), "--index", str(tmp_path / "elsewhere"), "--split", "dev"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["split"] for r in rows] == ["dev", "dev"] and rows[0]["flagged"][0]["comments"] == ["per day"]


def test_the_environment_names_the_file(
    index_with_feedback: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FOLLOWUP_FEEDBACK_DB", str(index_with_feedback / "feedback.sqlite3"))
    assert main(["feedback", "export", "--index", "/nonexistent"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_no_feedback_file_is_an_error_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feedback", "export", "--index", str(tmp_path)]) == 1
    assert f"feedback file {tmp_path / 'feedback.sqlite3'}: not found" in capsys.readouterr().err
    assert not (tmp_path / "feedback.sqlite3").exists()


def test_an_unwritable_output_fails_and_leaves_the_old_file(
    index_with_feedback: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "blocker").write_text("a file")
    assert main(["feedback", "export", "--index", str(index_with_feedback), "--output",
                 str(tmp_path / "blocker" / "suite.jsonl")]) == 1  # fmt: skip
    assert "blocker/suite.jsonl: cannot write the suite" in capsys.readouterr().err
    kept = tmp_path / "suite.jsonl"
    kept.write_text("the previous export\n")
    kept.chmod(0o644)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "feedback.sqlite3").write_bytes(b"not a database" * 100)
    assert main(["feedback", "export", "--index", str(tmp_path / "broken"), "--output", str(kept)]) == 1
    assert kept.read_text() == "the previous export\n"


def test_feedback_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["feedback"])
    assert exit_.value.code == 2 and "ACTION" in capsys.readouterr().err
