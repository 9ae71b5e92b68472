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
