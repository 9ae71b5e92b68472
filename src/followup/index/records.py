"""A build's articles, documents and chunks as arrays on disk, decoded one record at a time.

Loading a build reads none of them: the arrays are memory-mapped, and a question decodes the few
chunks and documents it touches. Numeric fields are columns (`.npy`); the text fields of a record
(a chunk's context and section, a whole document) are JSON in one blob with an offset per record.
numpy's `.npy` and not Arrow or Parquet: the index already depends on numpy, `np.load(mmap_mode="r")`
maps a column in microseconds, and the records are read by position only, never queried by column.

    articles.json                  every article with its references (small, read whole)
    documents.bin, document-offsets.npy, document-ids.json
    document-articles.npy          (documents,) int32: position in articles.json
    chunk-documents.npy            (chunks,) int32: position in document-ids.json
    chunk-articles.npy             (chunks,) int32: position in articles.json
    chunk-spans.npy                (chunks, 2) int32: start, end in the document's text
    chunk-strings.bin, chunk-string-offsets.npy   [context, section] of each chunk, JSON
    sentence-rows.npy              (chunks + 1,) int64: chunk i's sentences are rows [i, i + 1)
    sentence-spans.npy             (sentences, 2) int32
    citation-rows.npy, citations.npy   each sentence's citation numbers
    article-chunks.npy, article-chunk-rows.npy   chunk ids by article, in the order of articles.json
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import numpy as np

from followup.core.storage import offsets
from followup.core.types import Article, Block, Chunk, CitationMarker, Document, Reference, Sentence, Tier
from followup.index.layout import mapped_array, mapped_bytes

FILES = (
    "articles.json",
    "documents.bin",
    "document-offsets.npy",
    "document-ids.json",
    "document-articles.npy",
    "chunk-documents.npy",
    "chunk-articles.npy",
    "chunk-spans.npy",
    "chunk-strings.bin",
    "chunk-string-offsets.npy",
    "sentence-rows.npy",
    "sentence-spans.npy",
    "citation-rows.npy",
    "citations.npy",
    "article-chunks.npy",
    "article-chunk-rows.npy",
)


# Records to and from JSON-ready dicts.


def reference_to_dict(ref: Reference) -> dict[str, Any]:
    return {**asdict(ref), "tier": ref.tier.value}


def reference_from_dict(d: dict[str, Any]) -> Reference:
    # JSON has no tuples; a build written before a field existed lacks it, and gets its default.
    lists: dict[str, tuple[str, ...]] = {
        name: tuple(d[name]) for name in ("retraction_notices", "retraction_of") if name in d
    }
    return Reference(**{**d, "tier": Tier(d["tier"]), **lists})


def article_to_dict(article: Article) -> dict[str, Any]:
    return {**asdict(article), "references": [reference_to_dict(r) for r in article.references]}


def article_from_dict(d: dict[str, Any]) -> Article:
    return Article(**{**d, "references": tuple(reference_from_dict(r) for r in d["references"])})


def document_to_dict(doc: Document) -> dict[str, Any]:
    """By hand: dataclasses.asdict copies recursively and took half of writing the MedQuAD library's records."""
    return {
        "id": doc.id,
        "article_id": doc.article_id,
        "title": doc.title,
        "text": doc.text,
        "blocks": [
            {"start": b.start, "end": b.end, "section": list(b.section), "lead_in": b.lead_in} for b in doc.blocks
        ],
        "reference_number": doc.reference_number,
        "markers": [{"start": m.start, "end": m.end, "numbers": list(m.numbers)} for m in doc.markers],
    }


def document_from_dict(d: dict[str, Any]) -> Document:
    return Document(
        **{
            **d,
            "blocks": tuple(Block(b["start"], b["end"], tuple(b["section"]), b["lead_in"]) for b in d["blocks"]),
            "markers": tuple(CitationMarker(m["start"], m["end"], tuple(m["numbers"])) for m in d["markers"]),
        }
    )


def _write_blob(directory: Path, blob: str, offsets_file: str, records: Sequence[bytes]) -> None:
    (directory / blob).write_bytes(b"".join(records))
    np.save(directory / offsets_file, offsets([len(r) for r in records]))


def write_records(
    directory: Path, articles: Sequence[Article], documents: Sequence[Document], chunks: Sequence[Chunk]
) -> None:
    (directory / "articles.json").write_text(
        json.dumps([article_to_dict(a) for a in articles], ensure_ascii=False), encoding="utf-8"
    )
    _write_blob(directory, "documents.bin", "document-offsets.npy",
                [json.dumps(document_to_dict(d), ensure_ascii=False).encode() for d in documents])  # fmt: skip
    (directory / "document-ids.json").write_text(json.dumps([d.id for d in documents]), encoding="utf-8")
    position = {d.id: i for i, d in enumerate(documents)}
    np.save(directory / "chunk-documents.npy", np.array([position[c.doc_id] for c in chunks], dtype=np.int32))
    article_position = {a.id: i for i, a in enumerate(articles)}
    np.save(
        directory / "document-articles.npy", np.array([article_position[d.article_id] for d in documents], np.int32)
    )
    np.save(directory / "chunk-articles.npy", np.array([article_position[c.article_id] for c in chunks], np.int32))
    np.save(directory / "chunk-spans.npy", np.array([(c.start, c.end) for c in chunks], dtype=np.int32).reshape(-1, 2))
    _write_blob(directory, "chunk-strings.bin", "chunk-string-offsets.npy",
                [json.dumps([c.context, list(c.section)], ensure_ascii=False).encode() for c in chunks])  # fmt: skip
    sentences = [s for c in chunks for s in c.sentences]
    np.save(directory / "sentence-rows.npy", offsets([len(c.sentences) for c in chunks]))
    np.save(directory / "sentence-spans.npy", np.array([(s.start, s.end) for s in sentences], np.int32).reshape(-1, 2))
    np.save(directory / "citation-rows.npy", offsets([len(s.citations) for s in sentences]))
    np.save(directory / "citations.npy", np.array([n for s in sentences for n in s.citations], dtype=np.int32))
    by_article: dict[str, list[int]] = {a.id: [] for a in articles}
    for i, chunk in enumerate(chunks):
        by_article[chunk.article_id].append(i)
    groups = [by_article[a.id] for a in articles]
    np.save(directory / "article-chunks.npy", np.array([i for g in groups for i in g], dtype=np.int64))
    np.save(directory / "article-chunk-rows.npy", offsets([len(g) for g in groups]))


def _map(directory: Path, name: str) -> np.ndarray:
    return mapped_array(directory / name)


def _blob(directory: Path, name: str) -> np.ndarray:
    return mapped_bytes(directory / name)


class DocumentTable(Mapping[str, Document]):
    """Documents by id, each decoded on first use and kept while it is among the most used."""

    def __init__(self, directory: Path) -> None:
        self._blob = _blob(directory, "documents.bin")
        self._offsets = _map(directory, "document-offsets.npy")
        self.ids: list[str] = json.loads((directory / "document-ids.json").read_text(encoding="utf-8"))
        self._position = {d: i for i, d in enumerate(self.ids)}
        if len(self._offsets) != len(self.ids) + 1 or int(self._offsets[-1]) != len(self._blob):
            raise ValueError("document records disagree with their offsets")
        self.at = lru_cache(maxsize=512)(self._decode)

    def _decode(self, position: int) -> Document:
        record = self._blob[self._offsets[position] : self._offsets[position + 1]].tobytes()
        return document_from_dict(json.loads(record))

    def __getitem__(self, doc_id: str) -> Document:
        return self.at(self._position[doc_id])

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._position

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


class ChunkTable(Sequence[Chunk]):
    """Chunks by id, decoded from the columns on each access (a few microseconds)."""

    def __init__(self, directory: Path, documents: DocumentTable, article_ids: Sequence[str]) -> None:
        self._documents = _map(directory, "chunk-documents.npy")
        self.articles = _map(directory, "chunk-articles.npy")  # position of each chunk's article
        self._spans = _map(directory, "chunk-spans.npy")
        self._strings = _blob(directory, "chunk-strings.bin")
        self._string_offsets = _map(directory, "chunk-string-offsets.npy")
        self._sentence_rows = _map(directory, "sentence-rows.npy")
        self._sentence_spans = _map(directory, "sentence-spans.npy")
        self._citation_rows = _map(directory, "citation-rows.npy")
        self._citations = _map(directory, "citations.npy")
        self._document_ids = documents.ids
        self._article_ids = article_ids
        n = len(self._documents)
        consistent = (
            len(self._spans) == len(self.articles) == n
            and len(self._string_offsets) == len(self._sentence_rows) == n + 1
            and int(self._sentence_rows[-1]) == len(self._sentence_spans) == len(self._citation_rows) - 1
            and int(self._citation_rows[-1]) == len(self._citations)
        )
        if not consistent:
            raise ValueError("chunk records disagree on the number of chunks or sentences")

    def __len__(self) -> int:
        return len(self._documents)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | Sequence[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i = int(i) % len(self)
        context, section = json.loads(self._strings[self._string_offsets[i] : self._string_offsets[i + 1]].tobytes())
        first, last = int(self._sentence_rows[i]), int(self._sentence_rows[i + 1])
        cited = self._citation_rows[first : last + 1].tolist()
        spans = self._sentence_spans[first:last].tolist()
        sentences = tuple(
            Sentence(start, end, tuple(self._citations[cited[j] : cited[j + 1]].tolist()))
            for j, (start, end) in enumerate(spans)
        )
        doc_id = self._document_ids[int(self._documents[i])]
        start, end = self._spans[i].tolist()
        article_id = self._article_ids[int(self.articles[i])]
        return Chunk(i, doc_id, article_id, start, end, tuple(section), sentences, context)

    def citation_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(chunk id, reference number) of every citation of every sentence, from the columns without
        decoding a chunk: what an evidence filter looks up (a reference's own sentences cite it)."""
        sentence_of = np.repeat(np.arange(len(self._citation_rows) - 1), np.diff(self._citation_rows))
        chunk_of = np.repeat(np.arange(len(self._documents)), np.diff(self._sentence_rows))
        return chunk_of[sentence_of].astype(np.int64), np.asarray(self._citations, dtype=np.int64)


def read_articles(directory: Path) -> dict[str, Article]:
    records = json.loads((directory / "articles.json").read_text(encoding="utf-8"))
    return {a.id: a for a in map(article_from_dict, records)}


class ArticleChunks(Mapping[str, np.ndarray]):
    """Each article's chunk ids, ascending, as views of one mapped array."""

    def __init__(self, directory: Path, article_ids: Sequence[str]) -> None:
        self._chunks = _map(directory, "article-chunks.npy")
        self._rows = _map(directory, "article-chunk-rows.npy")
        self._position = {a: i for i, a in enumerate(article_ids)}
        if len(self._rows) != len(article_ids) + 1 or int(self._rows[-1]) != len(self._chunks):
            raise ValueError("article chunk lists disagree with the articles")

    def __getitem__(self, article_id: str) -> np.ndarray:
        i = self._position[article_id]
        return np.asarray(self._chunks[self._rows[i] : self._rows[i + 1]])

    def __iter__(self) -> Iterator[str]:
        return iter(self._position)

    def __len__(self) -> int:
        return len(self._position)
