"""A build's searches on Milvus: its chunks written to a collection of their own while the build is
written, the index's alias pointed at it once the build is published, the collections of builds no
longer kept dropped. Readers search the collection their build's manifest names, never the alias, so a
question answered from one build never meets another build's chunk ids; the alias names the current
build for other tools. An interrupted build leaves its collection unreferenced, dropped by the next."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from followup.core.errors import IndexProblem
from followup.core.progress import ProgressLine
from followup.core.settings import Settings
from followup.index.backend_choice import BackendChoice, collection_prefix
from followup.index.bm25 import BM25Index
from followup.index.layout import BUILDS, BuildLocation, read_manifest
from followup.index.milvus import MilvusBackend, MilvusRetriever, MilvusSettings, Vocabulary, build_rows
from followup.index.retrievers import WrittenSearches

log = logging.getLogger(__name__)  # status lines: the CLI shows them on stderr (core/status_lines.py)


def backend_for(uri: str, engine: str) -> MilvusBackend:
    return MilvusBackend(uri, MilvusSettings.lite() if engine == "lite" else MilvusSettings.server())


def write_collection(
    choice: BackendChoice,
    index_dir: Path,
    bm25: BM25Index,
    vectors: np.ndarray,
    article_ids: Sequence[str],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """A new collection with the build's chunks; returns the manifest's search_backend entry."""
    prefix = collection_prefix(index_dir)
    collection = f"{prefix}_{uuid.uuid4().hex[:12]}"
    backend = backend_for(choice.milvus_uri, choice.milvus_engine)
    try:
        backend.write_collection(collection, build_rows(bm25, vectors, article_ids), progress)
    finally:
        backend.close()
    return {"kind": "milvus", "uri": choice.milvus_uri, "engine": choice.milvus_engine,
            "collection": collection, "alias": prefix, "rows": len(vectors)}  # fmt: skip


def after_publish(index_dir: Path, entry: dict[str, Any]) -> list[str]:
    """Points the index's alias at the published build's collection and drops the collections of this
    index that no kept build names (replaced builds, interrupted ones). Returns those dropped."""
    kept = {entry["collection"]}
    for build in (index_dir / BUILDS).iterdir():
        if build.is_dir() and not build.name.startswith("."):
            try:
                recorded = read_manifest(BuildLocation(index_dir, build.name), verify_files=False)
            except IndexProblem:
                continue  # not a build this followup reads: it names no collection it could serve
            if recorded.search_backend.get("kind") == "milvus":
                kept.add(recorded.search_backend["collection"])
    backend = backend_for(entry["uri"], entry["engine"])
    try:
        backend.point_alias(entry["alias"], entry["collection"])
        gone = [c for c in backend.collections() if c.startswith(f"{entry['alias']}_") and c not in kept]
        for name in gone:
            backend.drop_collection(name)
        return gone
    finally:
        backend.close()


def open_retriever(entry: Mapping[str, Any], bm25: BM25Index, chunks: int) -> MilvusRetriever:
    """The retriever of a build on Milvus, checked against the build: its collection exists and holds
    the build's chunks. $FOLLOWUP_MILVUS_URI overrides the recorded URI (an engine moved, a replica's
    own address for it)."""
    uri = Settings.from_environment().milvus_uri or entry["uri"]
    backend = backend_for(uri, entry.get("engine", "server"))
    collection = entry["collection"]
    if not backend.has_collection(collection):
        raise IndexProblem(
            f"Milvus at {uri} has no collection {collection} for this build: run `followup index --force`"
        )
    rows = backend.count(collection)
    if rows != chunks:
        raise IndexProblem(
            f"Milvus collection {collection} at {uri} holds {rows} chunks, the build {chunks}: "
            "run `followup index --force`"
        )
    return MilvusRetriever(backend, collection, Vocabulary(bm25))


def benchmark_retriever(choice: BackendChoice, label: str, bm25: BM25Index, vectors: np.ndarray,
                        documents: Sequence[str]) -> MilvusRetriever:  # fmt: skip
    """A benchmark's chunks in a collection of their own (each document its own article), written once
    and reused while it holds the same number of rows: `followup eval BEIR --backend milvus`."""
    backend = backend_for(choice.milvus_uri, choice.milvus_engine)
    collection = "followup_bench_" + "".join(c if c.isalnum() else "_" for c in label)
    if backend.has_collection(collection) and backend.count(collection) != len(vectors):
        backend.drop_collection(collection)
    if not backend.has_collection(collection):
        log.info("writing %d benchmark chunks to Milvus at %s", len(vectors), choice.milvus_uri)
        backend.write_collection(collection, build_rows(bm25, vectors, documents), ProgressLine("writing chunks"))
    return MilvusRetriever(backend, collection, Vocabulary(bm25))


class MilvusWriter:
    """A build's chunks in a collection of their own; the alias switched once the build is published."""

    def __init__(self, choice: BackendChoice, index_dir: Path) -> None:
        self._choice, self._index_dir = choice, index_dir

    def write(
        self, work: Path, previous: Any, keys: list[bytes], bm25: BM25Index, vectors: np.ndarray,
        article_ids: Sequence[str],
    ) -> WrittenSearches:  # fmt: skip
        log.info("writing %d chunks to Milvus at %s", len(vectors), self._choice.milvus_uri)
        entry = write_collection(self._choice, self._index_dir, bm25, vectors, article_ids,
                                 ProgressLine("writing chunks to Milvus"))  # fmt: skip
        return WrittenSearches(entry, {"kind": "milvus", "vectors": len(vectors), "rows": len(vectors)})

    def published(self, index_dir: Path, written: WrittenSearches) -> None:
        after_publish(index_dir, written.backend)
