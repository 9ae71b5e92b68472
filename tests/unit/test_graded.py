from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from followup.core.errors import CorpusError
from followup.core.types import Role, Tier
from followup.evaluate.graded import (
    GradedItem,
    GradedSentence,
    graded_spans,
    is_graded_suite,
    load_graded,
    shown_measures,
    summarise,
)
from followup.present.contract import Answer, Passage

TEXT = "Acupuncture lowered PHQ-9 by 2.5 points. Counselling lowered it by 1.7. Both were safe. Costs differ."
ANSWER, ALSO, SAFE, COSTS = "Acupuncture lowered PHQ-9 by 2.5 points.", "Counselling lowered it by 1.7.", \
    "Both were safe.", "Costs differ."  # fmt: skip


def item(grades: tuple[tuple[str, int], ...], kind: str = "direct") -> GradedItem:
    return GradedItem("q1", "trial", "dev", kind, "How much did PHQ-9 fall?", (),
                      tuple(GradedSentence(t, g) for t, g in grades))  # fmt: skip


def passage(text: str, rank: int = 1) -> Passage:
    start = TEXT.index(text)
    return Passage(rank, text, text, "trial", "Results", (0,), Tier.RCT, 0.5, start, start + len(text),
                   role=Role.ANSWER if rank == 1 else Role.EVIDENCE)  # fmt: skip


def answer(*texts: str) -> Answer:
    passages = tuple(passage(t, rank) for rank, t in enumerate(texts, start=1))
    return Answer("How much did PHQ-9 fall?", "", "trial", bool(passages), passages, ())


def measures(grades: tuple[tuple[str, int], ...], *shown: str) -> dict[str, float]:
    graded = item(grades)
    return shown_measures(graded, answer(*shown), graded_spans(graded, {"trial": TEXT}))


def test_the_answer_first_and_every_shown_passage_judged_by_its_grade() -> None:
    values = measures(((ANSWER, 2), (ALSO, 2), (SAFE, 1)), ANSWER, SAFE, COSTS)
    assert values["hit@1"] == 1.0 and values["hit@3"] == 1.0
    assert values["evidence_precision"] == pytest.approx(2 / 3)  # the cost sentence is noise
    assert values["answer_recall"] == 0.5 and values["false_abstention"] == 0.0


def test_an_answer_shown_below_noise_is_a_hit_at_3_only() -> None:
    values = measures(((ANSWER, 2),), COSTS, SAFE, ANSWER)
    assert (values["hit@1"], values["hit@3"]) == (0.0, 1.0)
    assert values["evidence_precision"] == pytest.approx(1 / 3)


def test_abstaining_on_an_answerable_question_is_a_false_abstention_and_recalls_nothing() -> None:
    values = measures(((ANSWER, 2),))
    assert values["false_abstention"] == 1.0 and values["answer_recall"] == 0.0 and "evidence_precision" not in values


def test_a_question_nothing_answers_counts_only_for_abstention() -> None:
    assert measures(((SAFE, 1),)) == {"passages": 0.0, "out_of_scope_abstained": 1.0}
    assert measures(((SAFE, 1),), SAFE)["out_of_scope_abstained"] == 0.0
    pooled = summarise([measures(((SAFE, 1),)), measures(((ANSWER, 2),), ANSWER)])
    assert pooled["out_of_scope_abstained"] == 1.0 and pooled["hit@1"] == 1.0


def test_a_graded_sentence_not_in_the_article_is_an_error_naming_the_question() -> None:
    with pytest.raises(CorpusError, match=r"q1.*not found verbatim in trial"):
        graded_spans(item((("A sentence the article never says.", 2),)), {"trial": TEXT})


def write(path: Path, *rows: Mapping[str, object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


ROW: dict[str, object] = {"id": "q1", "article": "trial", "split": "dev", "kind": "direct", "question": "How much?",
                          "history": [], "grades": [{"text": ANSWER, "grade": 2}]}  # fmt: skip


def test_a_graded_suite_is_told_apart_and_loaded_by_split(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", ROW, ROW | {"id": "q2", "split": "test", "grades": []})
    assert is_graded_suite(path) and not is_graded_suite(write(tmp_path / "g.jsonl", {"id": "x", "gold": []}))
    assert [i.id for i in load_graded(path, "dev")] == ["q1"] and load_graded(path)[1].answerable is False


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (ROW | {"grades": [{"text": ANSWER, "grade": 3}]}, "a grade is 2 (answers) or 1"),
        (ROW | {"split": "train"}, "split must be one of"),
        ({k: v for k, v in ROW.items() if k != "article"}, "malformed item (KeyError: 'article')"),
    ],
)
def test_a_malformed_line_is_named(tmp_path: Path, row: dict[str, object], problem: str) -> None:
    with pytest.raises(CorpusError) as error:
        load_graded(write(tmp_path / "s.jsonl", ROW | {"id": "q0"}, row))
    assert "s.jsonl:2" in str(error.value) and problem in str(error.value)
