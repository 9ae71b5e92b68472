"""An article's references as RIS (read back by rispy, an independent reader) and as CSL-JSON (checked
against the official CSL data schema, tests/fixtures/csl/)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import rispy

from followup.core.types import SELF, Article, Reference, ReferenceKind, tier_for_kind
from followup.ingest.corpus import load_article
from followup.present.author_names import PersonName, split_authors
from followup.present.citation_export import (
    CSL_JSON_MEDIA_TYPE,
    RIS_MEDIA_TYPE,
    export_references,
    reference_csl,
    reference_ris,
    references_csl,
    references_ris,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
CSL_SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "csl" / "csl-data.json").read_text())


@pytest.fixture(scope="module")
def seed() -> Article:
    article, _ = load_article(CORPUS / "muscle-spasm")
    return article


def ref(number: int = 1, kind: ReferenceKind = "review", **fields: Any) -> Reference:
    return Reference(number, fields.pop("title", "A title"), kind, tier_for_kind(kind), **fields)


def article_of(*references: Reference) -> Article:
    return Article("a-1", "Does it work?", "Does it work?", "2025-01-01", references)


def read_ris(text: str) -> list[dict[str, Any]]:
    """The records as rispy reads them, its lines split at the specification's CR LF only."""
    records: list[dict[str, Any]] = rispy.loads(text, newline="\r\n")
    return records


def valid_csl(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    jsonschema.Draft7Validator(CSL_SCHEMA).validate(items)
    return items


def ris_author(authors: str | None, *, organisation: bool = False) -> list[str]:
    """Each name as RIS writes one: "Surname, Given" for a person, an organisation's name as written."""
    names = split_authors(authors, organisation=organisation).names
    return [f"{n.family}, {n.given}" if isinstance(n, PersonName) else n.literal for n in names]


# The bundled corpus


def test_the_seed_references_round_trip_through_an_independent_ris_reader(seed: Article) -> None:
    text = references_ris(seed)
    assert text.replace("\r\n", "") == text.replace("\r\n", "").replace("\n", "").replace("\r", "")  # CR LF only
    records = read_ris(text)
    assert len(records) == len(seed.references) == 7
    for record, reference in zip(records, seed.references, strict=True):
        assert record.get("title") == reference.title
        assert record.get("journal_name") == reference.journal == record.get("secondary_title")
        assert record.get("year") == (str(reference.year) if reference.year else None)
        assert record.get("doi") == reference.ids.get("doi")
        assert record.get("accession_number") == reference.ids.get("pmid")
        assert record.get("authors", []) == ris_author(reference.authors, organisation=reference.kind == "drug_label")
        assert f'Reference {reference.number} of "{seed.title}" (followup article muscle-spasm)' in record["notes"]
        assert f"Evidence tier: {reference.tier.value.replace('_', ' ')}" in record["notes"]
    by_number = {r.number: record for r, record in zip(seed.references, records, strict=True)}
    assert [by_number[n]["type_of_reference"] for n in range(1, 8)] == [
        "RPRT", "RPRT", "GEN", "JOUR", "JOUR", "JOUR", "JOUR"
    ]  # fmt: skip
    chou = by_number[7]
    assert chou["authors"] == ["Chou, R.", "Peterson, K.", "Helfand, M."]
    assert chou["name_of_database"] == "PubMed" and chou["accession_number"] == "15276195"
    assert chou["urls"] == ["https://doi.org/10.1016/j.jpainsymman.2004.05.002"]
    assert by_number[5]["authors"][:2] == ["Miller, K. C.", "McDermott, B. P."]
    assert "PMCID: PMC8775277" in by_number[5]["notes"]
    label = by_number[2]
    assert label["authors"] == ["Roche Laboratories Inc."]  # no comma: Zotero files it as one name
    assert label["urls"] == [seed.references[1].url]
    assert label["type_of_work"] == "Drug label (prescribing information)"


def test_each_ris_record_starts_with_ty_and_ends_with_er(seed: Article) -> None:
    text = references_ris(seed)
    records = text.split("\r\n" + "ER  - " + "\r\n")
    assert records[-1] == "" and len(records) == 8
    assert all(r.lstrip("\r\n").startswith("TY  - ") for r in records[:-1])
    assert all(line[2:6] == "  - " for line in text.split("\r\n") if line)


def test_the_seed_references_are_valid_csl_json(seed: Article) -> None:
    items = valid_csl(references_csl(seed))
    assert [item["id"] for item in items] == [f"muscle-spasm/ref-{n}" for n in range(1, 8)]
    chou = items[6]
    assert chou["type"] == "article-journal"
    assert chou["author"] == [{"family": "Chou", "given": "R."}, {"family": "Peterson", "given": "K."},
                              {"family": "Helfand", "given": "M."}]  # fmt: skip
    assert chou["container-title"] == "Journal of Pain and Symptom Management"
    assert chou["issued"] == {"date-parts": [[2004]]}
    assert (chou["DOI"], chou["PMID"]) == ("10.1016/j.jpainsymman.2004.05.002", "15276195")
    assert items[4]["PMCID"] == "PMC8775277"
    assert items[1]["type"] == "report" and items[1]["author"] == [{"literal": "Roche Laboratories Inc."}]
    assert items[1]["URL"].startswith("https://dailymed.nlm.nih.gov/")
    assert items[0]["author"] == [{"literal": "Dr.Oracle Medical Advisory Board & Editors"}]
    assert items[2] == {"id": "muscle-spasm/ref-3", "type": "document", "note": items[2]["note"]}


def test_the_schema_refuses_what_it_should(seed: Article) -> None:
    """The vendored schema is not a rubber stamp: a field it does not know, or a wrong type, fails."""
    items = references_csl(seed)
    with pytest.raises(jsonschema.ValidationError):
        valid_csl([{**items[0], "tier": "guideline"}])
    with pytest.raises(jsonschema.ValidationError):
        valid_csl([{**items[0], "type": "drug-label"}])


def test_the_files_bytes_types_and_names(seed: Article) -> None:
    ris = export_references(seed, "ris")
    assert ris.content_type == f"{RIS_MEDIA_TYPE}; charset=utf-8"
    assert ris.filename == "muscle-spasm-references.ris"
    assert ris.body.decode("utf-8") == references_ris(seed) and not ris.body.startswith(b"\xef\xbb\xbf")
    csl = export_references(seed, "csl-json")
    assert (csl.content_type, csl.filename) == (CSL_JSON_MEDIA_TYPE, "muscle-spasm-references.json")
    assert json.loads(csl.body.decode("utf-8")) == references_csl(seed)


# Hand-made references


def test_an_organisation_author_is_one_name() -> None:
    guideline = ref(1, "guideline", authors="World Health Organization, Department of Health")
    [record] = read_ris(reference_ris(article_of(guideline), guideline))
    assert record["authors"] == ["World Health Organization, Department of Health"]
    assert record["type_of_reference"] == "RPRT" and record["type_of_work"] == "Guideline"
    item = valid_csl([reference_csl(article_of(guideline), guideline)])[0]
    assert item["author"] == [{"literal": "World Health Organization, Department of Health"}]
    assert item["type"] == "report" and item["genre"] == "Guideline"
    in_a_journal = replace(guideline, journal="Lancet")
    assert read_ris(reference_ris(article_of(in_a_journal), in_a_journal))[0]["type_of_reference"] == "JOUR"


def test_no_year_and_no_authors_leave_their_fields_out() -> None:
    bare = ref(4, "rct", journal="BMJ")
    [record] = read_ris(reference_ris(article_of(bare), bare))
    assert "year" not in record and "authors" not in record
    assert record["type_of_reference"] == "JOUR" and record["title"] == "A title"
    item = valid_csl([reference_csl(article_of(bare), bare)])[0]
    assert "issued" not in item and "author" not in item and item["container-title"] == "BMJ"


def test_a_retracted_reference_says_so_first() -> None:
    retracted = ref(6, "rct", retracted=True, authors="Wakefield AJ et al.", year=1998, ids={"pmid": "9500320"})
    [record] = read_ris(reference_ris(article_of(retracted), retracted))
    assert record["notes"][0] == "RETRACTED"
    assert "More authors than listed (et al.)" in record["notes"]
    assert record["authors"] == ["Wakefield, A. J."]
    item = valid_csl([reference_csl(article_of(retracted), retracted)])[0]
    assert item["status"] == "retracted" and item["note"].startswith("RETRACTED\n")
    assert item["URL"] == "https://pubmed.ncbi.nlm.nih.gov/9500320/"


def test_a_drug_label_is_its_labeler_s_report() -> None:
    label = ref(2, "drug_label", title="LIORESAL (baclofen) label", authors="Novartis, Inc.", year=2020,
                ids={"dailymed_setid": "554baee5-b171-4452-a50a-41a0946f956c"})  # fmt: skip
    [record] = read_ris(reference_ris(article_of(label), label))
    assert record["type_of_reference"] == "RPRT" and record["authors"] == ["Novartis, Inc."]
    assert record["urls"] == [
        "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid=554baee5-b171-4452-a50a-41a0946f956c"
    ]
    assert "Evidence tier: drug label" in record["notes"]
    item = valid_csl([reference_csl(article_of(label), label)])[0]
    assert item["type"] == "report" and item["author"] == [{"literal": "Novartis, Inc."}]
    assert item["genre"] == "Drug label (prescribing information)"


def test_reference_0_the_article_s_own_record_is_exported_first() -> None:
    own = ref(SELF, "rct", title="Acupuncture for depression: a randomised controlled trial",
              authors="MacPherson H, Richmond S", journal="PLoS Med", year=2013,
              ids={"doi": "10.1371/journal.pmed.1001518"})  # fmt: skip
    article = article_of(own, ref(1, "review"))
    [first, second] = read_ris(references_ris(article))
    assert first["notes"][0] == 'Reference 0: the article "Does it work?" itself (followup article a-1)'
    assert first["authors"] == ["MacPherson, H.", "Richmond, S."]
    assert first["urls"] == ["https://doi.org/10.1371/journal.pmed.1001518"]
    assert second["notes"][0] == 'Reference 1 of "Does it work?" (followup article a-1)'
    items = valid_csl(references_csl(article))
    assert [item["id"] for item in items] == ["a-1/ref-0", "a-1/ref-1"]


def test_a_reference_with_nothing_but_its_number_still_exports() -> None:
    unknown = Reference(3, None, "unknown", tier_for_kind("unknown"))
    [record] = read_ris(reference_ris(article_of(unknown), unknown))
    assert record == {
        "type_of_reference": "GEN",
        "notes": ['Reference 3 of "Does it work?" (followup article a-1)', "Evidence tier: unreferenced"],
    }
    item = valid_csl([reference_csl(article_of(unknown), unknown)])[0]
    assert set(item) == {"id", "type", "note"} and item["type"] == "document"


def test_values_stay_on_one_line_and_non_ascii_text_survives() -> None:
    odd = ref(
        5, "review", title="Crampes\r\nmusculaires :\n étude", authors="Ölander Ö, Nguyễn V", journal="Revue\tMéd"
    )
    export = export_references(article_of(odd), "ris")
    [record] = read_ris(export.body.decode("utf-8"))
    assert record["title"] == "Crampes musculaires : étude"
    assert record["authors"] == ["Ölander, Ö.", "Nguyễn, V."] and record["journal_name"] == "Revue Méd"
    item = valid_csl(json.loads(export_references(article_of(odd), "csl-json").body))[0]
    assert item["title"] == "Crampes musculaires : étude" and item["author"][1] == {"family": "Nguyễn", "given": "V."}
