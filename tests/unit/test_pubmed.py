"""PubMed efetch XML read into a reference record and its abstract, labels kept as sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.core.errors import CorpusError
from followup.core.types import Tier, tier_for_kind
from followup.ingest.formats.pubmed import read_pubmed
from followup.ingest.structure import markdown_blocks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
CORPUS_COPY = (
    Path(__file__).resolve().parents[2] / "corpus" / "muscle-spasm" / "references" / "7-chou-2004-abstract.txt"
)

STRUCTURED = """<?xml version="1.0"?>
<PubmedArticleSet><PubmedArticle>
  <MedlineCitation><PMID Version="1">1</PMID><Article>
    <Journal><JournalIssue><PubDate><MedlineDate>2019 Nov-Dec</MedlineDate></PubDate></JournalIssue>
      <Title>A journal</Title></Journal>
    <ArticleTitle>A <i>structured</i> abstract</ArticleTitle>
    <Abstract>
      <AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">Why it was done.</AbstractText>
      <AbstractText Label="RESULTS" NlmCategory="RESULTS">What was  found.</AbstractText>
      <AbstractText Label="CONCLUSIONS" NlmCategory="CONCLUSIONS">What it means.</AbstractText>
    </Abstract>
    <AuthorList><Author><CollectiveName>A Study Group</CollectiveName></Author></AuthorList>
    <PublicationTypeList><PublicationType>Randomized Controlled Trial</PublicationType></PublicationTypeList>
  </Article></MedlineCitation>
  <PubmedData><ArticleIdList><ArticleId IdType="pmc">PMC1</ArticleId></ArticleIdList></PubmedData>
</PubmedArticle></PubmedArticleSet>
"""


def test_a_pubmed_record_gives_the_reference_fields_and_its_abstract() -> None:
    (record,) = read_pubmed(FIXTURES / "pubmed-chou-2004.xml")
    fields = record.fields
    assert fields["title"].startswith("Comparative efficacy and safety of skeletal muscle relaxants")
    assert fields["authors"] == "Chou R, Peterson K, Helfand M"
    assert fields["journal"] == "Journal of pain and symptom management" and fields["year"] == 2004
    assert fields["ids"] == {"pmid": "15276195", "doi": "10.1016/j.jpainsymman.2004.05.002"}
    assert fields["kind"] == "systematic_review"
    assert tier_for_kind(fields["kind"], fields["publication_types"]) is Tier.SYSTEMATIC_REVIEW
    stored = CORPUS_COPY.read_text(encoding="utf-8").split("\n", 2)[2].strip()
    assert record.abstract == f"## Abstract\n\n{stored}\n"


def test_a_structured_abstract_keeps_its_labels_as_sections(tmp_path: Path) -> None:
    path = tmp_path / "structured.xml"
    path.write_text(STRUCTURED, encoding="utf-8")
    (record,) = read_pubmed(path)
    assert record.fields["title"] == "A structured abstract"  # inline markup flattened
    assert record.fields["year"] == 2019 and record.fields["kind"] == "randomized_controlled_trial"
    assert record.fields["authors"] == "A Study Group" and record.fields["ids"] == {"pmid": "1", "pmcid": "PMC1"}
    text = record.abstract
    sections = {text[b.start : b.end]: b.section for b in markdown_blocks(text)}
    assert sections == {
        "Why it was done.": ("Abstract", "BACKGROUND"),
        "What was found.": ("Abstract", "RESULTS"),
        "What it means.": ("Abstract", "CONCLUSIONS"),
    }


def test_malformed_or_foreign_files_are_refused_naming_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"pubmed-malformed\.xml: malformed XML at line \d+, column \d+"):
        read_pubmed(FIXTURES / "pubmed-malformed.xml")
    other = tmp_path / "label.xml"
    other.write_text('<?xml version="1.0"?><document xmlns="urn:hl7-org:v3"/>', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"label\.xml: not a PubMed efetch file"):
        read_pubmed(other)
    empty = tmp_path / "empty.xml"
    empty.write_text("<PubmedArticleSet/>", encoding="utf-8")
    with pytest.raises(CorpusError, match="no <PubmedArticle>"):
        read_pubmed(empty)


RETRACTED = FIXTURES / "pubmed-wakefield-1998-retracted.xml"  # PMID 9500320, retracted in 2010
NOTICE = FIXTURES / "pubmed-lancet-2010-retraction-notice.xml"  # PMID 20137807, its retraction notice
RETRACTED_TYPE = '<PublicationType UI="D016441">Retracted Publication</PublicationType>'


def edited(tmp_path: Path, source: Path, *cuts: tuple[str, str]) -> Path:
    """A copy of a fixture with each (old, new) replaced; every `old` must be there, so that no edit
    silently does nothing."""
    text = source.read_text(encoding="utf-8")
    for old, new in cuts:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / source.name
    path.write_text(text, encoding="utf-8")
    return path


def without_retraction_in(text: str) -> tuple[str, str]:
    """The (old, new) cut that drops the record's RetractionIn relations."""
    start = text.index('<CommentsCorrections RefType="RetractionIn">')
    end = text.index('<CommentsCorrections RefType="ExpressionOfConcernIn">')
    return text[start:end], ""


def test_a_retracted_paper_is_marked_with_the_pmids_of_its_retraction_notices() -> None:
    (record,) = read_pubmed(RETRACTED)
    fields = record.fields
    assert fields["retracted"] is True
    assert fields["retraction_notices"] == ["15016483", "20137807"]  # the 2004 and the 2010 notices, in order
    assert fields["kind"] == "unknown" and "retraction_of" not in fields
    assert fields["ids"] == {"pmid": "9500320", "doi": "10.1016/s0140-6736(97)11096-0"}
    assert record.concerns == ()  # its expression of concern adds nothing to a retraction
    assert "### FINDINGS" in record.abstract  # the abstract is read as any other: indexing is the loader's call


def test_either_of_pubmeds_signals_alone_marks_the_paper_retracted(tmp_path: Path) -> None:
    text = RETRACTED.read_text(encoding="utf-8")
    (type_only,) = read_pubmed(edited(tmp_path, RETRACTED, without_retraction_in(text)))
    assert type_only.fields["retracted"] is True and "retraction_notices" not in type_only.fields
    (relation_only,) = read_pubmed(edited(tmp_path, RETRACTED, (RETRACTED_TYPE, "")))
    assert "Retracted Publication" not in relation_only.fields["publication_types"]
    assert relation_only.fields["retracted"] is True
    assert relation_only.fields["retraction_notices"] == ["15016483", "20137807"]


def test_a_retraction_notice_is_recorded_as_one_naming_the_paper_it_retracts(tmp_path: Path) -> None:
    (record,) = read_pubmed(NOTICE)
    assert record.fields["kind"] == "retraction_notice"
    assert record.fields["retraction_of"] == ["9500320"]
    assert "retracted" not in record.fields and "retraction_notices" not in record.fields
    assert tier_for_kind(record.fields["kind"], record.fields["publication_types"]) is Tier.UNREFERENCED
    assert record.abstract == ""
    # The type's name before 2025, with the relation gone: the type alone says it is a notice.
    relation = NOTICE.read_text(encoding="utf-8")
    relation = relation[relation.index("<CommentsCorrectionsList>") : relation.index("</CommentsCorrectionsList>")]
    older = edited(
        tmp_path,
        NOTICE,
        (">Retraction Notice<", ">Retraction of Publication<"),
        (relation + "</CommentsCorrectionsList>", ""),
    )
    (record,) = read_pubmed(older)
    assert record.fields["kind"] == "retraction_notice" and "retraction_of" not in record.fields


def test_a_record_with_neither_signal_carries_no_retraction_field() -> None:
    (record,) = read_pubmed(FIXTURES / "pubmed-chou-2004.xml")
    assert not {"retracted", "retraction_notices", "retraction_of"} & record.fields.keys()
    assert record.concerns == ()


def test_an_expression_of_concern_or_a_partial_retraction_is_a_concern_not_a_retraction(tmp_path: Path) -> None:
    text = RETRACTED.read_text(encoding="utf-8")
    kept = edited(tmp_path, RETRACTED, without_retraction_in(text), (RETRACTED_TYPE, ""))
    (record,) = read_pubmed(kept)
    assert "retracted" not in record.fields
    assert record.concerns == ("an expression of concern (notice PMID 21971344)",)
    partial = edited(tmp_path, kept, ('RefType="ExpressionOfConcernIn"', 'RefType="PartialRetractionIn"'))
    (record,) = read_pubmed(partial)
    assert "retracted" not in record.fields
    assert record.concerns == ("a partial retraction (notice PMID 21971344)",)
