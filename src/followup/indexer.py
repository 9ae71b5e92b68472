"""`followup index`: corpus -> chunks -> BM25 tokens and embeddings -> a new build, switched in atomically."""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from followup import __version__
from followup.chunking import chunk_documents, indexed_sentence, indexed_text
from followup.codec import article_to_dict, chunk_to_dict, document_to_dict
from followup.config import DEFAULT_CHUNKING, MODEL_NAME, MODEL_PACKAGE, ChunkingParams
from followup.corpus import corpus_fingerprint, load_corpus
from followup.errors import IndexProblem
from followup.progress import ProgressLine
from followup.store import (
    BuildLocation,
    build_lock,
    current_build,
    new_build,
    publish,
    read_manifest,
    write_json,
    write_jsonl,
    write_manifest,
)
from followup.text import tokenize

QUERY_MODEL_FILE = "query-encoder.onnx"


@dataclass(frozen=True)
class BuildResult:
    location: BuildLocation
    rebuilt: bool
    articles: int
    documents: int
    chunks: int
    sentences: int
    seconds: float


def build_recipe(chunking: ChunkingParams) -> dict[str, Any]:
    """Everything besides the corpus that decides the index's content; a change forces a rebuild."""
    return {
        "followup_version": __version__,
        "model": {"name": MODEL_NAME, "package": MODEL_PACKAGE, "package_version": metadata.version(MODEL_PACKAGE)},
        "chunking": chunking.as_dict(),
        "query_encoder": QUERY_MODEL_FILE,  # an index without it (older builds) is rebuilt
    }


def _up_to_date(
    index_dir: Path, corpus_hash: str, recipe: dict[str, Any]
) -> tuple[BuildLocation, dict[str, Any]] | None:
    try:
        location = current_build(index_dir)
        manifest = read_manifest(location)
    except IndexProblem:
        return None
    same = manifest.get("corpus_hash") == corpus_hash and all(manifest.get(k) == v for k, v in recipe.items())
    return (location, manifest) if same else None


def build_index(
    corpus_dir: Path, index_dir: Path, chunking: ChunkingParams = DEFAULT_CHUNKING, force: bool = False
) -> BuildResult:
    started = time.perf_counter()
    with build_lock(index_dir):
        corpus_hash = corpus_fingerprint(corpus_dir)
        recipe = build_recipe(chunking)
        existing = None if force else _up_to_date(index_dir, corpus_hash, recipe)
        if existing:
            location, manifest = existing
            counts = manifest["counts"]
            return BuildResult(
                location,
                False,
                counts["articles"],
                counts["documents"],
                counts["chunks"],
                counts["sentences"],
                time.perf_counter() - started,
            )
        corpus = load_corpus(corpus_dir)
        chunks = chunk_documents(corpus.documents, chunking)
        texts = {d.id: d.text for d in corpus.documents}
        chunk_texts = [indexed_text(c, texts[c.doc_id]) for c in chunks]
        sentence_texts = [indexed_sentence(c, s, texts[c.doc_id]) for c in chunks for s in c.sentences]
        bare_sentences = [texts[c.doc_id][s.start : s.end] for c in chunks for s in c.sentences]
        print(
            f"indexing {len(corpus.articles)} article(s), {len(corpus.documents)} documents, "
            f"{len(chunks)} chunks, {len(sentence_texts)} sentences",
            file=sys.stderr,
        )

        from followup.encoder import Encoder, versions  # heavy: torch

        encoder = Encoder()
        chunk_vectors = encoder.encode(chunk_texts, ProgressLine("embedding chunks"))
        # A sentence's relevance is the mean of its cosine alone and with its context: context alone lifts
        # every bullet of a list towards any question about the article's topic; alone, "Trauma" means little.
        sentence_vectors = (
            encoder.encode(bare_sentences, ProgressLine("embedding sentences"))
            + encoder.encode(sentence_texts, ProgressLine("embedding sentences in context"))
        ) / 2
        from followup.onnx_encoder import export_query_model

        with new_build(index_dir) as work:
            # The query path's model, checked against sentence-transformers, so `ask` needs no torch.
            export_query_model(work / QUERY_MODEL_FILE, encoder, chunk_texts[:32])
            write_json(
                work / "corpus.json",
                {
                    "articles": [article_to_dict(a) for a in corpus.articles],
                    "documents": [document_to_dict(d) for d in corpus.documents],
                },
            )
            write_jsonl(work / "chunks.jsonl", [chunk_to_dict(c) for c in chunks])
            write_jsonl(work / "chunk-tokens.jsonl", [tokenize(t) for t in chunk_texts])
            np.save(work / "chunk-vectors.npy", chunk_vectors)
            np.save(work / "sentence-vectors.npy", sentence_vectors)
            counts = {
                "articles": len(corpus.articles),
                "documents": len(corpus.documents),
                "chunks": len(chunks),
                "sentences": len(sentence_texts),
            }
            write_manifest(
                work,
                {
                    **recipe,
                    "corpus_hash": corpus_hash,
                    "corpus_dir": str(corpus_dir),
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "counts": counts,
                    "embedding_dimension": encoder.dimension,
                    "versions": {
                        "python": platform.python_version(),
                        "numpy": np.__version__,
                        "rank_bm25": metadata.version("rank-bm25"),
                        "pystemmer": metadata.version("PyStemmer"),
                        "faiss": metadata.version("faiss-cpu"),
                        **versions(),
                    },
                },
            )
            location = publish(index_dir, work, corpus_hash)
        return BuildResult(
            location,
            True,
            counts["articles"],
            counts["documents"],
            counts["chunks"],
            counts["sentences"],
            time.perf_counter() - started,
        )
