"""The binary index format without the model: records, postings, segments and the dense rows written
and read back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from followup.core.errors import IndexProblem
from followup.core.settings import DEFAULT_CHUNKING
from followup.core.storage import corpus_fingerprint, fingerprint
from followup.core.types import Reference, Tier
from followup.core.words import INITIALS_VERSION, tokenize
from followup.embed.chunk_embeddings import ChunkText
from followup.embed.token_vectors import ChunkEmbedding, QuantisedTokens, TokenEmbedding
from followup.index.bm25 import BM25Index
from followup.index.dense import DenseIndex
from followup.index.digests import BlockCheck, block_record
from followup.index.incremental import Previous, known_initials
from followup.index.layout import INITIALS_FILE, BuildLocation
from followup.index.records import (
    ArticleChunks,
    ChunkTable,
    DocumentTable,
    read_articles,
    reference_from_dict,
    reference_to_dict,
    write_records,
)
from followup.index.segments import (
    READ_BY_ROWS,
    Segment,
    file_name,
    next_segment_name,
    read_by_rows,
    write_compacted,
    write_segment,
)
from followup.ingest.chunking import chunk_documents, indexed_text
from followup.ingest.corpus import load_corpus


def test_records_read_back_equal_to_what_was_written(tmp_path: Path, corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir)
    chunks = chunk_documents(corpus.documents, DEFAULT_CHUNKING)
    write_records(tmp_path, corpus.articles, corpus.documents, chunks)
    articles = read_articles(tmp_path)
    documents = DocumentTable(tmp_path)
    table = ChunkTable(tmp_path, documents, list(articles))
    assert list(articles.values()) == list(corpus.articles)
    assert [documents[d.id] for d in corpus.documents] == list(corpus.documents)
    assert list(table) == chunks and table[-1] == chunks[-1] and table[1:3] == chunks[1:3]
    with pytest.raises(IndexError):
        table[len(chunks)]
    by_article = ArticleChunks(tmp_path, list(articles))
    assert by_article["muscle-spasm"].tolist() == [c.id for c in chunks]


def test_reference_records_keep_their_retraction_and_older_records_load_without_it() -> None:
    retracted = Reference(7, "t", "review", Tier.REVIEW, retracted=True, retraction_notices=("20137807",))
    notice = Reference(8, "n", "retraction_notice", Tier.UNREFERENCED, retraction_of=("9500320",))
    for ref in (retracted, notice):
        assert reference_from_dict(json.loads(json.dumps(reference_to_dict(ref)))) == ref
    older = {k: v for k, v in reference_to_dict(retracted).items() if not k.startswith("retraction_")}
    assert reference_from_dict(older) == Reference(7, "t", "review", Tier.REVIEW, retracted=True)


def test_saved_postings_score_exactly_as_built(tmp_path: Path) -> None:
    texts = ["muscle spasm baclofen", "leg cramps at night quinine", "spasm spasm cramps", "", "épaule douleur"]
    built = BM25Index([tokenize(t) for t in texts])
    built.save(tmp_path)
    opened = BM25Index.open(tmp_path)
    for query in (["spasm"], ["cramp", "spasm", "spasm"], ["absent"], tokenize("épaule"), []):
        assert opened.scores(query).tolist() == built.scores(query).tolist()
        rows = np.array([0, 2, 4])
        assert opened.scores_for(query, rows).tolist() == built.scores_for(query, rows).tolist()
    assert opened.vocabulary == built.vocabulary and opened.chunks == len(texts)
    assert opened.chunks_with("spasm").tolist() == [0, 2]


def test_an_empty_index_saves_and_opens(tmp_path: Path) -> None:
    BM25Index([]).save(tmp_path)
    opened = BM25Index.open(tmp_path)
    assert opened.chunks == 0 and opened.scores(["x"]).size == 0 and opened.vocabulary == frozenset()


def _embedding(rng: np.random.Generator, tokens: int, sentences: int) -> ChunkEmbedding:
    def unit(n: int) -> np.ndarray:
        m = rng.normal(size=(n, 8)).astype(np.float32)
        return np.asarray(m / np.linalg.norm(m, axis=1, keepdims=True))

    spans = np.array([(i * 3, i * 3 + 2) for i in range(tokens)], dtype=np.int32).reshape(-1, 2)
    return ChunkEmbedding(unit(1)[0], unit(sentences), QuantisedTokens.of(TokenEmbedding(unit(tokens), spans)))


def test_a_segment_keeps_each_rows_vectors_and_compaction_copies_them_as_stored(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    embeddings = [_embedding(rng, 5, 2), _embedding(rng, 0, 1), _embedding(rng, 3, 3)]
    keys = [bytes([i]) * 32 for i in range(3)]
    write_segment(tmp_path, "segment-000001", keys, embeddings)
    segment = Segment(tmp_path, "segment-000001")
    assert len(segment) == 3 and bytes(segment.keys[2]) == keys[2]
    assert np.array_equal(segment.sentences(2), embeddings[2].sentences)
    assert (
        np.array_equal(segment.vectors[1], embeddings[1].vector)
        and segment.token_count(1) == 0 == segment.token_counts()[1]
    )
    write_compacted(tmp_path, "segment-000002", [(segment, 2), (segment, 0)])
    compacted = Segment(tmp_path, "segment-000002")
    assert [bytes(k) for k in compacted.keys] == [keys[2], keys[0]]
    for new, old in ((0, 2), (1, 0)):
        assert all(np.array_equal(a, b) for a, b in zip(compacted.tokens(new), segment.tokens(old), strict=True))
        assert np.array_equal(compacted.sentences(new), segment.sentences(old))
    assert next_segment_name(["segment-000001", "segment-000002", "other"]) == "segment-000003"


def test_a_damaged_segment_is_refused(tmp_path: Path) -> None:
    write_segment(tmp_path, "segment-000001", [bytes(32)], [_embedding(np.random.default_rng(1), 4, 2)])
    np.save(tmp_path / "segment-000001.token-scales.npy", np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="disagree"):
        Segment(tmp_path, "segment-000001")


def test_a_chunk_texts_key_follows_its_text_and_its_sentences() -> None:
    spans = np.array([[4, 7]], dtype=np.int32)
    base = ChunkText("abc\ndef", 4, spans).key
    assert ChunkText("abc\ndef", 4, spans.copy()).key == base
    assert ChunkText("abc\ndeg", 4, spans).key != base
    assert ChunkText("abc\ndef", 4, np.array([[4, 6]], dtype=np.int32)).key != base
    assert ChunkText("abc\ndef", 3, spans).key != base
    assert ChunkText("abc\ndef", 4, spans).sentence_texts() == [("def", "abc\ndef")]


def test_an_extended_graph_finds_the_new_chunks_and_never_the_removed(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(60, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    DenseIndex.build(vectors[:50], flat_limit=10).save(tmp_path / "graph.faiss")  # HNSW
    # Chunk 7 is removed; the others keep their vectors under new ids; ten new chunks are added.
    row_chunks = np.array([-1 if r == 7 else (r if r < 7 else r - 1) for r in range(50)], dtype=np.int64)
    loaded = DenseIndex.load(tmp_path / "graph.faiss")
    extended = loaded.extended(row_chunks, vectors[50:], np.arange(49, 59))
    assert extended.info.vectors == 59 and extended.unused_share == pytest.approx(1 / 60)
    assert extended.search(vectors[55], 1)[0][0] == 54
    found = {c for v in vectors for c, _ in extended.search(v, 5)}
    assert found <= set(range(59))  # never the unused row's old id, and no -1
    assert extended.search(vectors[7], 1)[0][1] < 0.999  # the removed chunk's vector is not found
    best, cosine = extended.search(vectors[3], 2, allowed=np.array([3, 54]))[0]
    assert best == 3 and cosine == pytest.approx(1.0)
    assert np.allclose(extended.all_vectors()[54], vectors[55])


def test_the_fingerprint_reuses_unchanged_files_and_sees_a_change(tmp_path: Path, corpus_dir: Path) -> None:
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir, corpus)
    full, records = fingerprint(corpus)
    assert corpus_fingerprint(corpus) == full
    assert fingerprint(corpus, records) == (full, records)
    # A record that lies about a file's content is believed while size and time match: that is the point.
    article = corpus / "muscle-spasm" / "article.md"
    article.write_text(article.read_text() + "\nMore.\n")
    assert fingerprint(corpus, records)[0] == corpus_fingerprint(corpus) != full


def test_indexed_text_and_sentence_spans_line_up(corpus_dir: Path) -> None:
    from followup.index.build import chunk_texts

    corpus = load_corpus(corpus_dir)
    chunks = chunk_documents(corpus.documents, DEFAULT_CHUNKING)
    texts = {d.id: d.text for d in corpus.documents}
    for chunk, chunk_text in zip(chunks, chunk_texts(chunks, corpus.documents), strict=True):
        assert chunk_text.text == indexed_text(chunk, texts[chunk.doc_id])
        for sentence, (start, end) in zip(chunk.sentences, chunk_text.sentence_spans.tolist(), strict=True):
            assert chunk_text.text[start:end] == texts[chunk.doc_id][sentence.start : sentence.end]
        assert chunk_text.text[: chunk_text.head] == chunk.context + "\n"


def test_a_segment_checked_as_read_refuses_the_row_whose_bytes_changed(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    # Rows of 9,000 token vectors of 8 int8 values: 72 kB a row, so that rows lie in different 256 KiB blocks.
    embeddings = [_embedding(rng, 9000, 2) for _ in range(8)]
    write_segment(tmp_path, "segment-000001", [bytes([i]) * 32 for i in range(8)], embeddings)
    values = tmp_path / "segment-000001.token-values.npy"
    checks = {name: BlockCheck(tmp_path / name, block_record(tmp_path / name)) for name in
              [file_name("segment-000001", a) for a in READ_BY_ROWS]}  # fmt: skip
    data = bytearray(values.read_bytes())
    data[-1] ^= 0x01  # the last row's last value
    values.write_bytes(bytes(data))
    segment = Segment(tmp_path, "segment-000001", checks)
    assert np.array_equal(segment.tokens(0)[0], embeddings[0].tokens.values)  # far from the change: read
    with pytest.raises(IndexProblem, match=r"segment-000001\.token-values\.npy: corrupt"):
        segment.tokens(7)
    assert read_by_rows("segment-000001.token-values.npy") and not read_by_rows("segment-000001.keys.npy")


def test_the_word_initials_of_unchanged_articles_are_carried_over(tmp_path: Path) -> None:
    location = BuildLocation(tmp_path, "before")
    location.path.mkdir(parents=True)
    (location.path / INITIALS_FILE).write_text(json.dumps({"kept": "ms", "changed": "old", "gone": "x"}))
    written = {"file": INITIALS_FILE, "version": INITIALS_VERSION}
    hashes = {"kept": "1", "changed": "2", "gone": "5"}
    previous = Previous(location, {"article_hashes": hashes, "article_initials": written}, [])
    assert known_initials(previous, {"kept": "1", "changed": "3", "new": "4"}) == {"kept": "ms"}
    # Written by another version of word_initials (or before builds recorded one): computed again.
    older = Previous(location, {"article_hashes": hashes, "article_initials": written | {"version": 0}}, [])
    assert known_initials(older, {"kept": "1"}) == {}
    unversioned = Previous(location, {"article_hashes": hashes, "article_initials": INITIALS_FILE}, [])
    assert known_initials(unversioned, {"kept": "1"}) == {}
    (location.path / INITIALS_FILE).write_text("not json")
    assert known_initials(previous, {"kept": "1"}) == {}
