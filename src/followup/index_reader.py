"""Load a build into memory, refusing one that is missing, corrupt or stale."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from followup.bm25 import BM25Index
from followup.codec import article_from_dict, chunk_from_dict, document_from_dict
from followup.config import ChunkingParams
from followup.corpus import corpus_fingerprint
from followup.dense import DenseIndex
from followup.errors import CorpusError, IndexProblem
from followup.indexer import DENSE_INDEX_FILE, MEDICATIONS_FILE, build_recipe
from followup.store import current_build, read_jsonl, read_manifest
from followup.token_vectors import ChunkTokens
from followup.types import Article, Chunk, Document


@dataclass(frozen=True)
class SearchIndex:
    manifest: dict[str, Any]
    articles: dict[str, Article]
    documents: dict[str, Document]
    chunks: tuple[Chunk, ...]
    bm25: BM25Index
    dense: DenseIndex
    sentence_vectors: np.ndarray
    sentence_offsets: np.ndarray  # chunk i's sentences are rows offsets[i] .. offsets[i] + len
    tokens: ChunkTokens  # each chunk's token vectors, for the answer score
    chunk_ids_by_article: dict[str, np.ndarray]
    vocabulary_by_article: dict[str, frozenset[str]]
    query_model: Path | None  # the ONNX query encoder of this build, when it has one
    medication_lexicon: dict[str, str]  # medication name -> drug (medications.py)
    medication_names_by_article: dict[str, dict[str, list[str]]]  # article -> drug -> names its sources use

    def allowed_chunks(self, article_id: str | None) -> np.ndarray | None:
        return None if article_id is None else self.chunk_ids_by_article[article_id]

    def chunks_of(self, article_id: str) -> list[Chunk]:
        return [self.chunks[i] for i in self.chunk_ids_by_article[article_id]]

    def chunks_of_articles(self, article_ids: Iterable[str]) -> np.ndarray:
        """The articles' chunk ids in ascending order, as scoped search wants them."""
        return np.sort(np.concatenate([self.chunk_ids_by_article[a] for a in article_ids]))


def check_fresh(manifest: dict[str, Any], corpus_dir: Path) -> None:
    """Raise when the corpus or the indexing recipe changed since the build."""
    try:
        current = corpus_fingerprint(corpus_dir)
    except CorpusError as e:
        raise IndexProblem(f"cannot check the index against the corpus: {e}") from None
    if manifest.get("corpus_hash") != current:
        raise IndexProblem(
            f"the index is stale: {corpus_dir} changed since the index was built ({manifest.get('created_at')}); "
            "run `followup index`"
        )
    recipe = build_recipe(ChunkingParams(**manifest["chunking"]))
    if any(manifest.get(key) != value for key, value in recipe.items()):
        raise IndexProblem(
            "the index was built by another followup version, model, medication lexicon or index layout: "
            "run `followup index`"
        )


def load_index(index_dir: Path, corpus_dir: Path | None = None) -> SearchIndex:
    location = current_build(index_dir)
    manifest = read_manifest(location)
    if corpus_dir is not None:
        check_fresh(manifest, corpus_dir)
    path = location.path
    try:
        corpus = json.loads((path / "corpus.json").read_text(encoding="utf-8"))
        articles = {a.id: a for a in map(article_from_dict, corpus["articles"])}
        documents = {d.id: d for d in map(document_from_dict, corpus["documents"])}
        chunks = tuple(chunk_from_dict(c) for c in read_jsonl(path / "chunks.jsonl"))
        tokens = read_jsonl(path / "chunk-tokens.jsonl")
        dense = DenseIndex.load(path / DENSE_INDEX_FILE)
        # Mapped, not read: a question touches the sentences of its top chunks only (250 MB at MedQuAD scale).
        sentence_vectors = np.load(path / "sentence-vectors.npy", mmap_mode="r")
        tokens_of_chunks = ChunkTokens(path)
        medications = json.loads((path / MEDICATIONS_FILE).read_text(encoding="utf-8"))
        lexicon, names_by_article = medications["lexicon"], medications["names_by_article"]
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:  # faiss raises RuntimeError
        raise IndexProblem(
            f"{path}: unreadable index ({type(e).__name__}: {e}): run `followup index --force`"
        ) from None
    counts = [len(c.sentences) for c in chunks]
    same_chunks = len(tokens) == len(chunks) == dense.info.vectors == tokens_of_chunks.chunks
    if not (same_chunks and sum(counts) == sentence_vectors.shape[0]):
        raise IndexProblem(f"{path}: index files disagree on the number of chunks: run `followup index --force`")
    by_article: dict[str, list[int]] = {}
    vocab: dict[str, set[str]] = {}
    for chunk, chunk_tokens in zip(chunks, tokens, strict=True):
        by_article.setdefault(chunk.article_id, []).append(chunk.id)
        vocab.setdefault(chunk.article_id, set()).update(chunk_tokens)
    return SearchIndex(
        manifest=manifest,
        articles=articles,
        documents=documents,
        chunks=chunks,
        bm25=BM25Index(tokens),
        dense=dense,
        sentence_vectors=sentence_vectors,
        sentence_offsets=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
        tokens=tokens_of_chunks,
        chunk_ids_by_article={a: np.asarray(ids, dtype=np.int64) for a, ids in by_article.items()},
        vocabulary_by_article={a: frozenset(v) for a, v in vocab.items()},
        query_model=path / manifest["query_encoder"] if manifest.get("query_encoder") else None,
        medication_lexicon=lexicon,
        medication_names_by_article=names_by_article,
    )
