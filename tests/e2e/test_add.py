"""An article brought in with `followup add` is indexed and answered like the hand-made seed folder."""

from __future__ import annotations

from pathlib import Path

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
