"""Follow-ups on many articles with every sentence graded for every question (2: it answers, 1: relevant
evidence a clinician wants beside the answer, 0: not), and what a reader sees measured against them:
whether the first passage answers, how many shown passages bear on the question, how much of the
answer is shown, and whether the sources' silence is said. Per article and pooled.

The grades name sentences by their verbatim text in the article (evals/articles/follow-ups.jsonl), so
they hold while the chunking changes; a passage takes the best grade of the graded sentences it
overlaps, at any of its places.

A suite exported from clinicians' feedback (evaluate/feedback_suite.py) is graded in part: its items say
`"partial": true`, grade only the passages a clinician judged (in the article or in one of its references:
a grade may name its `source_id`), and list the passages judged not relevant or wrong under `flagged`.
There, a sentence nobody judged is unknown rather than 0: evidence precision counts the judged passages
only, and a question with no answering passage is not taken to be out of scope. `wrong_shown` counts the
questions where a passage reported wrong is shown again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from followup.answerer import Answerer
from followup.core.errors import CorpusError
from followup.core.progress import ProgressLine
from followup.core.types import AskRequest
from followup.evaluate.metrics import percentiles
from followup.evaluate.suite_eval import Config
from followup.evaluate.suites import read_items
from followup.present.contract import Answer

ANSWERS, RELEVANT = 2, 1
FLAGS = ("not_relevant", "wrong")  # what a flagged sentence was reported as


@dataclass(frozen=True)
class GradedSentence:
    text: str  # verbatim, as its source's text has it
    grade: int  # 2 answers, 1 relevant evidence (0s are not listed)
    source_id: str | None = None  # None: the item's article


@dataclass(frozen=True)
class FlaggedSentence:
    """A passage reported not relevant or wrong (partially graded suites)."""

    text: str
    verdict: str  # one of FLAGS
    source_id: str | None = None


@dataclass(frozen=True)
class GradedItem:
    id: str
    article: str
    split: str
    kind: str
    question: str
    history: tuple[str, ...]
    grades: tuple[GradedSentence, ...]
    flagged: tuple[FlaggedSentence, ...] = ()
    partial: bool = False  # graded where a clinician judged only; see the module's docstring

    @property
    def answerable(self) -> bool:
        """The grader found a sentence that answers: the sources do answer."""
        return any(g.grade == ANSWERS for g in self.grades)


def is_graded_suite(path: Path) -> bool:
    """A suite whose items carry sentence grades (rather than gold answer spans)."""
    if not path.is_file():
        return False
    with path.open(encoding="utf-8") as lines:
        first = next((line for line in lines if line.strip()), "")
    try:
        return isinstance(row := json.loads(first), dict) and "grades" in row
    except json.JSONDecodeError:
        return False


def load_graded(path: Path, split: str = "all") -> list[GradedItem]:
    """Items of the split ("dev", "test" or "all"); any malformed line is an error naming it."""

    def item(row: dict[str, Any]) -> GradedItem:
        return GradedItem(
            id=str(row["id"]),
            article=str(row["article"]),
            split=row["split"],
            kind=row["kind"],
            question=row["question"],
            history=tuple(str(h) for h in row.get("history", [])),
            grades=tuple(GradedSentence(str(g["text"]), int(g["grade"]), _source(g)) for g in row["grades"]),
            flagged=tuple(FlaggedSentence(str(f["text"]), str(f["verdict"]), _source(f))
                          for f in row.get("flagged", [])),
            partial=row.get("partial", False) is True,
        )  # fmt: skip

    def problem(found: GradedItem) -> str | None:
        if any(g.grade not in (ANSWERS, RELEVANT) for g in found.grades):
            return "a grade is 2 (answers) or 1 (relevant); sentences graded 0 are not listed"
        if any(f.verdict not in FLAGS for f in found.flagged):
            return f"a flagged sentence's verdict is one of {', '.join(FLAGS)}"
        return None

    return read_items(path, item, problem, split)


def _source(row: dict[str, Any]) -> str | None:
    return None if row.get("source_id") is None else str(row["source_id"])


@dataclass(frozen=True)
class GradedSpan:
    source_id: str
    start: int
    end: int
    grade: int


def graded_spans(item: GradedItem, texts: dict[str, str]) -> list[GradedSpan]:
    """Where each graded sentence stands in its source's text (the article's, unless it names another)."""
    return [_span(item, g.source_id, g.text, texts, g.grade) for g in item.grades]


def flagged_spans(item: GradedItem, texts: dict[str, str], verdict: str) -> list[GradedSpan]:
    """Where each sentence flagged with `verdict` stands, graded 0."""
    return [_span(item, f.source_id, f.text, texts, 0) for f in item.flagged if f.verdict == verdict]


def _span(item: GradedItem, source_id: str | None, sentence: str, texts: dict[str, str], grade: int) -> GradedSpan:
    source = source_id or item.article
    text = texts.get(source)
    if text is None:
        raise CorpusError(item.id, f"source {source!r} is not in the index; the graded articles are asked "
                          "in the development library: make library, then --index build/library/index "
                          "--corpus build/library/corpus")  # fmt: skip
    start = text.find(sentence)
    if start < 0:
        raise CorpusError(item.id, f"graded sentence not found verbatim in {source}: {sentence[:60]!r}")
    return GradedSpan(source, start, start + len(sentence), grade)


def place_grade(source_id: str, start: int, end: int, spans: Sequence[GradedSpan]) -> int:
    return max((s.grade for s in spans if s.source_id == source_id and start < s.end and s.start < end), default=0)


def _touches(place: tuple[str, int, int], spans: Sequence[GradedSpan]) -> bool:
    source_id, start, end = place
    return any(s.source_id == source_id and start < s.end and s.start < end for s in spans)


def shown_measures(
    item: GradedItem, answer: Answer, spans: Sequence[GradedSpan], wrong: Sequence[GradedSpan] = (),
    not_relevant: Sequence[GradedSpan] = (),
) -> dict[str, float]:  # fmt: skip
    """Per-question values; a run's figure is their mean over the questions each applies to. `wrong` and
    `not_relevant`: the item's flagged sentences (flagged_spans)."""
    places = [[(p.source_id, p.start, p.end), *((q.source_id, q.start, q.end) for q in p.also_in)]
              for p in answer.passages]  # fmt: skip
    grades = [max(place_grade(*place, spans) for place in group) for group in places]
    values: dict[str, float] = {"passages": float(len(grades))}
    if wrong:
        values["wrong_shown"] = float(any(_touches(place, wrong) for group in places for place in group))
    if not item.answerable and not item.partial:
        values["out_of_scope_abstained"] = float(not answer.answered)
        return values
    if item.answerable:
        values["false_abstention"] = float(not answer.answered)
        values["hit@1"] = float(ANSWERS in grades[:1])
        values["hit@3"] = float(ANSWERS in grades[:3])
        answering = [s for s in spans if s.grade == ANSWERS]
        shown = [s for s in answering if any(place_grade(*place, [s]) for group in places for place in group)]
        values["answer_recall"] = len(shown) / len(answering)
    if item.partial:  # only the passages a clinician judged count
        flagged = [*wrong, *not_relevant]
        grades = [g for g, group in zip(grades, places, strict=True)
                  if g or any(_touches(place, flagged) for place in group)]  # fmt: skip
    if grades:
        values["evidence_precision"] = sum(g >= RELEVANT for g in grades) / len(grades)
    return values


FIGURES = ("hit@1", "hit@3", "evidence_precision", "answer_recall", "out_of_scope_abstained", "false_abstention",
           "passages")  # fmt: skip
FEEDBACK_FIGURES = (*FIGURES, "wrong_shown")  # a suite with passages reported wrong


def summarise(rows: Sequence[dict[str, float]], figure_names: Sequence[str] = FIGURES) -> dict[str, float]:
    figures = {}
    for key in figure_names:
        present = [r[key] for r in rows if key in r]
        figures[key] = sum(present) / len(present) if present else 0.0
    return figures


@dataclass(frozen=True)
class GradedResult:
    pooled: dict[str, float]
    by_article: dict[str, dict[str, float]]
    latency_ms: dict[str, float]
    rows: list[dict[str, Any]]


def evaluate_graded(
    answerer: Answerer, items: Sequence[GradedItem], configs: Sequence[Config]
) -> dict[str, GradedResult]:
    """Each question asked scoped to its article, with its history, in each configuration."""
    index = answerer.index
    texts = {doc_id: doc.text for doc_id, doc in index.documents.items()}
    spans = {item.id: graded_spans(item, texts) for item in items}
    wrong = {item.id: flagged_spans(item, texts, "wrong") for item in items}
    not_relevant = {item.id: flagged_spans(item, texts, "not_relevant") for item in items}
    names = FEEDBACK_FIGURES if any(wrong.values()) else FIGURES
    results: dict[str, GradedResult] = {}
    progress = ProgressLine("questions x configurations")
    total, done = len(items) * len(configs), 0
    for config in configs:
        runner = Answerer(index, answerer.encoder, config.params)
        rows: list[dict[str, Any]] = []
        timings: list[float] = []
        for item in items:
            request = AskRequest(item.question, item.history, article_id=item.article, mode=config.mode)
            started = time.perf_counter()
            answer = runner.answer(request)
            timings.append((time.perf_counter() - started) * 1000)
            rows.append({"query_id": item.id, "article": item.article, "split": item.split, "mode": config.name,
                         "kind": item.kind,
                         "metrics": shown_measures(item, answer, spans[item.id], wrong[item.id],
                                                   not_relevant[item.id]),
                         "answered": answer.answered,
                         "passages": [p.text for p in answer.passages]})  # fmt: skip
            done += 1
            progress(done, total)
        articles = sorted({item.article for item in items})
        by_article = {a: summarise([r["metrics"] for r in rows if r["article"] == a], names) for a in articles}
        results[config.name] = GradedResult(summarise([r["metrics"] for r in rows], names), by_article,
                                            percentiles(timings), rows)  # fmt: skip
    return results
