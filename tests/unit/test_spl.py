"""DailyMed SPL XML read into a drug-label reference and its sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.core.errors import CorpusError
from followup.ingest.formats.spl import read_spl
from followup.ingest.structure import markdown_blocks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
CORPUS_COPY = (
    Path(__file__).resolve().parents[2] / "corpus/muscle-spasm/references/2-valium-diazepam-label-indications.txt"
)

UNTITLED = """<?xml version="1.0"?>
<document xmlns="urn:hl7-org:v3"><title>A label</title>
  <component><structuredBody>
    <component><section><code code="43684-0" codeSystem="2.16.840.1.113883.6.1"/>
      <component><section><title>8.1 PREGNANCY</title>
        <text><paragraph>Section text.</paragraph><list><item>One item.</item></list></text>
      </section></component>
    </section></component>
  </structuredBody></component>
</document>
"""


def test_a_label_gives_a_drug_label_record_and_its_sections_as_printed() -> None:
    record = read_spl(FIXTURES / "spl-valium-indications.xml")
    assert record.fields == {
        "title": "VALIUM (diazepam) tablets, prescribing information",
        "authors": "Roche Laboratories Inc.",
        "year": 2024,
        "kind": "drug_label",
        "ids": {"dailymed_setid": "554baee5-b171-4452-a50a-41a0946f956c"},
        "url": "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid=554baee5-b171-4452-a50a-41a0946f956c",
    }
    blocks = markdown_blocks(record.text)
    paragraphs = CORPUS_COPY.read_text(encoding="utf-8").split("\n\n")[1:]
    assert [record.text[b.start : b.end] for b in blocks] == [p.strip() for p in paragraphs]
    assert {b.section for b in blocks} == {("Indications and Usage",)}


def test_a_section_without_a_title_is_named_by_its_loinc_code_and_subsections_nest(tmp_path: Path) -> None:
    path = tmp_path / "label.xml"
    path.write_text(UNTITLED, encoding="utf-8")
    text = read_spl(path).text
    sections = {text[b.start : b.end]: b.section for b in markdown_blocks(text)}
    assert sections == {
        "Section text.": ("Use in Specific Populations", "Pregnancy"),
        "One item.": ("Use in Specific Populations", "Pregnancy"),
    }


def test_malformed_or_foreign_files_are_refused_naming_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"spl-malformed\.xml: malformed XML at line \d+, column \d+"):
        read_spl(FIXTURES / "spl-malformed.xml")
    with pytest.raises(CorpusError, match=r"pubmed-chou-2004\.xml: not an SPL label"):
        read_spl(FIXTURES / "pubmed-chou-2004.xml")
    empty = tmp_path / "empty.xml"
    empty.write_text('<document xmlns="urn:hl7-org:v3"><title>t</title></document>', encoding="utf-8")
    with pytest.raises(CorpusError, match="no section text"):
        read_spl(empty)
