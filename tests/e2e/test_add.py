"""An article brought in with `followup add` is indexed and answered like the hand-made seed folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from followup.answerer import Answerer
from followup.core.types import AskRequest, Tier
from followup.index.build import build_index
from followup.ingest.add import ReferenceFile, add_article

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def test_an_added_article_answers_from_its_imported_label_and_abstract(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    refs = [
        ReferenceFile(2, FIXTURES / "spl-valium-indications.xml"),
        ReferenceFile(7, FIXTURES / "pubmed-chou-2004.xml"),
    ]
    add_article(FIXTURES / "page-muscle-spasm.txt", corpus, "muscle-spasm", refs)
    assert build_index(corpus, index).rebuilt
    answerer = Answerer.load(index, corpus)

    label = answerer.answer(AskRequest("What is Valium indicated for besides muscle spasm?"))
    assert label.passages and label.passages[0].citations == (2,)
    assert label.passages[0].source_label == "VALIUM label · Indications and Usage"
    assert label.passages[0].tier is Tier.DRUG_LABEL

    review = answerer.answer(AskRequest("Which muscle relaxants work for spasticity in multiple sclerosis?"))
    cited = [p for p in review.passages if p.source_id == "muscle-spasm/ref-7"]
    assert cited and cited[0].tier is Tier.SYSTEMATIC_REVIEW
    assert cited[0].source_label == "Chou 2004 · systematic review · Abstract"


RETRACTED = FIXTURES / "pubmed-wakefield-1998-retracted.xml"  # PMID 9500320, retracted by PMID 20137807
NOTICE = FIXTURES / "pubmed-lancet-2010-retraction-notice.xml"
# Its best passage is in the retracted paper's abstract ("We identified associated gastrointestinal
# disease and developmental regression in a group of previously normal children, ...").
ABSTRACT_QUESTION = "Which intestinal abnormalities did the children with developmental regression have?"
# Its best passage is the article's "Muscle spasms after spinal cord injury 6", citing only reference 6.
CITING_QUESTION = "What causes muscle spasms after spinal cord injury?"


def followup(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "followup.cli", *args], input=stdin, capture_output=True, text=True, timeout=600
    )


def before_the_retraction(tmp_path: Path) -> Path:
    """The same PubMed record without its two signals (the type and the RetractionIn relations): the
    control that shows the question would be answered from the paper's abstract."""
    text = RETRACTED.read_text(encoding="utf-8")
    relations = text[
        text.index('<CommentsCorrections RefType="RetractionIn">') : text.index("</CommentsCorrectionsList>")
    ]
    kind = '<PublicationType UI="D016441">Retracted Publication</PublicationType>'
    assert kind in text
    path = tmp_path / "wakefield-1998-before-the-retraction.xml"
    path.write_text(text.replace(relations, "").replace(kind, ""), encoding="utf-8")
    return path


@pytest.mark.model
def test_a_retracted_pubmed_reference_is_warned_about_and_never_cited(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    page = str(FIXTURES / "page-muscle-spasm.txt")
    where = ["--corpus", str(corpus)]
    added = followup(
        "add", page, "--id", "muscle-spasm", *where, "--ref", "6", str(RETRACTED), "--ref", "8", str(NOTICE), "--json"
    )
    assert added.returncode == 0, added.stderr
    warning = (
        "reference 6 (PMID 9500320) is retracted (retraction notices PMID 15016483, 20137807): "
        "it will never be ranked as evidence"
    )
    assert f"followup: warning: {warning}\n" in added.stderr
    assert "reference 8 (PMID 20137807) is a retraction notice of PMID 9500320 (reference 6)" in added.stderr
    summary = json.loads(added.stdout)
    assert warning in summary["warnings"]
    records = {r["number"]: r for r in summary["references"]}
    assert records[6]["retracted"] is True and records[8]["kind"] == "retraction_notice"
    control = followup("add", page, "--id", "control", *where, "--ref", "6", str(before_the_retraction(tmp_path)))
    assert control.returncode == 0, control.stderr
    assert "retracted" not in control.stderr

    built = followup("index", *where, "--index", str(index))
    assert built.returncode == 0, built.stderr
    requests = [
        {"id": f"{name}-{article}", "question": question, "article_id": article}
        for name, question in (("abstract", ABSTRACT_QUESTION), ("citing", CITING_QUESTION))
        for article in ("control", "muscle-spasm", None)
    ]
    asked = followup(
        "ask", "--jsonl", *where, "--index", str(index), stdin="".join(json.dumps(r) + "\n" for r in requests)
    )
    assert asked.returncode == 0, asked.stderr
    answers = {a["id"]: a for a in map(json.loads, asked.stdout.splitlines())}

    # The controls: the same abstract and the same article, the reference not retracted, answer from them.
    control = answers["abstract-control"]
    assert control["answered"] and control["passages"][0]["source_id"] == "control/ref-6"
    assert control["passages"][0]["citations"] == [6]
    assert "developmental regression" in control["passages"][0]["text"]
    control = answers["citing-control"]
    assert control["passages"][0]["source_id"] == "control" and control["passages"][0]["citations"] == [6]
    assert control["passages"][0]["text"].startswith("Muscle spasms after spinal cord injury")
    for name in ("abstract", "citing"):
        scoped, library = answers[f"{name}-muscle-spasm"], answers[f"{name}-None"]
        for answer in (scoped, library):
            passages = answer["passages"]
            assert not [p for p in passages if p["source_id"].startswith("muscle-spasm") and 6 in p["citations"]]
            places = [*passages, *(also for p in passages for also in p["also_in"])]
            assert "muscle-spasm/ref-6" not in {p["source_id"] for p in places}
            assert not [r for r in answer["references"] if r["article_id"] == "muscle-spasm" and r["number"] in (6, 8)]
        # Not even as another place of a passage: in the library the control article's identical sentence
        # is a passage, and this one, citing only the retracted paper, is not listed beside it.
        for answer in (scoped, library):
            assert not [a for p in answer["passages"] for a in p["also_in"]
                        if a["source_id"] == "muscle-spasm" and 6 in a["citations"]]  # fmt: skip
