"""Documents to chunks: sentence windows inside one block, with offsets, breadcrumb and citations."""

from __future__ import annotations

from collections.abc import Iterable

from followup.core.settings import ChunkingParams
from followup.core.types import Block, Chunk, Document, Sentence
from followup.core.words import sentence_spans, word_count
from followup.ingest.citations import ends_sentence_without_stop


def document_sentences(doc: Document, block: Block) -> list[Sentence]:
    """The block's sentences, each with the citation numbers it carries.

    A reference's own sentences cite that reference; the article's cite the markers inside them.
    """
    markers = [m for m in doc.markers if block.start <= m.start < block.end]
    extra_ends = tuple(m.end for m in markers if ends_sentence_without_stop(doc.text, m))
    sentences = []
    for start, end in sentence_spans(doc.text, block.start, block.end, extra_ends):
        if doc.reference_number is not None:
            cited: tuple[int, ...] = (doc.reference_number,)
        else:
            cited = tuple(sorted({n for m in markers if start <= m.start < end for n in m.numbers}))
        sentences.append(Sentence(start, end, cited))
    return sentences


def chunk_context(doc: Document, block: Block) -> str:
    """What the chunk is about, for the indexes only: title, breadcrumb and a list's lead-in."""
    parts = [doc.title, *block.section]
    context = " > ".join(p for p in parts if p)
    return f"{context}: {block.lead_in}" if block.lead_in else context


def _windows(sentences: list[Sentence], text: str, params: ChunkingParams) -> Iterable[list[Sentence]]:
    window: list[Sentence] = []
    words = 0
    for sentence in sentences:
        n = word_count(text[sentence.start : sentence.end])
        if window and words + n > params.max_words:
            yield window
            window = window[len(window) - params.overlap_sentences :] if params.overlap_sentences else []
            words = sum(word_count(text[s.start : s.end]) for s in window)
        window.append(sentence)
        words += n
    if window:
        yield window


def chunk_documents(documents: Iterable[Document], params: ChunkingParams) -> list[Chunk]:
    chunks: list[Chunk] = []
    for doc in documents:
        for block in doc.blocks:
            sentences = document_sentences(doc, block)
            context = chunk_context(doc, block)
            for window in _windows(sentences, doc.text, params):
                chunks.append(
                    Chunk(
                        id=len(chunks),
                        doc_id=doc.id,
                        article_id=doc.article_id,
                        start=window[0].start,
                        end=window[-1].end,
                        section=block.section,
                        sentences=tuple(window),
                        context=context,
                    )
                )
    return chunks


def indexed_text(chunk: Chunk, text: str) -> str:
    """What BM25 and the encoder see for a chunk: its context, then its verbatim text."""
    return f"{chunk.context}\n{text[chunk.start : chunk.end]}"
