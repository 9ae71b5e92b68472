"""A three-article library in memory for the answer stages' unit tests: the real corpus loader, chunker,
BM25 postings and faiss index, with a bag-of-words encoder standing in for the model (a text's vector
counts its stemmed words; each word is one token vector)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np

from followup.core.settings import ChunkingParams
from followup.core.types import Chunk, Document
from followup.core.words import names_by_drug, tokenize, word_initials
from followup.embed.token_vectors import TokenEmbedding
from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex
from followup.index.layout import Manifest
from followup.index.reader import ArticleVocabulary, SearchIndex
from followup.index.retrievers import EmbeddedRetriever
from followup.index.segments import ChunkEmbeddings
from followup.ingest.chunking import chunk_documents, indexed_text
from followup.ingest.corpus import load_corpus

CRAMPS = """# From the Guidelines

Baclofen 10 mg three times daily relieves spasticity from spinal cord injury 1.

Quinine is no longer advised for leg cramps because of its harms 1.

# From the Research

Stretching the calves each night reduced night leg cramps in older adults.

Magnesium supplements did not prevent leg cramps in adults 2.

Tizanidine and dantrolene may also relieve spasticity, alongside baclofen 2.
"""
STRETCHING = "Stretching the calves each night reduced night leg cramps in older adults, in a randomised trial."
NAUSEA = """# From the Guidelines

Ginger eased nausea and vomiting in pregnancy 1.

Vitamin B6 reduces nausea in adults 1.
"""
TRIAL = """# Results

Oral magnesium for four weeks did not lower the number of nocturnal cramps compared with placebo.

# Discussion

Earlier trials of magnesium were small 1.
"""
LEXICON = {"baclofen": "baclofen", "lioresal": "baclofen", "tizanidine": "tizanidine", "quinine": "quinine",
           "dantrolene": "dantrolene"}  # fmt: skip


def write_corpus(root: Path) -> Path:
    def article(
        folder: str, title: str, text: str, references: list[dict[str, object]],
        published: dict[str, object] | None = None,
    ) -> None:  # fmt: skip
        path = root / folder
        (path / "references").mkdir(parents=True)
        meta = {
            "id": folder,
            "title": title,
            "question": title,
            "last_updated": "2025-01-01",
            "text_file": "article.md",
        } | ({"publication": published} if published else {})
        (path / "article.json").write_text(json.dumps(meta), encoding="utf-8")
        (path / "article.md").write_text(text, encoding="utf-8")
        (path / "references.json").write_text(json.dumps({"references": references}), encoding="utf-8")

    guideline = {"number": 1, "title": "Guideline", "year": 2024, "kind": "guideline", "text_file": None}
    trial = {"number": 2, "title": "Stretching trial", "year": 2012, "kind": "rct", "text_file": "references/2.txt"}
    article("cramps", "What causes leg cramps?", CRAMPS, [guideline, trial])
    (root / "cramps" / "references" / "2.txt").write_text(STRETCHING, encoding="utf-8")
    article("nausea", "What eases nausea?", NAUSEA, [guideline])
    older = {"number": 1, "title": "An older trial", "year": 2002, "kind": "unknown", "text_file": None}
    trial_title = "Magnesium for night cramps in older adults: a randomized controlled trial"
    own = {"title": trial_title, "kind": "randomized_controlled_trial", "year": 2017}
    article("magnesium-trial", trial_title, TRIAL, [older], own)
    return root


class BagOfWords:
    """Stands in for all-MiniLM-L6-v2: a text's vector is its normalised word counts, each word's token
    vector the one-hot of that word. Counts its passes, as the pipeline promises one a question."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.columns = {word: i for i, word in enumerate(vocabulary)}
        self.dimension = len(vocabulary)
        self.passes: list[list[str]] = []

    def tokens(self, text: str) -> np.ndarray:
        rows = np.zeros((0, self.dimension), dtype=np.float32)
        known = [self.columns[t] for t in tokenize(text) if t in self.columns]
        if known:
            rows = np.eye(self.dimension, dtype=np.float32)[known]
        return rows

    def vector(self, text: str) -> np.ndarray:
        total = self.tokens(text).sum(axis=0) if len(self.tokens(text)) else np.zeros(self.dimension, np.float32)
        norm = float(np.linalg.norm(total))
        return np.asarray(total / norm if norm else total, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.vector(text)

    def encode_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenEmbedding]]:
        self.passes.append(list(texts))
        tokens = [TokenEmbedding(self.tokens(t), np.zeros((len(self.tokens(t)), 2), np.int32)) for t in texts]
        return np.stack([self.vector(t) for t in texts]), tokens


class BagOfWordsEmbeddings:
    """What the index keeps of each chunk (segments.ChunkEmbeddings), computed by the stand-in."""

    def __init__(self, encoder: BagOfWords, chunks: Sequence[Chunk], documents: dict[str, Document]) -> None:
        self.encoder, self.chunks, self.documents = encoder, chunks, documents

    def sentences(self, chunk_id: int) -> np.ndarray:
        chunk = self.chunks[chunk_id]
        text = self.documents[chunk.doc_id].text
        return np.stack([self.encoder.vector(text[s.start : s.end]) for s in chunk.sentences])

    def passage_tokens(self, chunk: Chunk, start: int, end: int) -> np.ndarray:
        text = self.documents[chunk.doc_id].text
        return np.concatenate([self.encoder.tokens(chunk.context), self.encoder.tokens(text[start:end])])


def tiny_library(root: Path) -> tuple[SearchIndex, BagOfWords]:
    corpus = load_corpus(write_corpus(root))
    documents = {d.id: d for d in corpus.documents}
    chunks = chunk_documents(corpus.documents, ChunkingParams())
    texts = [indexed_text(c, documents[c.doc_id].text) for c in chunks]
    encoder = BagOfWords(sorted({t for text in texts for t in tokenize(text)}))
    bm25 = BM25Index([tokenize(t) for t in texts])
    dense = DenseIndex.build(np.stack([encoder.vector(t) for t in texts]))
    article_ids = [a.id for a in corpus.articles]
    chunk_articles = np.array([article_ids.index(c.article_id) for c in chunks])
    index = SearchIndex(
        manifest=Manifest.from_raw({}),
        articles={a.id: a for a in corpus.articles},
        documents=documents,
        chunks=chunks,
        bm25=bm25,
        dense=dense,
        embeddings=cast(ChunkEmbeddings, BagOfWordsEmbeddings(encoder, chunks, documents)),
        chunk_ids_by_article={a: np.array([c.id for c in chunks if c.article_id == a]) for a in article_ids},
        vocabulary=ArticleVocabulary(bm25, chunk_articles, article_ids),
        retriever=EmbeddedRetriever(bm25, dense),
        query_model=None,
        medication_lexicon=LEXICON,
        medication_names_by_article={
            a: names_by_drug([d.text for d in corpus.documents if d.article_id == a], LEXICON) for a in article_ids
        },
        article_initials=lambda: {
            a: "|".join(word_initials(d.text) for d in corpus.documents if d.article_id == a) for a in article_ids
        },
    )
    return index, encoder
