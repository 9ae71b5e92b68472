"""`followup index`: corpus -> chunks -> BM25 tokens and embeddings -> a new build, switched in atomically."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from followup import __version__
from followup.chunking import chunk_documents, indexed_sentence, indexed_text
from followup.codec import article_to_dict, chunk_to_dict, document_to_dict
from followup.config import DEFAULT_CHUNKING, MODEL_NAME, MODEL_PACKAGE, ChunkingParams
from followup.corpus import corpus_fingerprint, load_corpus
from followup.dense import FLAT_LIMIT, HNSW_BUILD_DEPTH, HNSW_NEIGHBOURS, DenseIndex
from followup.errors import IndexProblem
from followup.medications import LEXICON_PACKAGE, lexicon_version, load_package_lexicon, names_by_drug
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
from followup.text_embeddings import TextEmbeddingStore, model_key
from followup.token_vectors import FILES as TOKEN_FILES
from followup.token_vectors import TokenVectorStore, write_chunk_tokens
from followup.types import Document

QUERY_MODEL_FILE = "query-encoder.onnx"
DENSE_INDEX_FILE = "chunk-vectors.faiss"  # flat or HNSW by size (dense.py); read back whole at load
MEDICATIONS_FILE = "medications.json"  # the medication lexicon and each article's drug names
EMBEDDINGS = "embeddings"  # inside the index directory, beside builds/: kept from build to build


@dataclass(frozen=True)
class BuildResult:
    location: BuildLocation
    rebuilt: bool
    articles: int
    documents: int
    chunks: int
    sentences: int
    seconds: float
    embedded: int = 0  # texts embedded by this build; the rest came from earlier builds


def build_recipe(chunking: ChunkingParams) -> dict[str, Any]:
    """Everything besides the corpus that decides the index's content; a change forces a rebuild."""
    return {
        "followup_version": __version__,
        "model": {"name": MODEL_NAME, "package": MODEL_PACKAGE, "package_version": metadata.version(MODEL_PACKAGE)},
        "chunking": chunking.as_dict(),
        "query_encoder": QUERY_MODEL_FILE,  # an index without it (older builds) is rebuilt
        "dense_index_file": DENSE_INDEX_FILE,  # older builds kept vectors in chunk-vectors.npy
        "dense_index_params": {
            "flat_limit": FLAT_LIMIT,
            "hnsw_m": HNSW_NEIGHBOURS,
            "hnsw_ef_construction": HNSW_BUILD_DEPTH,
        },
        "medication_lexicon": {"package": LEXICON_PACKAGE, "version": lexicon_version(), "file": MEDICATIONS_FILE},
        # Token vectors of every chunk for the answer score (late_interaction.py); older builds have none.
        "token_vectors": {"files": list(TOKEN_FILES), "dtype": "int8", "from": QUERY_MODEL_FILE},
    }


def _medications(documents: Sequence[Document]) -> dict[str, Any]:
    lexicon = load_package_lexicon()
    texts_by_article: dict[str, list[str]] = {}
    for doc in documents:
        texts_by_article.setdefault(doc.article_id, []).append(doc.text)
    return {
        "lexicon": lexicon,
        "names_by_article": {a: names_by_drug(texts, lexicon) for a, texts in texts_by_article.items()},
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

        # Only text no earlier build embedded is embedded now: changing one article re-embeds its chunks.
        key = model_key()
        store = TextEmbeddingStore(index_dir / EMBEDDINGS, key)
        all_texts = [*chunk_texts, *bare_sentences, *sentence_texts]
        new_texts = store.missing(all_texts)
        cached_model = index_dir / EMBEDDINGS / f"{key}-{QUERY_MODEL_FILE}"
        print(f"{len(new_texts)} texts to embed, {len(set(all_texts)) - len(new_texts)} from earlier builds",
              file=sys.stderr)  # fmt: skip
        if new_texts or not cached_model.is_file():
            from followup.encoder import Encoder  # heavy: torch, only when something needs the model

            encoder = Encoder()
            if new_texts:
                store.add(new_texts, encoder.encode(new_texts, ProgressLine("embedding")))
            if not cached_model.is_file():
                from followup.onnx_encoder import export_query_model

                # The query path's model, checked against sentence-transformers, so `ask` needs no torch;
                # exported aside and renamed, so a killed build never leaves half a model in the cache.
                cached_model.parent.mkdir(parents=True, exist_ok=True)
                partial = cached_model.with_name(f".{cached_model.name}.partial")
                export_query_model(partial, encoder, chunk_texts[:32])
                os.replace(partial, cached_model)
        # Token vectors for the answer score, by the exported model the query side runs: one pass per
        # chunk text no earlier build embedded, both cores.
        tokens = TokenVectorStore(index_dir / EMBEDDINGS, key)
        new_chunks = tokens.missing(chunk_texts)
        if new_chunks:
            from followup.onnx_encoder import OnnxQueryEncoder

            bulk = OnnxQueryEncoder(cached_model, threads=os.cpu_count() or 1)
            tokens.add(new_chunks, bulk.encode_tokens(new_chunks, ProgressLine("token vectors")))
        chunk_vectors = store.lookup(chunk_texts)
        # A sentence's relevance is the mean of its cosine alone and with its context: context alone lifts
        # every bullet of a list towards any question about the article's topic; alone, "Trauma" means little.
        sentence_vectors = (store.lookup(bare_sentences) + store.lookup(sentence_texts)) / 2

        with new_build(index_dir) as work:
            shutil.copyfile(cached_model, work / QUERY_MODEL_FILE)
            write_json(
                work / "corpus.json",
                {
                    "articles": [article_to_dict(a) for a in corpus.articles],
                    "documents": [document_to_dict(d) for d in corpus.documents],
                },
            )
            write_jsonl(work / "chunks.jsonl", [chunk_to_dict(c) for c in chunks])
            write_jsonl(work / "chunk-tokens.jsonl", [tokenize(t) for t in chunk_texts])
            if len(chunk_vectors) > FLAT_LIMIT:
                print(f"building the HNSW graph over {len(chunk_vectors)} chunk vectors", file=sys.stderr)
            dense = DenseIndex.build(chunk_vectors)
            dense.save(work / DENSE_INDEX_FILE)
            np.save(work / "sentence-vectors.npy", sentence_vectors)
            token_count = write_chunk_tokens(work, chunks, chunk_texts, tokens)
            write_json(work / MEDICATIONS_FILE, _medications(corpus.documents))
            counts = {
                "articles": len(corpus.articles),
                "documents": len(corpus.documents),
                "chunks": len(chunks),
                "sentences": len(sentence_texts),
                "tokens": token_count,
            }
            write_manifest(
                work,
                {
                    **recipe,
                    "corpus_hash": corpus_hash,
                    "corpus_dir": str(corpus_dir),
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "counts": counts,
                    "embedding_dimension": int(chunk_vectors.shape[1]),
                    "dense_index": asdict(dense.info),
                    "versions": {
                        "python": platform.python_version(),
                        "numpy": np.__version__,
                        "rank_bm25": metadata.version("rank-bm25"),
                        "pystemmer": metadata.version("PyStemmer"),
                        "faiss": metadata.version("faiss-cpu"),
                        "sentence_transformers": metadata.version("sentence-transformers"),
                        "torch": metadata.version("torch"),
                        "onnxruntime": metadata.version("onnxruntime"),
                    },
                },
            )
            location = publish(index_dir, work, corpus_hash)
        store.save(keep=all_texts)
        tokens.save(keep=chunk_texts)
        return BuildResult(
            location,
            True,
            counts["articles"],
            counts["documents"],
            counts["chunks"],
            counts["sentences"],
            time.perf_counter() - started,
            len(new_texts),
        )
