"""A build on Milvus (a real milvus-lite 2.5.1 engine) answers as the embedded build does, switches its
alias on a rebuild, drops what no build names, and says so clearly when the engine is down."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from followup.answerer import Answerer
from followup.core.errors import BackendUnavailable
from followup.core.types import AskRequest, EvidenceFilter, Tier
from followup.evaluate.suites import load_suite
from followup.index.backend_choice import BackendChoice, collection_prefix
from followup.index.build import build_index
from followup.index.layout import current_build, read_manifest
from followup.index.milvus import MilvusBackend
from followup.index.milvus_build import backend_for
from tests.milvus_engine import MilvusLiteEngine

pytestmark = pytest.mark.model

EVALS = Path(__file__).resolve().parents[2] / "evals"
SUITES = ("muscle-spasm-suite.jsonl", "blind-holdout.jsonl", "blind-holdout-2.jsonl")


def _on_milvus(engine: MilvusLiteEngine, index_dir: Path) -> tuple[BackendChoice, MilvusBackend, str]:
    """What the tests write builds with, a client to inspect the engine, and the index's collection prefix."""
    assert engine.running is not None
    uri = engine.running.uri
    return BackendChoice("milvus", uri, "lite"), backend_for(uri, "lite"), collection_prefix(index_dir)


def _passages(answerer: Answerer, request: AskRequest) -> list[tuple[str, int, int, str]]:
    answer = answerer.answer(request)
    return [(p.source_id, p.start, p.end, p.role.value) for p in answer.passages]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, engine: MilvusLiteEngine) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("milvus-build")
    corpus = root / "corpus"
    shutil.copytree(corpus_dir, corpus)
    assert engine.running is not None
    milvus = BackendChoice("milvus", engine.running.uri, "lite")
    build_index(corpus, root / "embedded")
    build_index(corpus, root / "milvus", backend=milvus)
    return {"corpus": corpus, "embedded": root / "embedded", "milvus": root / "milvus"}


def test_a_build_on_milvus_answers_every_suite_question_as_the_embedded_build(builds: dict[str, Path]) -> None:
    embedded = Answerer.load(builds["embedded"], builds["corpus"])
    milvus = Answerer.load(builds["milvus"], builds["corpus"])
    assert type(milvus.index.retriever).__name__ == "MilvusRetriever" and milvus.index.dense is None
    items = [item for suite in SUITES for item in load_suite(EVALS / suite)]
    assert len(items) > 150
    for item in items:
        for article in (None, "muscle-spasm"):
            request = AskRequest(item.question, item.history, article_id=article)
            assert _passages(milvus, request) == _passages(embedded, request), item.id


def test_an_evidence_filter_searches_the_same_chunks_on_milvus(builds: dict[str, Path]) -> None:
    embedded = Answerer.load(builds["embedded"], builds["corpus"])
    milvus = Answerer.load(builds["milvus"], builds["corpus"])
    filters = [EvidenceFilter(frozenset({Tier.SYSTEMATIC_REVIEW})), EvidenceFilter(frozenset({Tier.DRUG_LABEL})),
               EvidenceFilter(since=2020), EvidenceFilter(frozenset({Tier.RCT}))]  # fmt: skip
    items = load_suite(EVALS / SUITES[0])[:20]
    shown = 0
    for evidence in filters:
        for item in items:
            request = AskRequest(item.question, item.history, evidence=evidence)
            ranked = [chunk for chunk, _ in milvus.retrieve(request).ranking]  # scores differ in float32 rounding
            assert ranked == [chunk for chunk, _ in embedded.retrieve(request).ranking], (item.id, evidence)
            assert set(ranked) <= set(embedded.index.evidence_scope(evidence, None).chunks.tolist())
            found = _passages(milvus, request)
            assert found == _passages(embedded, request), (item.id, evidence)
            shown += len(found)
    assert shown > 0


def test_a_rebuild_points_the_alias_at_its_collection_and_drops_those_no_build_names(
    builds: dict[str, Path], engine: MilvusLiteEngine
) -> None:
    milvus, backend, prefix = _on_milvus(engine, builds["milvus"])
    first = read_manifest(current_build(builds["milvus"])).search_backend["collection"]
    article = builds["corpus"] / "muscle-spasm" / "article.md"
    original = article.read_text(encoding="utf-8")
    try:
        article.write_text(original + "\nA sentence added to change the article.\n", encoding="utf-8")
        build_index(builds["corpus"], builds["milvus"], backend=milvus)
        second = read_manifest(current_build(builds["milvus"])).search_backend["collection"]
        assert second != first and backend.aliases()[prefix] == second
        article.write_text(original, encoding="utf-8")
        build_index(builds["corpus"], builds["milvus"], backend=milvus)
        third = read_manifest(current_build(builds["milvus"])).search_backend["collection"]
        # The current build and the one before it are kept (a reader may still be on it); the first is gone.
        ours = {c for c in backend.collections() if c.startswith(f"{prefix}_")}
        assert ours == {second, third} and backend.aliases()[prefix] == third
    finally:
        article.write_text(original, encoding="utf-8")
        backend.close()


def test_an_engine_that_is_down_is_named_and_recovers_when_it_is_back(
    builds: dict[str, Path], engine: MilvusLiteEngine
) -> None:
    answerer = Answerer.load(builds["milvus"], builds["corpus"])
    request = AskRequest("What dose of baclofen is used?")
    before = _passages(answerer, request)
    from fastapi.testclient import TestClient

    from followup.serve.app import ServiceSettings, create_app

    client = TestClient(create_app(ServiceSettings(builds["milvus"], builds["corpus"]), answerer))
    engine.stop()
    try:
        with pytest.raises(BackendUnavailable, match=re.escape("Milvus at http://127.0.0.1")):
            answerer.answer(request)
        response = client.post("/v1/ask", json={"question": request.question})
        assert response.status_code == 503 and "is the engine running?" in response.json()["detail"]
    finally:
        engine.start()
    assert _passages(answerer, request) == before
    assert client.post("/v1/ask", json={"question": request.question}).status_code == 200


def test_an_interrupted_build_leaves_the_old_collection_serving_and_its_own_is_dropped_later(
    builds: dict[str, Path], engine: MilvusLiteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import followup.index.build

    milvus, backend, prefix = _on_milvus(engine, builds["milvus"])
    serving = read_manifest(current_build(builds["milvus"])).search_backend["collection"]
    answerer = Answerer.load(builds["milvus"], builds["corpus"])
    request = AskRequest("What dose of baclofen is used?")
    before = _passages(answerer, request)

    def killed(*_: object) -> None:
        raise KeyboardInterrupt  # the build stopped after its collection was written, before publishing

    def ours() -> set[str]:
        return {c for c in backend.collections() if c.startswith(f"{prefix}_")}

    kept = ours()
    monkeypatch.setattr(followup.index.build, "publish", killed)
    with pytest.raises(KeyboardInterrupt):
        build_index(builds["corpus"], builds["milvus"], force=True, backend=milvus)
    orphans = ours() - kept
    assert len(orphans) == 1 and backend.aliases()[prefix] == serving
    assert _passages(Answerer.load(builds["milvus"], builds["corpus"]), request) == before
    monkeypatch.undo()
    build_index(builds["corpus"], builds["milvus"], force=True, backend=milvus)
    assert not orphans & set(backend.collections()), "the next build drops what no build names"
    backend.close()


def test_a_plain_followup_index_keeps_an_index_on_milvus(
    builds: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from followup.cli import main

    for name in ("FOLLOWUP_BACKEND", "FOLLOWUP_MILVUS_URI", "FOLLOWUP_MILVUS_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    before = read_manifest(current_build(builds["milvus"])).search_backend
    assert main(["index", "--corpus", str(builds["corpus"]), "--index", str(builds["milvus"])]) == 0
    assert "index up to date" in capsys.readouterr().out
    assert read_manifest(current_build(builds["milvus"])).search_backend == before
