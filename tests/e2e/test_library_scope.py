"""Across a library, a question that names a drug is searched in the articles that mention it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from followup.answerer import Answerer
from followup.core.types import AskRequest
from followup.index.build import build_index
from followup.index.layout import EMBEDDINGS

pytestmark = pytest.mark.model

# A made-up second article for this test only: its one sentence is the library's only mention of quinine.
QUININE = "Quinine is no longer advised for nocturnal leg cramps because of its serious adverse effects 1."


@pytest.fixture(scope="module")
def library(built: tuple[Path, Path], answerer: Answerer, tmp_path_factory: pytest.TempPathFactory) -> Answerer:
    seed_corpus, seed_index = built
    root = tmp_path_factory.mktemp("library")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(seed_corpus, corpus)
    shutil.copytree(seed_index / EMBEDDINGS, index / EMBEDDINGS)  # only the new article is embedded
    folder = corpus / "night-cramps"
    folder.mkdir()
    metadata = {"id": "night-cramps", "title": "Night cramps", "last_updated": "2025-01-01", "text_file": "article.md"}
    (folder / "article.json").write_text(json.dumps(metadata))
    (folder / "article.md").write_text(f"# From the Research\n\n{QUININE}\n")
    (folder / "references.json").write_text(json.dumps({"references": [{"number": 1, "kind": "review"}]}))
    build_index(corpus, index)
    return Answerer(Answerer.load(index, corpus).index, answerer.encoder)


def test_a_library_wide_question_is_answered_from_the_articles_that_mention_its_drug(library: Answerer) -> None:
    request = AskRequest("Is quinine effective for night-time leg cramps?")
    searched = {library.index.chunks[chunk_id].article_id for chunk_id, _ in library.retrieve(request).ranking}
    assert searched == {"night-cramps"}  # the seed article's cramp sentences are not even candidates
    answer = library.answer(request)
    assert answer.answered and answer.not_covered == ()
    assert [p.text for p in answer.passages] == [QUININE]


def test_scoped_to_an_article_that_never_mentions_it_the_question_is_not_answered(library: Answerer) -> None:
    answer = library.answer(AskRequest("Is quinine effective for night-time leg cramps?", article_id="muscle-spasm"))
    assert not answer.answered and answer.not_covered == ("quinine",)


def test_named_together_nowhere_is_reported_whole(library: Answerer) -> None:
    answer = library.answer(AskRequest("Is quinine better than baclofen for cramps?"))
    assert not answer.answered and answer.not_covered == ("quinine", "baclofen")
