from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from followup.core.errors import CorpusError
from followup.core.settings import ChunkingParams
from followup.core.storage import corpus_fingerprint
from followup.core.types import Tier, tier_for_citations
from followup.ingest.chunking import chunk_documents
from followup.ingest.corpus import load_corpus


@pytest.fixture
def corpus_copy(tmp_path: Path, corpus_dir: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(corpus_dir, target)
    return target


def test_seed_corpus_loads_article_and_reference_texts(corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir)
    [article] = corpus.articles
    assert article.id == "muscle-spasm"
    assert article.title == "What are the causes of muscle spasm?"
    assert article.last_updated == "2025-02-16"
    assert [r.number for r in article.references] == [1, 2, 3, 4, 5, 6, 7]
    tiers = {r.number: r.tier for r in article.references}
    assert tiers == {
        1: Tier.GUIDELINE, 2: Tier.DRUG_LABEL, 3: Tier.UNREFERENCED, 4: Tier.REVIEW,
        5: Tier.REVIEW, 6: Tier.PRECLINICAL, 7: Tier.SYSTEMATIC_REVIEW,
    }  # fmt: skip
    assert [d.id for d in corpus.documents] == [
        "muscle-spasm", "muscle-spasm/ref-2", "muscle-spasm/ref-5", "muscle-spasm/ref-6", "muscle-spasm/ref-7",
    ]  # fmt: skip


def test_article_holds_no_page_furniture(corpus_dir: Path) -> None:
    article = load_corpus(corpus_dir).documents[0].text
    for furniture in ("Personalize", "Medical Advisory Board", "Have a follow-up question", "Disclaimer"):
        assert furniture not in article


def test_citations_attach_to_the_sentences_and_bullets_that_carry_them(corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir)
    chunks = chunk_documents(corpus.documents, ChunkingParams())
    article = corpus.documents[0].text
    cited = {article[s.start : s.end]: s.citations for c in chunks if c.doc_id == "muscle-spasm" for s in c.sentences}
    assert cited["Stiff-man syndrome 2"] == (2,)
    assert cited["Exercise-associated muscle cramps (EAMCs) 4, 5"] == (4, 5)
    assert cited["Muscle fatigue, overuse, or strain"] == ()
    # The bullet that runs into the next sentence without a full stop is split at its citation.
    assert cited[
        "Underlying medical conditions: such as multiple sclerosis, where medications like baclofen "
        "may be used to alleviate symptoms 1"
    ] == (1,)
    dose = next(s for s in cited if s.startswith("Medications like baclofen"))
    assert cited[dose] == (1,)
    assert sum(1 for v in cited.values() if v) == 23  # every cited sentence and bullet of the page


def test_every_chunk_and_sentence_is_a_true_slice_of_its_source(corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir)
    texts = {d.id: d.text for d in corpus.documents}
    for params in (ChunkingParams(), ChunkingParams(max_words=20), ChunkingParams(max_words=30, overlap_sentences=1)):
        chunks = chunk_documents(corpus.documents, params)
        for chunk in chunks:
            text = texts[chunk.doc_id]
            assert chunk.start == chunk.sentences[0].start and chunk.end == chunk.sentences[-1].end
            for sentence in chunk.sentences:
                piece = text[sentence.start : sentence.end]
                assert piece == piece.strip() and piece
            assert not chunk.context or text[chunk.start : chunk.end] not in chunk.context


def test_reference_sentences_cite_their_reference(corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir)
    for chunk in chunk_documents(corpus.documents, ChunkingParams()):
        if "/ref-" in chunk.doc_id:
            number = int(chunk.doc_id.rsplit("-", 1)[1])
            assert all(s.citations == (number,) for s in chunk.sentences)


def test_long_paragraphs_are_cut_at_sentence_ends(corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir)
    chunks = chunk_documents(corpus.documents, ChunkingParams(max_words=40))
    texts = {d.id: d.text for d in corpus.documents}
    for chunk in chunks:
        if len(chunk.sentences) > 1:
            assert len(texts[chunk.doc_id][chunk.start : chunk.end].split()) <= 40


def test_fingerprint_changes_with_any_file(corpus_copy: Path) -> None:
    before = corpus_fingerprint(corpus_copy)
    note = corpus_copy / "muscle-spasm" / "PROVENANCE.md"
    note.write_text(note.read_text() + "\n")
    assert corpus_fingerprint(corpus_copy) != before


def test_a_second_article_folder_is_picked_up(corpus_copy: Path) -> None:
    folder = corpus_copy / "hiccups"
    folder.mkdir()
    (folder / "article.json").write_text(json.dumps(
        {"id": "hiccups", "title": "What causes hiccups?", "last_updated": "2025-01-01", "text_file": "article.md"}
    ))  # fmt: skip
    (folder / "article.md").write_text("# From the Guidelines\n\nHiccups are caused by irritation 1.\n")
    (folder / "references.json").write_text(json.dumps({"references": [{"number": 1, "kind": "guideline"}]}))
    corpus = load_corpus(corpus_copy)
    assert [a.id for a in corpus.articles] == ["hiccups", "muscle-spasm"]
    hiccups = next(d for d in corpus.documents if d.id == "hiccups")
    assert [m.numbers for m in hiccups.markers] == [(1,)]


def test_a_published_articles_own_record_is_reference_0_and_grounds_its_uncited_sentences(corpus_copy: Path) -> None:
    folder = corpus_copy / "trial"
    folder.mkdir()
    own = {"title": "Magnesium for cramps: a randomized controlled trial", "kind": "randomized_controlled_trial",
           "year": 2017, "number": 7}  # fmt: skip
    (folder / "article.json").write_text(json.dumps(
        {"id": "trial", "title": "Magnesium for cramps", "last_updated": "2017-01-01", "text_file": "article.md",
         "publication": own}
    ))  # fmt: skip
    (folder / "article.md").write_text("# Results\n\nMagnesium did not reduce cramps. Earlier trials were small [1].\n")
    (folder / "references.json").write_text(json.dumps({"references": [{"number": 1, "kind": "review"}]}))
    corpus = load_corpus(corpus_copy)
    trial = next(a for a in corpus.articles if a.id == "trial")
    assert [(r.number, r.tier) for r in trial.references] == [(0, Tier.RCT), (1, Tier.REVIEW)]  # its number is 0
    text = next(d for d in corpus.documents if d.id == "trial")
    assert [m.numbers for m in text.markers] == [(1,)], "0 is never a printed citation"


def _break(corpus_copy: Path, name: str, content: str | bytes) -> Path:
    path = corpus_copy / "muscle-spasm" / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("article.json", '{"id": "muscle-spasm", "title": ', "invalid JSON at line 1"),
        ("article.json", '{"id": "muscle-spasm", "last_updated": "2025", "text_file": "article.md"}',
         "missing field 'title'"),
        ("article.json", '{"id": "other", "title": "t", "last_updated": "x", "text_file": "article.md"}',
         "must equal the folder name"),
        ("article.json", '{"id": "muscle-spasm", "title": "t", "last_updated": "x", "text_file": "nope.md"}',
         "text_file 'nope.md' not found"),
        ("article.json", b'{"id": "\xff"}', "not UTF-8"),
        ("references.json", '{"references": [{"number": 1, "kind": "blog"}]}', "unknown kind 'blog'"),
        ("references.json", '{"references": [{"number": 1, "kind": "review"}, {"number": 1, "kind": "review"}]}',
         "must be unique and 1 to 99,999"),
        ("references.json", '{"references": [{"number": 2147483648, "kind": "review"}]}',
         "reference number 2147483648 must be unique and 1 to 99,999"),
        ("article.json", '{"id": "muscle-spasm\\n", "title": "t", "last_updated": "x", "text_file": "article.md"}',
         "must equal the folder name"),
        ("references.json", '{"references": [{"number": "1", "kind": "review"}]}', "field 'number' must be int"),
        ("references.json", '{"references": [{"number": 2, "kind": "review", "text_file": "gone.txt"}]}',
         "text_file 'gone.txt' not found"),
        ("references.json", '[1, 2]', "must hold a JSON object"),
        ("references.json", '{"references": [{"number": 1, "kind": "review", "url": "javascript:alert(1)"}]}',
         "url 'javascript:alert(1)' is not an http(s) address"),
        ("references.json", '{"references": [{"number": 1, "kind": "review", "ids": {"pmid": "1\\"><b>"}}]}',
         "ids.pmid '1\"><b>' is not a PMID (digits)"),
        ("references.json", '{"references": [{"number": 1, "kind": "review", "ids": {"doi": "doi.org/x"}}]}',
         "ids.doi 'doi.org/x' is not a DOI"),
        ("article.json", '{"id": "muscle-spasm", "title": "t", "last_updated": "x", "text_file": "article.md", '
         '"publication": {"kind": "blog"}}', "(publication): unknown kind 'blog'"),
        ("article.json", '{"id": "muscle-spasm", "title": "t", "last_updated": "x", "text_file": "article.md", '
         '"publication": "a trial"}', "field 'publication' must be dict"),
        ("references.json", '{"references": [{"number": 1, "kind": "review", "retraction_notices": "20137807"}]}',
         "field 'retraction_notices' must be list, not str"),
        ("references.json", '{"references": [{"number": 1, "kind": "review", "retraction_notices": ["2013-7807"]}]}',
         "retraction_notices[0] '2013-7807' is not a PMID (digits)"),
        ("references.json", '{"references": [{"number": 1, "kind": "retraction_notice", "retraction_of": [9500320]}]}',
         "retraction_of[0] 9500320 is not a PMID (digits)"),
        ("references.json", '{"references": [{"number": 1, "kind": "review", "retraction_of": ["9500320"]}]}',
         "its kind must be 'retraction_notice', not 'review'"),
        ("references.json", '{"references": [{"number": 1, "kind": "review", "retracted": false, '
         '"retraction_notices": ["20137807"]}]}', "but retracted is false"),
        ("references.json", '{"references": [{"number": 1, "kind": "review", "retracted": "no"}]}',
         "field 'retracted' must be bool, not str"),
    ],
)  # fmt: skip
def test_malformed_corpus_files_are_named_with_the_problem(
    corpus_copy: Path, name: str, content: str | bytes, message: str
) -> None:
    path = _break(corpus_copy, name, content)
    with pytest.raises(CorpusError) as error:
        load_corpus(corpus_copy)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_retracted_references_and_retraction_notices_are_kept_but_never_indexed(corpus_copy: Path) -> None:
    path = corpus_copy / "muscle-spasm" / "references.json"
    data = json.loads(path.read_text())
    records = {r["number"]: r for r in data["references"]}
    records[6]["retraction_notices"] = ["20137807"]  # no "retracted": a notice says it
    records[5] |= {"kind": "retraction_notice", "retraction_of": [records[6]["ids"]["pmid"]]}
    path.write_text(json.dumps(data))
    corpus = load_corpus(corpus_copy)
    references = {r.number: r for r in corpus.articles[0].references}
    assert references[6].retracted and references[6].retraction_notices == ("20137807",)
    assert references[5].kind == "retraction_notice" and references[5].retraction_of == ("37949656",)
    assert references[5].tier is Tier.UNREFERENCED and not references[5].retracted
    assert references[7].retraction_notices == () and references[7].retraction_of == ()  # the defaults
    assert [d.id for d in corpus.documents] == ["muscle-spasm", "muscle-spasm/ref-2", "muscle-spasm/ref-7"]
    assert tier_for_citations((5, 6), corpus.articles[0].references) is Tier.UNREFERENCED
    assert tier_for_citations((5, 6, 7), corpus.articles[0].references) is Tier.SYSTEMATIC_REVIEW


def test_an_id_ending_in_a_newline_is_refused(corpus_copy: Path) -> None:
    folder = corpus_copy / "muscle-spasm"
    meta = json.loads((folder / "article.json").read_text())
    renamed = folder.rename(corpus_copy / "muscle-spasm\n")
    (renamed / "article.json").write_text(json.dumps({**meta, "id": "muscle-spasm\n"}))
    with pytest.raises(CorpusError, match=r"id 'muscle-spasm\\n' must be 1 to 100 lower-case letters"):
        load_corpus(corpus_copy)


def test_missing_corpus_directory(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="corpus directory not found"):
        load_corpus(tmp_path / "absent")
