"""Load a build, refusing one that is missing, corrupt or stale. Loading maps the build's arrays and
reads the dense index; records are decoded as questions touch them (index/records.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache, partial
from pathlib import Path

import numpy as np

from followup.core.errors import CorpusError, IndexProblem
from followup.core.settings import ChunkingParams
from followup.core.storage import fingerprint
from followup.core.types import MAX_REFERENCE_NUMBER, SELF, Article, Chunk, Document, EvidenceFilter
from followup.embed.cpu import int8_dot_products
from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex
from followup.index.layout import (
    DENSE_INDEX_FILE,
    DENSE_ROWS_FILE,
    INITIALS_FILE,
    MEDICATIONS_FILE,
    Manifest,
    build_recipe,
    checks_as_read,
    current_build,
    never,
    read_manifest,
)
from followup.index.records import ArticleChunks, ChunkTable, DocumentTable, read_articles
from followup.index.retrievers import EmbeddedRetriever, Retriever, SearchScope
from followup.index.segments import ChunkEmbeddings, read_by_rows


class ArticleVocabulary:
    """Which articles' sources use a word, from the BM25 postings (the chunks holding it)."""

    def __init__(self, bm25: BM25Index, chunk_articles: np.ndarray, article_ids: Sequence[str]) -> None:
        self._bm25, self._chunk_articles, self._article_ids = bm25, chunk_articles, article_ids
        self.articles_with = lru_cache(maxsize=4096)(self._articles_with)

    def _articles_with(self, term: str) -> frozenset[str]:
        positions = np.unique(np.asarray(self._chunk_articles)[self._bm25.chunks_with(term)])
        return frozenset(self._article_ids[i] for i in positions.tolist())


@dataclass(frozen=True)
class SearchIndex:
    manifest: Manifest
    articles: dict[str, Article]
    documents: Mapping[str, Document]
    chunks: Sequence[Chunk]
    bm25: BM25Index
    dense: DenseIndex | None  # None when a server (Milvus) holds the vectors
    embeddings: ChunkEmbeddings  # each chunk's sentence vectors and token vectors
    chunk_ids_by_article: Mapping[str, np.ndarray]
    vocabulary: ArticleVocabulary
    retriever: Retriever  # what runs the searches: the embedded postings and graph, or a server
    query_model: Path | None  # what questions are embedded with: the build's question model, else (an
    # older build) its fp32 query model; None when it has neither
    medication_lexicon: dict[str, str]  # medication name -> drug (core/words.py)
    medication_names_by_article: dict[str, dict[str, list[str]]]  # article -> drug -> names its sources use
    article_initials: Callable[[], Mapping[str, str]]  # read when a question first names a code
    # Each evidence filter's chunks, computed the first time a question asks for it (a few distinct
    # filters are ever asked for: tier choices and years).
    _admitted: dict[EvidenceFilter, np.ndarray] = field(default_factory=dict, init=False, compare=False, repr=False)

    def search_scope(self, article_ids: Iterable[str]) -> SearchScope:
        """The articles and their chunk ids in ascending order, as scoped search wants them."""
        articles = tuple(dict.fromkeys(article_ids))
        return SearchScope(articles, self.chunks_of_articles(articles))

    def evidence_scope(self, evidence: EvidenceFilter, within: SearchScope | None) -> SearchScope:
        """The chunks of `within` (None: the library) holding a sentence that cites a reference the
        filter admits (a reference's own sentences cite it): the only chunks worth searching."""
        admitted = self._admitted.get(evidence)
        if admitted is None:
            admitted = self._admitted[evidence] = self._admitted_chunks(evidence)
            while len(self._admitted) > 64:  # bounded: filters come from requests
                self._admitted.pop(next(iter(self._admitted)))
        if within is None:
            positions = np.unique(_chunk_article_positions(self.chunks, self.articles)[admitted])
            ids = list(self.articles)
            return SearchScope(tuple(ids[i] for i in positions.tolist()), admitted, by_chunk=True)
        return SearchScope(within.articles, np.intersect1d(within.chunks, admitted), by_chunk=True)

    def _admitted_chunks(self, evidence: EvidenceFilter) -> np.ndarray:
        chunk_ids, numbers = _citation_pairs(self.chunks)
        width = MAX_REFERENCE_NUMBER + 1
        keys = _chunk_article_positions(self.chunks, self.articles).astype(np.int64)[chunk_ids] * width + numbers
        admitted = [
            position * width + ref.number
            for position, article in enumerate(self.articles.values())
            for ref in article.references
            if evidence.admits(ref)
        ]
        # A published study's sentences that cite nothing are grounded in its own record (SELF), which
        # no sentence stores: such an article is searched whole, its spans filtered one by one.
        studies = [self.chunk_ids_by_article[a.id] for a in self.articles.values() if _admits_self(a, evidence)]
        found = chunk_ids[np.isin(keys, np.array(admitted, dtype=np.int64))]
        return np.unique(np.concatenate([found, *studies]).astype(np.int64))

    def chunks_of(self, article_id: str) -> list[Chunk]:
        return [self.chunks[int(i)] for i in self.chunk_ids_by_article[article_id]]

    def chunks_of_articles(self, article_ids: Iterable[str]) -> np.ndarray:
        """The articles' chunk ids in ascending order, as scoped search wants them."""
        return np.sort(np.concatenate([self.chunk_ids_by_article[a] for a in article_ids]))


def _admits_self(article: Article, evidence: EvidenceFilter) -> bool:
    own = article.reference(SELF)
    return own is not None and evidence.admits(own)


def _citation_pairs(chunks: Sequence[Chunk]) -> tuple[np.ndarray, np.ndarray]:
    """(chunk id, reference number) of every sentence's citations: from a build's columns, or from
    chunks built in memory."""
    if isinstance(chunks, ChunkTable):
        return chunks.citation_pairs()
    pairs = [(c.id, n) for c in chunks for s in c.sentences for n in s.citations]
    return np.array([c for c, _ in pairs], dtype=np.int64), np.array([n for _, n in pairs], dtype=np.int64)


def _chunk_article_positions(chunks: Sequence[Chunk], article_ids: Iterable[str]) -> np.ndarray:
    """Each chunk's article as its position among `article_ids` (the build's order, articles.json's)."""
    if isinstance(chunks, ChunkTable):
        return np.asarray(chunks.articles)
    position = {a: i for i, a in enumerate(article_ids)}
    return np.array([position[c.article_id] for c in chunks], dtype=np.int64)


def check_fresh(manifest: Manifest, corpus_dir: Path) -> None:
    """Raise when the corpus or the indexing recipe changed since the build."""
    try:
        current, _ = fingerprint(corpus_dir, manifest.corpus_files)
    except CorpusError as e:
        raise IndexProblem(f"cannot check the index against the corpus: {e}") from None
    if manifest.corpus_hash != current:
        raise IndexProblem(
            f"the index is stale: {corpus_dir} changed since the index was built ({manifest.created_at}); "
            "run `followup index`"
        )
    # A manifest without chunking parameters matches no recipe.
    recipe = build_recipe(ChunkingParams(**(manifest.chunking or {})))
    if any(manifest.raw.get(key) != value for key, value in recipe.items()):
        raise IndexProblem(
            "the index was built by another followup version, model, medication lexicon or index layout: "
            "run `followup index`"
        )


def load_index(index_dir: Path, corpus_dir: Path | None = None, check_as_read: bool = False) -> SearchIndex:
    """The current build, every byte checked against its manifest at load; with check_as_read, the
    segments' token and sentence vectors (most of a library's bytes) are checked block by block as a
    question reads them instead: a one-question process starts without reading the rest."""
    location = current_build(index_dir)
    as_read = read_by_rows if check_as_read else never
    manifest = read_manifest(location, as_read=as_read)
    if corpus_dir is not None:
        check_fresh(manifest, corpus_dir)
    path = location.path
    try:
        articles = read_articles(path)
        article_ids = list(articles)
        documents = DocumentTable(path)
        chunks = ChunkTable(path, documents, article_ids)
        bm25 = BM25Index.open(path)
        searches = manifest.search_backend
        dense = (
            None
            if searches["kind"] == "milvus"
            else DenseIndex.load(path / DENSE_INDEX_FILE, np.load(path / DENSE_ROWS_FILE))
        )
        if manifest.segments is None:
            raise KeyError("segments")  # reported as any unreadable index is
        embeddings = ChunkEmbeddings(path, manifest.segments, checks_as_read(location, manifest, as_read))
        by_article = ArticleChunks(path, article_ids)
        medications = json.loads((path / MEDICATIONS_FILE).read_text(encoding="utf-8"))
        lexicon, names_by_article = medications["lexicon"], medications["names_by_article"]
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:  # faiss raises RuntimeError
        raise IndexProblem(
            f"{path}: unreadable index ({type(e).__name__}: {e}): run `followup index --force`"
        ) from None
    if not len(chunks) == bm25.chunks == len(embeddings) or (dense is not None and dense.chunks != len(chunks)):
        raise IndexProblem(f"{path}: index files disagree on the number of chunks: run `followup index --force`")
    retriever: Retriever
    if dense is None:
        from followup.index.milvus_build import open_retriever  # pymilvus: only for a build on Milvus

        retriever = open_retriever(searches, bm25, len(chunks))
    else:
        retriever = EmbeddedRetriever(bm25, dense)
    return SearchIndex(
        manifest=manifest,
        articles=articles,
        documents=documents,
        chunks=chunks,
        bm25=bm25,
        dense=dense,
        embeddings=embeddings,
        chunk_ids_by_article=by_article,
        vocabulary=ArticleVocabulary(bm25, chunks.articles, article_ids),
        retriever=retriever,
        query_model=question_model(path, manifest),
        medication_lexicon=lexicon,
        medication_names_by_article=names_by_article,
        article_initials=cache(partial(read_initials, path / INITIALS_FILE)),
    )


def question_model(build: Path, manifest: Manifest, int8: bool | None = None) -> Path | None:
    """The ONNX file the build's questions are embedded with: int8 weight blocks where the CPU (or
    `int8`) has int8 dot products, else the fused fp32 graph (embed/cpu.py); in older builds, the
    question model they have, else the fp32 export."""
    fast_int8 = int8_dot_products() if int8 is None else int8
    int8_file, fp32_file = manifest.question_encoder, manifest.question_encoder_fp32 or manifest.query_encoder
    file = (int8_file or fp32_file) if fast_int8 else (fp32_file or int8_file)
    return build / file if file else None


def read_initials(path: Path) -> dict[str, str]:
    """Each article's word initials (core/words.word_initials), as the build wrote them."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexProblem(f"{path}: unreadable ({e}): run `followup index --force`") from None
    if not isinstance(found, dict) or not all(isinstance(i, str) for i in found.values()):
        raise IndexProblem(f"{path}: not a mapping of article ids to word initials: run `followup index --force`")
    return found
