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
RETRACTED = FIXTURES / "pubmed-wakefield-1998-retracted.xml"  # PMID 9500320, retracted by PMID 20137807 (and 15016483)
NOTICE = FIXTURES / "pubmed-lancet-2010-retraction-notice.xml"  # PMID 20137807
RETRACTED_WARNING = (
    "reference 6 (PMID 9500320) is retracted (retraction notices PMID 15016483, 20137807): "
    "it will never be ranked as evidence"
)

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
    assert "reference 3 is retracted: it will never be ranked as evidence" in added.warnings
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


def unretracted(tmp_path: Path) -> Path:
    """The retracted paper's record as PubMed held it before the retraction: no "Retracted Publication"
    type, no RetractionIn relation (its expression of concern kept)."""
    text = RETRACTED.read_text(encoding="utf-8")
    relations = text[
        text.index('<CommentsCorrections RefType="RetractionIn">') : text.index(
            '<CommentsCorrections RefType="ExpressionOfConcernIn">'
        )
    ]
    kind = '<PublicationType UI="D016441">Retracted Publication</PublicationType>'
    assert relations and kind in text
    path = tmp_path / "wakefield-1998-before-the-retraction.xml"
    path.write_text(text.replace(relations, "").replace(kind, ""), encoding="utf-8")
    return path


def test_a_retracted_pubmed_reference_is_marked_warned_and_never_indexed(tmp_path: Path) -> None:
    added = add_article(PAGE, tmp_path / "corpus", "muscle-spasm", [ReferenceFile(6, RETRACTED)])
    record = next(r for r in added.references if r["number"] == 6)
    assert record["retracted"] is True and record["retraction_notices"] == ["15016483", "20137807"]
    assert RETRACTED_WARNING in added.warnings
    assert not any("still ranked" in w for w in added.warnings)  # its expression of concern is moot
    article, documents = load_article(added.folder)
    reference = article.reference(6)
    assert reference is not None and reference.retracted
    assert "muscle-spasm/ref-6" not in {d.id for d in documents}
    assert (added.folder / record["text_file"]).is_file()  # the abstract is kept for the publisher to read


def test_a_retraction_notice_is_recorded_and_retracts_the_reference_it_names(tmp_path: Path) -> None:
    refs = [ReferenceFile(6, unretracted(tmp_path)), ReferenceFile(8, NOTICE)]
    added = add_article(PAGE, tmp_path / "corpus", "muscle-spasm", refs)
    records = {r["number"]: r for r in added.references}
    assert records[8]["kind"] == "retraction_notice" and records[8]["retraction_of"] == ["9500320"]
    assert records[8]["text_file"] is None  # PubMed has no abstract of it
    assert records[6]["retracted"] is True and records[6]["retraction_notices"] == ["20137807"]
    assert added.warnings[-2:] == (
        "reference 6 (PMID 9500320) is retracted (retraction notice PMID 20137807): it will never be ranked as "
        "evidence",
        "reference 8 (PMID 20137807) is a retraction notice of PMID 9500320 (reference 6): recorded, never ranked "
        "as evidence",
    )
    assert "--ref 8: the article never cites reference 8" in added.warnings  # and says nothing of indexing it
    assert not any("still ranked" in w for w in added.warnings)
    article, documents = load_article(added.folder)
    notice = article.reference(8)
    assert notice is not None and notice.kind == "retraction_notice"
    assert {d.id for d in documents}.isdisjoint({"muscle-spasm/ref-6", "muscle-spasm/ref-8"})

    alone = add_article(PAGE, tmp_path / "other", "muscle-spasm", [ReferenceFile(8, NOTICE)])
    assert (
        "reference 8 (PMID 20137807) is a retraction notice of PMID 9500320 (not a reference of this article): "
        "recorded, never ranked as evidence"
    ) in alone.warnings
    assert not any(r.get("retracted") for r in alone.references)


def test_an_update_keeps_or_gains_the_retraction_as_the_new_record_says(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_FOLDER, corpus / "muscle-spasm")
    before = unretracted(tmp_path)
    first = add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(6, before)])
    assert not next(r for r in first.references if r["number"] == 6).get("retracted")
    assert (
        "reference 6 (PMID 9500320): PubMed lists an expression of concern (notice PMID 21971344); it is still "
        "ranked as evidence (--retracted 6 excludes it)"
    ) in first.warnings
    gained = add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(6, RETRACTED)])
    assert RETRACTED_WARNING in gained.warnings
    kept = add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(6, before)])  # an older file: still retracted
    record = next(r for r in kept.references if r["number"] == 6)
    assert record["retracted"] is True and record["retraction_notices"] == ["15016483", "20137807"]
    assert RETRACTED_WARNING in kept.warnings and not any("still ranked" in w for w in kept.warnings)
    again = add_article(PAGE, corpus, "muscle-spasm")  # no file: the record stays as it is
    assert next(r for r in again.references if r["number"] == 6) == record
    by_flag = add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(7, PUBMED)], retracted=[7])
    assert "reference 7 (PMID 15276195) is retracted: it will never be ranked as evidence" in by_flag.warnings
    redone = add_article(PAGE, corpus, "muscle-spasm", [ReferenceFile(7, PUBMED)])  # without --retracted
    assert next(r for r in redone.references if r["number"] == 7)["retracted"] is True


def test_the_command_prints_retraction_warnings_on_stderr_and_in_its_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "add",
        str(PAGE),
        "--id",
        "muscle-spasm",
        "--corpus",
        str(tmp_path / "corpus"),
        "--ref",
        "6",
        str(RETRACTED),
    ]
    assert main([*argv, "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert RETRACTED_WARNING in result["warnings"]
    assert f"followup: warning: {RETRACTED_WARNING}\n" in err
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "[6] unknown RETRACTED: Ileal-lymphoid-nodular hyperplasia" in out and "warning" not in out
    assert f"followup: warning: {RETRACTED_WARNING}\n" in err
