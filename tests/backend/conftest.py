"""A real milvus-lite 2.5.1 engine for the backend tests: one per session, its own data directory and a
free loopback port, stopped at the end. Its tests are skipped, with the reason, where the 'milvus' extra
is missing."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex
from followup.index.milvus import (
    ChunkRows,
    MilvusBackend,
    MilvusRetriever,
    MilvusSettings,
    Vocabulary,
    build_rows,
)
from followup.index.retrievers import EmbeddedRetriever
from tests.milvus_engine import MilvusLiteEngine

# Without them, the tests that need the engine are skipped (a skip in a conftest would be an error);
# the sparse-row tests need neither.
MISSING = [name for name in ("pymilvus", "milvus_lite") if importlib.util.find_spec(name) is None]

CHUNKS_PER_ARTICLE = 25
ARTICLES = 24
DIMENSION = 32


@dataclass(frozen=True)
class Library:
    """A synthetic build: Zipf-distributed tokens, random unit vectors, articles of 25 chunks."""

    tokens: list[list[str]]
    bm25: BM25Index  # opened from disk, as a build is read
    vectors: np.ndarray
    article_ids: tuple[str, ...]
    embedded: EmbeddedRetriever
    rows: ChunkRows

    def chunks_of(self, *articles: str) -> np.ndarray:
        wanted = set(articles)
        chunks: np.ndarray = np.array([i for i, a in enumerate(self.article_ids) if a in wanted], dtype=np.int64)
        return chunks


def unit_vectors(rng: np.random.Generator, n: int, dimension: int = DIMENSION) -> np.ndarray:
    vectors = rng.normal(size=(n, dimension)).astype(np.float32)
    normalised: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised


def synthetic_tokens(rng: np.random.Generator, n: int, vocabulary: int = 2_000) -> list[list[str]]:
    ranks = np.minimum(rng.zipf(1.2, size=n * 60), vocabulary)
    lengths = rng.integers(8, 60, size=n)
    starts = np.concatenate(([0], np.cumsum(lengths)))
    return [[f"w{r}" for r in ranks[starts[i] : starts[i + 1]].tolist()] for i in range(n)]


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    rng = np.random.default_rng(7)
    n = ARTICLES * CHUNKS_PER_ARTICLE
    tokens = synthetic_tokens(rng, n)
    directory = tmp_path_factory.mktemp("bm25")
    BM25Index(tokens).save(directory)
    bm25 = BM25Index.open(directory)
    vectors = unit_vectors(rng, n)
    article_ids = tuple(f"article-{i // CHUNKS_PER_ARTICLE:02d}" for i in range(n))
    return Library(
        tokens,
        bm25,
        vectors,
        article_ids,
        EmbeddedRetriever(bm25, DenseIndex.build(vectors)),
        build_rows(bm25, vectors, article_ids),
    )


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusLiteEngine]:
    """The engine itself (not only its address), so a test can stop and restart it."""
    if MISSING:
        pytest.skip(f"{' and '.join(MISSING)} not installed: pip install -e '.[milvus]' for the Milvus backend tests")
    engine = MilvusLiteEngine(tmp_path_factory.mktemp("milvus"))
    engine.start()
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def backend(engine: MilvusLiteEngine) -> Iterator[MilvusBackend]:
    assert engine.running is not None
    backend = MilvusBackend(engine.running.uri, MilvusSettings.lite())
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def retriever(backend: MilvusBackend, library: Library) -> MilvusRetriever:
    """The whole library in collection `library_v1`, written once."""
    backend.write_collection("library_v1", library.rows)
    return MilvusRetriever(backend, "library_v1", Vocabulary(library.bm25))
