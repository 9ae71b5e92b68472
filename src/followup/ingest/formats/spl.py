"""FDA drug labels as references: DailyMed's SPL XML (HL7 v3 `document`, namespace urn:hl7-org:v3).

A label becomes a references.json record (kind `drug_label`: its title, the labeler, the year of its
effective time, the DailyMed set id) and its text as Markdown: each section under its title (or the
name of its LOINC code when it has no title), subsections nested, paragraphs and list items as the
label prints them, so a passage's breadcrumb says "Indications and Usage" or "Warnings and
Precautions > Pregnancy". Text is taken as the label gives it, inline markup flattened.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from followup.core.errors import CorpusError
from followup.ingest.formats import xml_root

V3 = "{urn:hl7-org:v3}"
# Names of the LOINC section codes of a prescribing label, for sections that carry no <title>.
LOINC_SECTIONS = {
    "34067-9": "Indications and Usage",
    "34068-7": "Dosage and Administration",
    "43678-2": "Dosage Forms and Strengths",
    "34070-3": "Contraindications",
    "43685-7": "Warnings and Precautions",
    "34071-1": "Warnings",
    "42232-9": "Precautions",
    "34084-4": "Adverse Reactions",
    "34073-7": "Drug Interactions",
    "43684-0": "Use in Specific Populations",
    "42228-7": "Pregnancy",
    "34088-5": "Overdosage",
    "34089-3": "Description",
    "34090-1": "Clinical Pharmacology",
    "34066-1": "Boxed Warning",
}


@dataclass(frozen=True)
class LabelRecord:
    fields: dict[str, Any]  # references.json fields (no number or text_file yet)
    text: str  # the label's sections as Markdown


def read_spl(path: Path) -> LabelRecord:
    root = xml_root(path)
    if root.tag != f"{V3}document":
        raise CorpusError(path, f"not an SPL label: the root element is <{root.tag}>, not HL7 v3 <document>")
    sections = root.findall(f"{V3}component/{V3}structuredBody/{V3}component/{V3}section")
    lines: list[str] = []
    for section in sections:
        lines += _section(section, 2)
    if not any(line and not line.startswith("#") for line in lines):
        raise CorpusError(path, "the label has no section text")
    title = _text(root.find(f"{V3}title"))
    labeler = _text(root.find(f"{V3}author/{V3}assignedEntity/{V3}representedOrganization/{V3}name"))
    effective = _attribute(root, f"{V3}effectiveTime", "value")
    set_id = _attribute(root, f"{V3}setId", "root")
    fields: dict[str, Any] = {
        "title": title or None,
        "authors": labeler or None,
        "year": int(effective[:4]) if effective[:4].isdigit() else None,
        "kind": "drug_label",
        "ids": {"dailymed_setid": set_id} if set_id else {},
        "url": f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={set_id}" if set_id else None,
    }
    return LabelRecord({k: v for k, v in fields.items() if v not in (None, "", {})}, "\n".join(lines))


def _section(section: ET.Element, level: int) -> list[str]:
    code = _attribute(section, f"{V3}code", "code")
    title = _text(section.find(f"{V3}title")) or LOINC_SECTIONS.get(code, "")
    lines = [f"{'#' * min(level, 6)} {_titled(title)}", ""] if title else []
    body = section.find(f"{V3}text")
    if body is not None:
        for part in body:
            if part.tag == f"{V3}paragraph" and _text(part):
                lines += [_text(part), ""]
            elif part.tag == f"{V3}list":
                lines += [f"- {_text(item)}" for item in part.findall(f"{V3}item") if _text(item)] + [""]
    for child in section.findall(f"{V3}component/{V3}section"):
        lines += _section(child, level + 1)
    return lines


def _titled(title: str) -> str:
    """ "1 INDICATIONS & USAGE" -> "Indications & Usage": labels print titles in capitals, numbered."""
    words = title.split()
    if words and words[0].rstrip(".").replace(".", "").isdigit():
        words = words[1:]
    text = " ".join(words)
    return (
        text.title().replace(" And ", " and ").replace(" Of ", " of ").replace(" In ", " in ")
        if text.isupper()
        else text
    )


def _attribute(element: ET.Element, path: str, name: str) -> str:
    # Not `find(...) or default`: an element without children is falsy.
    found = element.find(path)
    return "" if found is None else found.get(name, "")


def _text(element: ET.Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""
