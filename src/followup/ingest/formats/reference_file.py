"""A reference's file, whatever its format: found from its content (PubMed XML, DailyMed SPL XML or
plain text) and read into a references.json record and the text the corpus keeps for it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from followup.core.errors import CorpusError
from followup.ingest.corpus import read_text
from followup.ingest.formats import SourceFile
from followup.ingest.formats.pubmed import read_pubmed
from followup.ingest.formats.spl import read_spl

ReferenceFormat = Literal["pubmed", "spl", "text"]


@dataclass(frozen=True)
class ImportedReference:
    format: ReferenceFormat
    fields: dict[str, Any]  # references.json fields the file gives (none for plain text)
    text: str  # "" when the record has no text (a PubMed record without an abstract)
    file_name: str  # its name under references/, without the "N-" prefix
    source: SourceFile
    concerns: tuple[str, ...] = ()  # what the record says against it short of a retraction, for a warning


def reference_format(path: Path, text: str) -> ReferenceFormat:
    head = text.lstrip("\ufeff \t\r\n")[:4000]
    if not head.startswith("<"):
        return "text"
    if re.search(r"<PubmedArticleSet[\s>]", head):
        return "pubmed"
    if re.search(r"<document[\s>]", head) and "urn:hl7-org:v3" in head:
        return "spl"
    root = re.search(r"<([A-Za-z][\w:.-]*)", re.sub(r"<[?!][^>]*>", "", head))
    found = f"<{root[1]}>" if root else "markup"
    raise CorpusError(
        path, f"{found} is neither PubMed XML (<PubmedArticleSet>) nor DailyMed SPL (HL7 v3 <document>); "
        "give a reference as one of those or as plain text"
    )  # fmt: skip


def read_reference_file(path: Path) -> ImportedReference:
    text = read_text(path)
    kind = reference_format(path, text)
    if kind == "pubmed":
        records = read_pubmed(path)
        if len(records) != 1:
            raise CorpusError(path, f"holds {len(records)} PubMed records; a reference is one (split the file)")
        fields = records[0].fields
        first_author = (fields.get("authors") or "").split(",")[0].split(" ")[0]
        parts = (_slug(first_author) or f"pmid{fields['ids']['pmid']}", str(fields.get("year") or ""), "abstract")
        name = "-".join(p for p in parts if p)
        source = SourceFile.of(path, text, f"PubMed XML, PMID {fields['ids']['pmid']}")
        return ImportedReference("pubmed", fields, records[0].abstract, f"{name}.md", source, records[0].concerns)
    if kind == "spl":
        label = read_spl(path)
        source = SourceFile.of(path, text, f"DailyMed SPL XML, set id {label.fields['ids'].get('dailymed_setid', '?')}")
        return ImportedReference("spl", label.fields, label.text, f"{_slug(label.fields['title'], 4)}-label.md", source)
    if not text.strip():
        raise CorpusError(path, "the reference text is empty")
    return ImportedReference("text", {}, text, path.name, SourceFile.of(path, text, "plain text, byte for byte"))


def _slug(text: str, words: int = 1) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.casefold())[:words])
