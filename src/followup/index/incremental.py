"""What a build takes from the build before it: the embeddings of every chunk text it had (segments,
linked, not copied), its dense graph (new vectors added, removed ones unused), and for each article
whose files did not change, its parsed documents, chunks and drug names. A one-article change in the
MedQuAD library then parses, chunks and embeds one article, not 5,401 (docs/performance.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from followup.core.errors import IndexProblem
from followup.core.storage import offsets
from followup.core.types import Article, Chunk, Document
from followup.core.words import INITIALS_VERSION
from followup.embed.chunk_embeddings import ChunkText
from followup.embed.encoder import model_key
from followup.embed.token_vectors import ChunkEmbedding
from followup.index.bm25 import BM25Index
from followup.index.dense import FLAT_LIMIT, REBUILD_SHARE, DenseIndex
from followup.index.layout import (
    DENSE_INDEX_FILE,
    DENSE_ROWS_FILE,
    INITIALS_FILE,
    MEDICATIONS_FILE,
    BuildLocation,
    current_build,
    read_manifest,
)
from followup.index.records import ArticleChunks, ChunkTable, DocumentTable, read_articles
from followup.index.retrievers import WrittenSearches
from followup.index.segments import (
    CHUNK_EMBEDDINGS_FILE,
    GARBAGE_SHARE,
    Segment,
    link_or_copy,
    next_segment_name,
    segment_files,
    write_compacted,
    write_segment,
)

# Each chunk's BM25 tokens, space-separated, for the next build: tokenising the MedQuAD library takes 2.7 s.
TERMS_FILE, TERM_OFFSETS_FILE = "chunk-terms.bin", "chunk-term-offsets.npy"
log = logging.getLogger(__name__)  # status lines: the CLI shows them on stderr (core/status_lines.py)


@dataclass(frozen=True)
class Previous:
    """What the last build holds that this one may reuse."""

    location: BuildLocation
    manifest: dict[str, Any]
    segments: list[Segment]


def previous_build(index_dir: Path) -> Previous | None:
    """The current build, when it is readable and its embeddings came from the same model."""
    try:
        location = current_build(index_dir)
        manifest = dict(read_manifest(location).raw)
        if manifest.get("model_key") != model_key():
            return None
        return Previous(location, manifest, [Segment(location.path, n) for n in manifest["segments"]])
    except (IndexProblem, OSError, ValueError, KeyError):
        return None  # nothing to reuse: everything is embedded again


@dataclass(frozen=True)
class ParsedArticle:
    article: Article
    documents: list[Document]
    chunks: list[Chunk]  # ids as in the build they come from: renumbered by the caller


def unchanged_articles(
    previous: Previous | None, hashes: dict[str, str], recipe: dict[str, Any]
) -> dict[str, ParsedArticle]:
    """The articles whose files hash as in the build before, parsed and chunked as it did, when it was
    made by the same followup with the same chunking."""
    if previous is None or any(previous.manifest.get(k) != recipe[k] for k in ("followup_version", "chunking")):
        return {}
    before = previous.manifest.get("article_hashes", {})
    same = {a for a, digest in hashes.items() if before.get(a) == digest}
    if not same:
        return {}
    path = previous.location.path
    articles = read_articles(path)
    documents = DocumentTable(path)
    chunks = ChunkTable(path, documents, list(articles))
    by_article = ArticleChunks(path, list(articles))
    document_articles = np.load(path / "document-articles.npy")
    article_ids = list(articles)
    documents_of: dict[str, list[Document]] = {}
    for position, article_position in enumerate(document_articles.tolist()):
        article = article_ids[article_position]
        if article in same:
            documents_of.setdefault(article, []).append(documents.at(position))
    return {
        a: ParsedArticle(articles[a], documents_of.get(a, []), [chunks[int(i)] for i in by_article[a]])
        for a in same
        if a in articles
    }


def renumbered(chunks: list[Chunk], first: int) -> list[Chunk]:
    return [replace(c, id=first + i) for i, c in enumerate(chunks)]


@dataclass(frozen=True)
class KnownMedications:
    lexicon: dict[str, str] | None  # the build before's copy of the lexicon (3 s to unpack from its package)
    names_by_article: dict[str, dict[str, list[str]]]  # unchanged articles' drug names


def known_medications(previous: Previous | None, hashes: dict[str, str], recipe: dict[str, Any]) -> KnownMedications:
    """What the build before found, where the lexicon is the same version and the article unchanged."""
    if previous is None or previous.manifest.get("medication_lexicon") != recipe["medication_lexicon"]:
        return KnownMedications(None, {})
    try:
        found = json.loads((previous.location.path / MEDICATIONS_FILE).read_text(encoding="utf-8"))
        lexicon, names = found["lexicon"], found["names_by_article"]
    except (OSError, ValueError, KeyError):
        return KnownMedications(None, {})
    before = previous.manifest.get("article_hashes", {})
    return KnownMedications(lexicon, {a: n for a, n in names.items() if a in hashes and before.get(a) == hashes[a]})


def place_embeddings(
    work: Path,
    previous: Previous | None,
    keys: list[bytes],
    new_parts: Iterable[tuple[Sequence[ChunkText], Sequence[ChunkEmbedding]]],
) -> tuple[list[str], np.ndarray, dict[str, dict[str, Any]]]:
    """Link the previous build's segments this one uses, write a segment for each part of new rows (chunk
    texts and embeddings: a part is embedded as it is asked for, and dropped once written), and point each chunk
    at its row; compact when most linked rows are unused. Returns the segment names, the chunks' (segment,
    row) and the file records carried over from the previous manifest."""
    where: dict[bytes, tuple[int, int]] = {}
    old = previous.segments if previous else []
    for s, segment in enumerate(old):
        for row, key in enumerate(np.asarray(segment.keys)):
            where.setdefault(key.tobytes(), (s, row))
    used = {where[k] for k in keys if k in where}
    linked_rows = sum(len(old[s]) for s in {s for s, _ in used})
    names: list[str] = []
    known: dict[str, dict[str, Any]] = {}
    position: dict[bytes, tuple[int, int]] = {}
    taken = [seg.name for seg in old]
    if used and linked_rows - len(used) > GARBAGE_SHARE * linked_rows:
        name = next_segment_name(taken)
        rows = sorted(used)
        write_compacted(work, name, [(old[s], r) for s, r in rows])
        names.append(name)
        taken.append(name)
        position = {bytes(old[s].keys[r]): (0, i) for i, (s, r) in enumerate(rows)}
    elif used:
        for s in sorted({s for s, _ in used}):
            names.append(old[s].name)
            for file in segment_files(old[s].name):
                link_or_copy(previous.location.path / file, work / file)  # type: ignore[union-attr]
                known[file] = previous.manifest["files"][file]  # type: ignore[union-attr]
        renumber = {s: i for i, s in enumerate(sorted({s for s, _ in used}))}
        position = {k: (renumber[where[k][0]], where[k][1]) for k in keys if k in where}
    for texts, embedded in new_parts:
        name = next_segment_name(taken)
        new_keys = [t.key for t in texts]
        write_segment(work, name, new_keys, embedded)
        position.update({k: (len(names), i) for i, k in enumerate(new_keys)})
        names.append(name)
        taken.append(name)
        del texts, embedded  # not held while the next part is embedded
    refs = np.array([position[k] for k in keys], dtype=np.int32).reshape(-1, 2)
    return names, refs, known


def dense_index(work: Path, previous: Previous | None, keys: list[bytes], vectors: np.ndarray) -> DenseIndex:
    """The previous build's graph with this build's new chunks added and its removed ones unused, or a
    fresh one: on a first build, when the index kind changes, or past REBUILD_SHARE unused rows."""
    fresh_kind = "hnsw" if len(keys) > FLAT_LIMIT else "flat"
    if previous and previous.manifest.get("dense_index", {}).get("kind") == fresh_kind == "hnsw":
        path = previous.location.path
        old_rows = np.load(path / DENSE_ROWS_FILE)
        old_refs = np.load(path / CHUNK_EMBEDDINGS_FILE)
        free: dict[bytes, list[int]] = {}
        for row, chunk in enumerate(old_rows.tolist()):
            if chunk >= 0:
                s, r = old_refs[chunk]
                free.setdefault(bytes(previous.segments[s].keys[r]), []).append(row)
        row_chunks = np.full(len(old_rows), -1, dtype=np.int64)
        added: list[int] = []
        for chunk, key in enumerate(keys):
            rows = free.get(key)
            if rows:
                row_chunks[rows.pop()] = chunk
            else:
                added.append(chunk)
        unused = int((row_chunks < 0).sum())
        if unused <= REBUILD_SHARE * (len(row_chunks) + len(added)):
            log.info("adding %d vectors to the dense graph, %d rows unused", len(added), unused)
            dense = DenseIndex.load(path / DENSE_INDEX_FILE, old_rows)
            return dense.extended(row_chunks, vectors[added], np.array(added, dtype=np.int64))
    if fresh_kind == "hnsw":
        log.info("building the HNSW graph over %d chunk vectors", len(vectors))
    return DenseIndex.build(vectors)


def write_terms(work: Path, terms: Sequence[Sequence[str]]) -> None:
    encoded = [" ".join(t).encode() for t in terms]
    (work / TERMS_FILE).write_bytes(b"".join(encoded))
    np.save(work / TERM_OFFSETS_FILE, offsets([len(e) for e in encoded]))


def chunk_terms(
    previous: Previous | None, keys: Sequence[bytes], texts: Sequence[str], versions: dict[str, str]
) -> list[list[str]]:
    """Each chunk's BM25 tokens: the build before's for a chunk text it had, when the same followup and
    stemmer made them; `tokenize` for the rest."""
    from followup.core.words import tokenize

    known: dict[bytes, list[str]] = {}
    same_code = previous is not None and all(previous.manifest.get(k) == v for k, v in versions.items())
    if previous is not None and same_code:
        path = previous.location.path
        try:
            blob = (path / TERMS_FILE).read_bytes()
            term_offsets = np.load(path / TERM_OFFSETS_FILE).tolist()
            refs = np.load(path / CHUNK_EMBEDDINGS_FILE)
            wanted = set(keys)
            for chunk, (s, r) in enumerate(refs.tolist()):
                key = bytes(previous.segments[s].keys[r])
                if key in wanted and key not in known:
                    known[key] = blob[term_offsets[chunk] : term_offsets[chunk + 1]].decode().split()
        except (OSError, ValueError, IndexError):
            known = {}
    return [known[k] if k in known else tokenize(t) for k, t in zip(keys, texts, strict=True)]


class EmbeddedWriter:
    """The faiss index in the build folder: the build before's graph extended, or a fresh one
    (dense_index); BM25 postings are the build's own files already."""

    def write(
        self, work: Path, previous: Any, keys: list[bytes], bm25: BM25Index, vectors: np.ndarray,
        article_ids: Sequence[str],
    ) -> WrittenSearches:  # fmt: skip
        dense = dense_index(work, previous, keys, vectors)
        dense.save(work / DENSE_INDEX_FILE)
        np.save(work / DENSE_ROWS_FILE, dense.row_chunks)
        return WrittenSearches({"kind": "embedded"}, {**asdict(dense.info), "rows": len(dense.row_chunks)})

    def published(self, index_dir: Path, written: WrittenSearches) -> None:
        """Nothing outside the build folder to switch or drop."""


def known_initials(previous: Previous | None, hashes: dict[str, str]) -> dict[str, str]:
    """The word initials the build before wrote for the articles that did not change, when it wrote them
    with this version of core/words.word_initials."""
    if previous is None or previous.manifest.get("article_initials") != {
        "file": INITIALS_FILE,
        "version": INITIALS_VERSION,
    }:
        return {}
    try:
        found = json.loads((previous.location.path / INITIALS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    before = previous.manifest.get("article_hashes", {})
    if not isinstance(found, dict):
        return {}
    return {a: i for a, i in found.items() if a in hashes and before.get(a) == hashes[a] and isinstance(i, str)}
