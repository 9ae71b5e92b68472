"""`followup add`: an article folder from a saved page and its references' files, written whole or not at all."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from followup.cli import main
from followup.core.errors import CorpusError
from followup.core.types import Document, Tier
from followup.ingest.add import ReferenceFile, add_article
from followup.ingest.add_plan import NO_RECORD_NOTE
from followup.ingest.chunking import document_sentences
from followup.ingest.corpus import load_article

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "formats"
SEED_FOLDER = ROOT / "corpus" / "muscle-spasm"
PAGE = FIXTURES / "page-muscle-spasm.txt"  # the seed page as captured, byte for byte
SPL = FIXTURES / "spl-valium-indications.xml"
PUBMED = FIXTURES / "pubmed-chou-2004.xml"

STRUCTURED = """<?xml version="1.0"?>
<PubmedArticleSet><PubmedArticle>
  <MedlineCitation><PMID Version="1">1</PMID><Article>
    <Journal><JournalIssue><PubDate><Year>2020</Year></PubDate></JournalIssue><Title>A journal</Title></Journal>
    <ArticleTitle>A structured abstract</ArticleTitle>
    <Abstract>
      <AbstractText Label="RESULTS">What was found.</AbstractText>
      <AbstractText Label="CONCLUSIONS">What it means.</AbstractText>
    </Abstract>
    <AuthorList><Author><LastName>Doe</LastName><Initials>J</Initials></Author></AuthorList>
    <PublicationTypeList><PublicationType>Randomized Controlled Trial</PublicationType></PublicationTypeList>
  </Article></MedlineCitation>
</PubmedArticle></PubmedArticleSet>
"""


def article_shape(document: Document) -> tuple[object, ...]:
    """What a reader of the index sees of the article: its text, sections, citations and sentences."""
    sentences = [(s.start, s.end, s.citations) for b in document.blocks for s in document_sentences(document, b)]
    return document.text, document.blocks, document.markers, sentences


def test_the_seed_page_gives_the_seed_article_sections_sentences_and_citations(tmp_path: Path) -> None:
    added = add_article(PAGE, tmp_path / "corpus", "muscle-spasm")
    assert added.created
    _, (new, *_) = load_article(added.folder)
    _, (seed, *_) = load_article(SEED_FOLDER)
    assert article_shape(new) == article_shape(seed)
    assert (added.folder / "article.md").read_bytes() == (SEED_FOLDER / "article.md").read_bytes()
    meta = json.loads((added.folder / "article.json").read_text())
    assert meta == json.loads((SEED_FOLDER / "article.json").read_text())
    assert added.citations == len(seed.markers) == 23


def test_the_page_adds_nothing_to_the_folder_it_was_made_from(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_FOLDER, corpus / "muscle-spasm")
    added = add_article(PAGE, corpus, "muscle-spasm")
    assert not added.created and added.warnings == ()
    new_files = {p.relative_to(added.folder): p.read_bytes() for p in added.folder.rglob("*") if p.is_file()}
    seed_files = {p.relative_to(SEED_FOLDER): p.read_bytes() for p in SEED_FOLDER.rglob("*") if p.is_file()}
    assert new_files == seed_files
    assert [p.name for p in corpus.iterdir()] == ["muscle-spasm"]  # nothing left aside


def test_pubmed_and_spl_references_come_in_with_their_records_and_sections(tmp_path: Path) -> None:
    structured = tmp_path / "doe-2020.xml"
    structured.write_text(STRUCTURED)
    refs = [ReferenceFile(2, SPL), ReferenceFile(7, PUBMED), ReferenceFile(4, structured)]
    added = add_article(PAGE, tmp_path / "corpus", "muscle-spasm", refs, retracted=[3])
    article, documents = load_article(added.folder)
    by_number = {r.number: r for r in article.references}
    assert by_number[2].kind == "drug_label" and by_number[2].authors == "Roche Laboratories Inc."
    assert by_number[2].ids["dailymed_setid"] == "554baee5-b171-4452-a50a-41a0946f956c"
    assert by_number[7].tier is Tier.SYSTEMATIC_REVIEW and by_number[7].ids["pmid"] == "15276195"
    assert by_number[4].tier is Tier.RCT and by_number[4].authors == "Doe J"
    assert by_number[3].retracted
    sections = {d.reference_number: {b.section for b in d.blocks} for d in documents if d.reference_number}
    assert sections[2] == {("Indications and Usage",)}
    assert sections[7] == {("Abstract",)}
    assert sections[4] == {("Abstract", "RESULTS"), ("Abstract", "CONCLUSIONS")}
    assert added.imported == {2: "spl", 4: "pubmed", 7: "pubmed"}
    provenance = (added.folder / "PROVENANCE.md").read_text()
    for source in (PAGE, SPL, PUBMED):
        assert f"`{source.name}`" in provenance and hashlib.sha256(source.read_bytes()).hexdigest() in provenance
    assert "`references/2-valium-diazepam-tablets-prescribing-label.md` | the reference's text" in provenance
    uncited = add_article(PAGE, tmp_path / "corpus", "muscle-spasm", [ReferenceFile(8, structured)])
    assert "--ref 8: the article never cites reference 8; its text is indexed anyway" in uncited.warnings


def test_the_page_list_numbers_only_what_it_leaves_no_doubt_about(tmp_path: Path) -> None:
    added = add_article(PAGE, tmp_path / "corpus", "muscle-spasm")
    records = {r["number"]: r for r in added.references}
    # "Guideline" lists one entry and the guideline section cites one number: that is reference 1.
    assert records[1]["title"] == "Guideline Directed Topic Overview" and records[1]["kind"] == "guideline"
    # Two "Research" entries for five research numbers: kept, unnumbered, never guessed.
    assert all(records[n]["kind"] == "unknown" and records[n]["note"] == NO_RECORD_NOTE for n in (3, 4, 5, 6, 7))
    unnumbered = json.loads((added.folder / "references.json").read_text())["unnumbered"]
    assert [u["year"] for u in unnumbered] == [2018, 2024]
    assert any("Muscle cramps" in w and "one of 3, 4, 5, 6, 7" in w for w in added.warnings)


def test_a_plain_text_reference_keeps_its_record_and_replaces_only_the_text(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_FOLDER, corpus / "muscle-spasm")
    text = tmp_path / "7-chou-2004-full.txt"
    text.write_text("A longer abstract. It has one more sentence.\n")
    added = add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(7, text)])
    record = next(r for r in added.references if r["number"] == 7)
    assert record["title"].startswith("Comparative efficacy")
    assert record["text_file"] == "references/7-chou-2004-full.txt"
    assert not (added.folder / "references" / "7-chou-2004-abstract.txt").exists()


@pytest.mark.parametrize(
    ("fixture", "problem"),
    [
        ("pubmed-malformed.xml", "malformed XML at line"),
        ("spl-malformed.xml", "malformed XML at line"),
        ("page-malformed.html", "<html> is never closed"),
    ],
)
def test_a_malformed_file_changes_nothing_and_names_the_file(tmp_path: Path, fixture: str, problem: str) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_FOLDER, corpus / "muscle-spasm")
    before = {p: p.read_bytes() for p in corpus.rglob("*") if p.is_file()}
    is_page = fixture.startswith("page")
    page, refs = (FIXTURES / fixture, []) if is_page else (PAGE, [ReferenceFile(2, FIXTURES / fixture)])
    with pytest.raises(CorpusError) as raised:
        add_article(page, corpus, "muscle-spasm", refs)
    assert raised.value.path == str(FIXTURES / fixture) and problem in raised.value.problem
    assert {p: p.read_bytes() for p in corpus.rglob("*") if p.is_file()} == before


def test_a_folder_that_fails_to_load_is_never_put_in_place(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_FOLDER, corpus / "muscle-spasm")
    before = {p: p.read_bytes() for p in corpus.rglob("*") if p.is_file()}
    heading_only = tmp_path / "7-heading-only.txt"
    heading_only.write_text("Abstract\n")  # a heading and no text: the loader refuses the staged folder
    with pytest.raises(CorpusError, match="the reference text is empty") as raised:
        add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(7, heading_only)])
    assert raised.value.path == str(corpus / "muscle-spasm" / "references" / "7-heading-only.txt")
    assert {p: p.read_bytes() for p in corpus.rglob("*") if p.is_file()} == before
    assert [p.name for p in corpus.iterdir()] == ["muscle-spasm"]


def test_an_existing_folder_that_does_not_load_is_named(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_FOLDER, corpus / "muscle-spasm")
    references = corpus / "muscle-spasm" / "references.json"
    data = json.loads(references.read_text())
    data["references"][2]["kind"] = "blog_post"  # an unknown kind: `followup index` refuses the folder
    references.write_text(json.dumps(data))
    with pytest.raises(CorpusError, match="unknown kind 'blog_post'") as raised:
        add_article(PAGE, corpus, "muscle-spasm")
    assert raised.value.path == f"{references} (references[2])"
    assert references.read_text() == json.dumps(data) and [p.name for p in corpus.iterdir()] == ["muscle-spasm"]


def test_bad_requests_are_refused_with_what_is_wrong(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    with pytest.raises(CorpusError, match="--retracted 9: the article has no reference 9"):
        add_article(PAGE, corpus, "muscle-spasm", retracted=[9])
    with pytest.raises(CorpusError, match="--ref 2 is given twice"):
        add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(2, SPL), ReferenceFile(2, SPL)])
    with pytest.raises(CorpusError, match="must be 1 to 100 lower-case letters"):
        add_article(PAGE, corpus, "Muscle Spasm")
    with pytest.raises(CorpusError, match=r"id 'x\\n' must be 1 to 100"):
        add_article(PAGE, corpus, "x\n")  # "$" of a pattern matched with re.match lets a final newline in
    with pytest.raises(CorpusError, match="must be 1 to 100"):
        add_article(PAGE, corpus, "a" * 101)
    with pytest.raises(CorpusError, match="/dev/zero: over 50,000,000 bytes"):
        add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(2, Path("/dev/zero"))])
    with pytest.raises(CorpusError, match="--ref 2147483648: a reference number is 1 to 99,999"):
        add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(2147483648, SPL)])
    other = tmp_path / "unrelated.xml"
    other.write_text("<?xml version='1.0'?><feed><entry/></feed>")
    with pytest.raises(CorpusError, match="<feed> is neither PubMed XML"):
        add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(2, other)])
    with pytest.raises(CorpusError, match="cannot be read"):
        add_article(tmp_path, corpus, "muscle-spasm")  # a folder given as the page
    not_a_folder = tmp_path / "corpus.txt"
    not_a_folder.write_text("")
    with pytest.raises(CorpusError, match="is not a directory"):
        add_article(PAGE, not_a_folder, "muscle-spasm")
    (corpus / "notes").mkdir(parents=True)
    with pytest.raises(CorpusError, match="is not an article folder"):
        add_article(PAGE, corpus, "notes")
    assert not (corpus / "muscle-spasm").exists()


def test_the_command_line_adds_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    argv = ["add", str(PAGE), "--id", "muscle-spasm", "--corpus", str(corpus), "--ref", "2", str(SPL)]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["created"] and result["imported"] == {"2": "spl"} and result["citations"] == 23
    assert main(["add", str(PAGE), "--corpus", str(corpus), "--ref", "two", str(SPL)]) == 1
    assert "N must be a reference number" in capsys.readouterr().err
    assert main(["add", str(PAGE), "--corpus", str(corpus), "--ref", "2", str(FIXTURES / "spl-malformed.xml")]) == 1
    assert f"{FIXTURES / 'spl-malformed.xml'}: malformed XML at line" in capsys.readouterr().err
