"""`followup index`: corpus -> chunks -> one forward pass per new chunk text -> a new build, switched in
atomically. A build reuses what the build before it holds: the embeddings of every chunk text it had
(segments, linked, not copied), its dense graph (new vectors added, removed ones skipped) and the
checksums of the corpus files whose size and time did not change."""

from __future__ import annotations

import contextlib
import functools
import logging
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from followup.core.errors import IndexProblem
from followup.core.progress import ProgressLine
from followup.core.settings import DEFAULT_CHUNKING, ChunkingParams
from followup.core.storage import article_folders, article_hashes, fingerprint
from followup.core.types import Article, Chunk, Document
from followup.core.words import load_package_lexicon, names_by_drug, word_initials
from followup.embed.chunk_embeddings import ChunkText, embed_in_parts, job_encoders
from followup.index.backend_choice import BackendChoice
from followup.index.bm25 import BM25Index
from followup.index.incremental import (
    EmbeddedWriter,
    KnownMedications,
    ParsedArticle,
    chunk_terms,
    known_initials,
    known_medications,
    place_embeddings,
    previous_build,
    renumbered,
    unchanged_articles,
    write_terms,
)
from followup.index.layout import (
    EMBEDDINGS,
    INITIALS_FILE,
    MEDICATIONS_FILE,
    QUERY_MODEL_FILE,
    QUESTION_MODEL_FILE,
    QUESTION_MODEL_FP32_FILE,
    BuildLocation,
    build_lock,
    build_recipe,
    current_build,
    new_build,
    publish,
    read_manifest,
    write_json,
    write_manifest,
)
from followup.index.records import write_records
from followup.index.retrievers import SearchWriter
from followup.index.segments import (
    CHUNK_EMBEDDINGS_FILE,
    Segment,
    link_or_copy,
)
from followup.ingest.chunking import chunk_documents, indexed_text
from followup.ingest.corpus import Corpus, load_article

if TYPE_CHECKING:
    from followup.embed.torch_encoder import Encoder

EMBEDDED = BackendChoice()
log = logging.getLogger(__name__)  # status lines: the CLI shows them on stderr (core/status_lines.py)


@dataclass(frozen=True)
class BuildResult:
    location: BuildLocation
    rebuilt: bool
    articles: int
    documents: int
    chunks: int
    sentences: int
    seconds: float
    embedded: int = 0  # chunks embedded by this build; the rest came from the build before


def _medications(documents: Sequence[Document], known: KnownMedications) -> dict[str, Any]:
    """The lexicon and each article's drug names; those of unchanged articles come from the build before
    (finding them takes 12 s over the MedQuAD library's 5,401 articles)."""
    lexicon = known.lexicon or load_package_lexicon()
    texts_by_article: dict[str, list[str]] = {}
    for doc in documents:
        texts_by_article.setdefault(doc.article_id, []).append(doc.text)
    names = {
        a: known.names_by_article[a] if a in known.names_by_article else names_by_drug(texts, lexicon)
        for a, texts in texts_by_article.items()
    }
    return {"lexicon": lexicon, "names_by_article": names}


def _initials(documents: Sequence[Document], known: dict[str, str]) -> dict[str, str]:
    """Each article's word initials, its documents' joined by a break; unchanged articles' from the build
    before (2 s over the MedQuAD library's 24 MB)."""
    texts_by_article: dict[str, list[str]] = {}
    for doc in documents:
        texts_by_article.setdefault(doc.article_id, []).append(doc.text)
    return {
        a: known[a] if a in known else "|".join(word_initials(text) for text in texts)
        for a, texts in texts_by_article.items()
    }


def _tokenizer_versions(recipe: dict[str, Any]) -> dict[str, Any]:
    """What decides a chunk's BM25 tokens besides its text (text.tokenize and its stemmer)."""
    return {"followup_version": recipe["followup_version"], "pystemmer": metadata.version("PyStemmer")}


def _up_to_date(
    index_dir: Path, corpus_hash: str, recipe: dict[str, Any], backend: BackendChoice
) -> tuple[BuildLocation, dict[str, Any]] | None:
    try:
        location = current_build(index_dir)
        manifest = dict(read_manifest(location).raw)
    except IndexProblem:
        return None
    same = manifest.get("corpus_hash") == corpus_hash and all(manifest.get(k) == v for k, v in recipe.items())
    same = same and backend.matches(manifest.get("search_backend", {}))
    return (location, manifest) if same else None


def _torch_encoder() -> Callable[[], Encoder]:
    """The one torch model a build loads, and only if it needs it (5.6 s): to export the query model,
    or to embed a large job."""

    @functools.cache
    def load() -> Encoder:
        from followup.embed.torch_encoder import Encoder  # heavy: torch

        return Encoder()

    return load


def _chunk_vectors(segments: Sequence[Segment], refs: np.ndarray) -> tuple[np.ndarray, int]:
    """Each chunk's dense vector, gathered segment by segment, and the number of token vectors."""
    dimension = segments[0].vectors.shape[1] if segments else 0
    vectors = np.zeros((len(refs), dimension), np.float32)
    tokens = 0
    for s, segment in enumerate(segments):
        mine = refs[:, 0] == s
        rows = refs[mine, 1]
        vectors[mine] = segment.vectors[rows]
        tokens += int(segment.token_counts()[rows].sum())
    return vectors, tokens


def chunk_texts(chunks: Sequence[Chunk], documents: Sequence[Document]) -> list[ChunkText]:
    texts = {d.id: d.text for d in documents}
    result = []
    for chunk in chunks:
        text = indexed_text(chunk, texts[chunk.doc_id])
        head = len(text) - (chunk.end - chunk.start)  # "context\n" before the chunk's own text
        spans = np.array([(s.start - chunk.start + head, s.end - chunk.start + head) for s in chunk.sentences],
                         dtype=np.int32).reshape(-1, 2)  # fmt: skip
        result.append(ChunkText(text, head, spans))
    return result


def search_writer(backend: BackendChoice, index_dir: Path) -> SearchWriter:
    """What writes a build's searches to its backend (pymilvus only imported for Milvus)."""
    if backend.kind == "milvus":
        from followup.index.milvus_build import MilvusWriter

        return MilvusWriter(backend, index_dir)
    return EmbeddedWriter()


@contextlib.contextmanager
def _file_errors_named(index_dir: Path) -> Iterator[None]:
    """A full disk, a missing permission, an I/O error: one line naming the file and the cause. The build
    being written is removed (layout.new_build) and CURRENT still names the build in use."""
    try:
        yield
    except OSError as error:
        where = error.filename or index_dir
        raise IndexProblem(
            f"{where}: {error.strerror or error}; the index was not updated and the build in use is unchanged"
        ) from None


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    chunking: ChunkingParams = DEFAULT_CHUNKING,
    force: bool = False,
    ray: str | None = None,
    backend: BackendChoice = EMBEDDED,
) -> BuildResult:
    """`ray`: embed on Ray Data, on a local instance ("local") or the cluster at that address.
    `backend`: where the build's searches run (the embedded default, or a Milvus collection)."""
    started = time.perf_counter()
    with _file_errors_named(index_dir), build_lock(index_dir):
        recipe = build_recipe(chunking)
        previous = previous_build(index_dir)
        corpus_hash, corpus_files = fingerprint(corpus_dir, previous.manifest.get("corpus_files") if previous else None)
        existing = None if force else _up_to_date(index_dir, corpus_hash, recipe, backend)
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
        hashes = article_hashes(corpus_files)
        reused = unchanged_articles(previous, hashes, recipe)
        articles: list[Article] = []
        documents: list[Document] = []
        chunks: list[Chunk] = []
        for folder in article_folders(corpus_dir):
            parsed = reused.get(folder.name)
            if parsed is None:
                article, docs = load_article(folder)
                parsed = ParsedArticle(article, docs, chunk_documents(docs, chunking))
            articles.append(parsed.article)
            documents.extend(parsed.documents)
            chunks.extend(renumbered(parsed.chunks, len(chunks)))
        corpus = Corpus(tuple(articles), tuple(documents))
        texts = chunk_texts(chunks, corpus.documents)
        keys = [t.key for t in texts]
        sentences = sum(len(c.sentences) for c in chunks)
        log.info(
            "indexing %d article(s), %d documents, %d chunks, %d sentences",
            len(corpus.articles), len(corpus.documents), len(chunks), sentences,
        )  # fmt: skip
        # Only chunk texts no earlier build embedded are embedded now: changing one article embeds its chunks.
        stored = {k.tobytes() for s in (previous.segments if previous else []) for k in np.asarray(s.keys)}
        new = list({t.key: t for t in texts if t.key not in stored}.values())
        log.info("%d chunk texts to embed, %d from the last build", len(new), len(set(keys)) - len(new))
        torch_encoder = _torch_encoder()
        from followup.embed.onnx_export import cached_query_model, kept_query_model  # onnxruntime: when building
        from followup.embed.question_model import kept_question_models

        references = [t.text for t in texts[:32]]
        kept = index_dir / EMBEDDINGS  # each model exported once per model version: fp32, and the questions' two
        model = cached_query_model(kept_query_model(kept, QUERY_MODEL_FILE), torch_encoder, references, announce=True)
        fp32_questions, int8_questions = kept_question_models(
            kept_query_model(kept, QUESTION_MODEL_FP32_FILE), kept_query_model(kept, QUESTION_MODEL_FILE),
            torch_encoder, references, announce=True,
        )  # fmt: skip
        progress = ProgressLine("embedding chunk and sentence texts")
        if ray is not None:
            from followup.embed.ray_job import embed_parts_on_ray

            parts = embed_parts_on_ray(new, model, None if ray == "local" else ray, progress)
        else:
            parts = embed_in_parts(new, lambda n: job_encoders(model, n, torch_encoder), progress)

        with new_build(index_dir) as work:
            exports = {QUERY_MODEL_FILE: model, QUESTION_MODEL_FP32_FILE: fp32_questions,
                       QUESTION_MODEL_FILE: int8_questions}  # fmt: skip
            for name, exported in exports.items():
                link_or_copy(exported, work / name)  # the cached export is never changed in place
            # Each part of the new chunks is embedded, then written as a segment, before the next.
            names, refs, known = place_embeddings(work, previous, keys, parts)
            for name in exports:
                if previous and name in previous.manifest.get("files", {}):
                    known[name] = previous.manifest["files"][name]  # trusted if size and time match
            np.save(work / CHUNK_EMBEDDINGS_FILE, refs)
            segments = [Segment(work, n) for n in names]
            vectors, tokens = _chunk_vectors(segments, refs)
            write_records(work, corpus.articles, corpus.documents, chunks)
            terms = chunk_terms(previous, keys, [t.text for t in texts], _tokenizer_versions(recipe))
            bm25 = BM25Index(terms)
            bm25.save(work)
            write_terms(work, terms)
            writer = search_writer(backend, index_dir)
            written = writer.write(work, previous, keys, bm25, vectors, [c.article_id for c in chunks])
            medications = _medications(corpus.documents, known_medications(previous, hashes, recipe))
            write_json(work / MEDICATIONS_FILE, medications)
            write_json(work / INITIALS_FILE, _initials(corpus.documents, known_initials(previous, hashes)))
            counts = {
                "articles": len(corpus.articles),
                "documents": len(corpus.documents),
                "chunks": len(chunks),
                "sentences": sentences,
                "tokens": tokens,
            }
            write_manifest(
                work,
                {
                    **recipe,
                    "corpus_hash": corpus_hash,
                    "corpus_dir": str(corpus_dir),
                    "corpus_files": corpus_files,
                    "article_hashes": hashes,
                    "pystemmer": metadata.version("PyStemmer"),
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "counts": counts,
                    "segments": names,
                    "embedded": len(new),
                    "embedding_dimension": int(vectors.shape[1]),
                    "dense_index": written.dense_index,
                    "search_backend": written.backend,
                    "versions": {
                        "python": platform.python_version(),
                        "numpy": np.__version__,
                        "rank_bm25": metadata.version("rank-bm25"),
                        "pystemmer": metadata.version("PyStemmer"),
                        "faiss": metadata.version("faiss-cpu"),
                        "sentence_transformers": metadata.version("sentence-transformers"),
                        "torch": metadata.version("torch"),
                        "onnxruntime": metadata.version("onnxruntime"),
                        "tokenizers": metadata.version("tokenizers"),
                    },
                },
                known,
            )
            location = publish(index_dir, work, corpus_hash)
        writer.published(index_dir, written)
        return BuildResult(
            location,
            True,
            counts["articles"],
            counts["documents"],
            counts["chunks"],
            sentences,
            time.perf_counter() - started,
            len(new),
        )
