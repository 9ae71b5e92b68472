"""A build's manifest read into `Manifest`: the fields readers use, and the same messages as before for
a manifest that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from followup.core.errors import IndexProblem
from followup.core.settings import DEFAULT_CHUNKING, ChunkingParams
from followup.core.words import tokenize
from followup.index.bm25 import BM25Index
from followup.index.layout import (
    CURRENT,
    FORMAT_VERSION,
    MANIFEST,
    QUERY_MODEL_FILE,
    QUESTION_MODEL_FILE,
    QUESTION_MODEL_FP32_FILE,
    BuildLocation,
    Manifest,
    build_recipe,
    current_build,
    new_build,
    publish,
    read_manifest,
    write_manifest,
)
from followup.index.reader import load_index, question_model
from followup.index.records import write_records
from followup.ingest.chunking import chunk_documents
from followup.ingest.corpus import load_corpus


def written(tmp_path: Path, content: dict[str, object]) -> BuildLocation:
    with new_build(tmp_path) as work:
        (work / "data.txt").write_text("one")
        write_manifest(work, content)
        return publish(tmp_path, work, "a" * 64)


def test_the_fields_are_what_the_build_wrote(tmp_path: Path) -> None:
    recipe = build_recipe(ChunkingParams())
    content = {**recipe, "corpus_hash": "c" * 64, "corpus_files": {"a/article.md": [3, 7, "f" * 64]},
               "created_at": "2025-01-31T12:00:00Z", "counts": {"chunks": 2}, "segments": ["segment-000001"],
               "search_backend": {"kind": "milvus", "uri": "http://m:19530", "collection": "c"}}  # fmt: skip
    manifest = read_manifest(written(tmp_path, content))
    assert manifest.corpus_hash == "c" * 64 and manifest.created_at == "2025-01-31T12:00:00Z"
    assert manifest.corpus_files == content["corpus_files"]  # JSON: a record reads back as a list
    assert manifest.chunking == ChunkingParams().as_dict() and manifest.followup_version == recipe["followup_version"]
    assert manifest.model == recipe["model"] and manifest.query_encoder == recipe["query_encoder"]
    assert manifest.question_encoder == recipe["question_encoder"] == QUESTION_MODEL_FILE
    assert manifest.question_encoder_fp32 == recipe["question_encoder_fp32"] == QUESTION_MODEL_FP32_FILE
    assert manifest.counts == {"chunks": 2} and manifest.segments == ["segment-000001"]
    assert manifest.search_backend == {"kind": "milvus", "uri": "http://m:19530", "collection": "c"}
    assert set(manifest.files) == {"data.txt"} and manifest.files["data.txt"]["bytes"] == 3
    assert manifest.raw == {"format_version": FORMAT_VERSION, **content, "files": manifest.files}


def test_absent_keys_read_as_none_and_an_older_build_as_embedded() -> None:
    manifest = Manifest.from_raw({"format_version": FORMAT_VERSION})
    assert manifest.search_backend == {"kind": "embedded"} and manifest.files == {}
    assert manifest.created_at is None and manifest.corpus_hash is None and manifest.corpus_files is None
    assert manifest.chunking is None and manifest.followup_version is None and manifest.model is None
    assert manifest.counts is None and manifest.segments is None and manifest.query_encoder is None
    assert manifest.question_encoder is None and manifest.question_encoder_fp32 is None


def test_questions_use_the_int8_model_on_cpus_with_int8_dot_products_else_the_fp32_one(tmp_path: Path) -> None:
    raw = {"query_encoder": QUERY_MODEL_FILE, "question_encoder": QUESTION_MODEL_FILE}
    current = Manifest.from_raw({**raw, "question_encoder_fp32": QUESTION_MODEL_FP32_FILE})
    session15 = Manifest.from_raw(raw)  # int8 only
    older = Manifest.from_raw({"query_encoder": QUERY_MODEL_FILE})
    assert question_model(tmp_path, current, int8=True) == tmp_path / QUESTION_MODEL_FILE
    assert question_model(tmp_path, current, int8=False) == tmp_path / QUESTION_MODEL_FP32_FILE
    assert question_model(tmp_path, session15, int8=True) == tmp_path / QUESTION_MODEL_FILE
    assert question_model(tmp_path, session15, int8=False) == tmp_path / QUERY_MODEL_FILE  # fp32 beats int8 there
    assert question_model(tmp_path, older, int8=True) == tmp_path / QUERY_MODEL_FILE
    only_int8 = Manifest.from_raw({"question_encoder": QUESTION_MODEL_FILE})
    assert question_model(tmp_path, only_int8, int8=False) == tmp_path / QUESTION_MODEL_FILE
    assert question_model(tmp_path, Manifest.from_raw({}), int8=True) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "{not json",
            "unreadable manifest (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        ("", "unreadable manifest (Expecting value: line 1 column 1 (char 0))"),
        ("[1, 2]", "index format None, this followup reads 2"),
        ('{"files": {}}', "index format None, this followup reads 2"),
        ('{"format_version": 999}', "index format 999, this followup reads 2"),
        ('{"format_version": "2"}', "index format '2', this followup reads 2"),
    ],
)
def test_a_malformed_manifest_gives_the_same_message_as_before(tmp_path: Path, text: str, problem: str) -> None:
    location = written(tmp_path, {})
    (location.path / MANIFEST).write_text(text)
    with pytest.raises(IndexProblem) as raised:
        read_manifest(location)
    assert str(raised.value) == f"{location.path / MANIFEST}: {problem}: run `followup index --force`"


def test_a_missing_manifest_is_unreadable(tmp_path: Path) -> None:
    location = written(tmp_path, {})
    (location.path / MANIFEST).unlink()
    with pytest.raises(IndexProblem, match=r"manifest\.json: unreadable manifest \(\[Errno 2\] No such file"):
        read_manifest(location)


def test_a_build_without_segments_is_an_unreadable_index_as_before(tmp_path: Path, corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir)
    chunks = chunk_documents(corpus.documents, DEFAULT_CHUNKING)
    with new_build(tmp_path) as work:
        write_records(work, corpus.articles, corpus.documents, chunks)
        BM25Index([tokenize("spasm") for _ in chunks]).save(work)
        # On Milvus, so no dense index is read before the segments are looked for.
        write_manifest(work, {"search_backend": {"kind": "milvus", "uri": "http://m:19530", "collection": "c"}})
        location = publish(tmp_path, work, "a" * 64)
    assert (tmp_path / CURRENT).read_text().strip() == location.name
    with pytest.raises(IndexProblem) as raised:
        load_index(tmp_path)
    assert (
        str(raised.value) == f"{location.path}: unreadable index (KeyError: 'segments'): run `followup index --force`"
    )


def test_a_build_without_a_search_backend_is_read_as_embedded(tmp_path: Path) -> None:
    location = written(tmp_path, {"segments": []})
    manifest = json.loads((location.path / MANIFEST).read_text())
    assert "search_backend" not in manifest
    assert read_manifest(current_build(tmp_path)).search_backend == {"kind": "embedded"}
