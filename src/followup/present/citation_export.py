"""An article's references as files a reference manager imports: RIS (Zotero, EndNote, Mendeley) and
CSL-JSON (Zotero, pandoc, citeproc), one record per reference, its own record (reference 0) included.

The facts behind the choices, from the RIS specification (RefMan, 2001-2011), Zotero's RIS translator
(zotero/translators RIS.js) and the CSL data schema (citation-style-language/schema csl-data.json):
- RIS: `TY  - ` first, `ER  - ` last, each line ended by CR LF. The specification names no encoding
  beyond 8-bit ANSI; Zotero reads and writes RIS as UTF-8, which is what is written here.
- Zotero reads an `AU` line with a comma as "Surname, Given" and one without as an organisation's
  name; `T2` as a journal article's publication title and `JO` as the journal's abbreviation (its
  title too when there is no `T2`), so the journal is written under both; `AN` as the location in
  the archive `DB` names ("PubMed"); `M3` as a report's type; `N1` as a note.
- Zotero has no drug-label type: a label is a report (RPRT, CSL `report`) of its labeler, "Drug label
  (prescribing information)"; a guideline is a journal article when a journal is named, else a report.

A reference with nothing but its number still exports: its type, its id and a note naming the
article it is cited in and its number there, which is what a reader needs to find it. No title is
made up for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from followup.core.types import SELF, Article, Reference, Tier
from followup.present.author_names import AuthorList, AuthorName, PersonName, split_authors
from followup.present.render import reference_links

ExportFormat = Literal["ris", "csl-json"]
RIS_MEDIA_TYPE = "application/x-research-info-systems"  # what the Zotero Connector imports on sight
CSL_JSON_MEDIA_TYPE = "application/vnd.citationstyles.csl+json"
_EXTENSIONS: dict[ExportFormat, str] = {"ris": "ris", "csl-json": "json"}

RIS_NEWLINE = "\r\n"  # the specification's line end
RETRACTED = "RETRACTED"
_LINK_PREFERENCE = ("doi", "pubmed", "dailymed")  # the reference's own `url` comes first


@dataclass(frozen=True)
class ItemType:
    ris: str  # the RIS `TY`
    csl: str  # the CSL `type`
    genre: str | None = None  # a report's kind: RIS `M3`, CSL `genre`


JOURNAL_ARTICLE = ItemType("JOUR", "article-journal")
DRUG_LABEL = ItemType("RPRT", "report", "Drug label (prescribing information)")
GENERIC = ItemType("GEN", "document")


def item_type(ref: Reference) -> ItemType:
    """Journal articles for research of every design; a drug label is its labeler's report; a guideline
    or a record of unknown kind is a journal article only when it names a journal."""
    if ref.kind == "drug_label":
        return DRUG_LABEL
    if ref.tier is Tier.GUIDELINE and not ref.journal:
        return ItemType("RPRT", "report", ref.kind.replace("_", " ").capitalize())
    if ref.kind in ("unknown", "expert_opinion") and not ref.journal:
        return GENERIC
    return JOURNAL_ARTICLE


@dataclass(frozen=True)
class ReferenceExport:
    """A file to hand out: its bytes, its Content-Type and its name."""

    body: bytes
    content_type: str
    filename: str


def export_references(article: Article, fmt: ExportFormat) -> ReferenceExport:
    filename = f"{article.id}-references.{_EXTENSIONS[fmt]}"
    if fmt == "ris":
        return ReferenceExport(references_ris(article).encode("utf-8"), f"{RIS_MEDIA_TYPE}; charset=utf-8", filename)
    body = json.dumps(references_csl(article), ensure_ascii=False, indent=2) + "\n"
    return ReferenceExport(body.encode("utf-8"), CSL_JSON_MEDIA_TYPE, filename)


def item_id(article: Article, ref: Reference) -> str:
    """The same as the reference's source id where it has a text: "muscle-spasm/ref-7"."""
    return f"{article.id}/ref-{ref.number}"


def best_link(ref: Reference) -> str | None:
    """The reference's own address, else doi.org, PubMed or DailyMed by its identifiers."""
    links = reference_links(ref)
    return ref.url or next((links[name] for name in _LINK_PREFERENCE if name in links), None)


def notes(article: Article, ref: Reference, authors: AuthorList) -> list[str]:
    """What a reference manager keeps as notes: retraction first, where the article cites it, its tier."""
    cited = (
        f'Reference {SELF}: the article "{article.title}" itself'
        if ref.number == SELF
        else f'Reference {ref.number} of "{article.title}"'
    )
    lines = [RETRACTED] if ref.retracted else []
    lines += [f"{cited} (followup article {article.id})", f"Evidence tier: {ref.tier.value.replace('_', ' ')}"]
    if authors.more:
        lines.append("More authors than listed (et al.)")
    return lines


def _authors(ref: Reference) -> AuthorList:
    return split_authors(ref.authors, organisation=ref.kind == "drug_label")  # a label's author is its labeler


def _one_line(value: str | None) -> str:
    """A value on one line: a line break inside it would end the tag."""
    return " ".join((value or "").split())


# RIS


def references_ris(article: Article) -> str:
    return "".join(reference_ris(article, ref) for ref in article.references)


def reference_ris(article: Article, ref: Reference) -> str:
    kind = item_type(ref)
    authors = _authors(ref)
    tags: list[tuple[str, str | None]] = [("TY", kind.ris)]
    tags += [("AU", _ris_name(name)) for name in authors.names]
    tags += [("TI", ref.title), ("T2", ref.journal), ("JO", ref.journal), ("PY", str(ref.year) if ref.year else None)]
    tags += [("DO", ref.ids.get("doi")), ("AN", ref.ids.get("pmid")), ("DB", "PubMed" if "pmid" in ref.ids else None)]
    tags += [("UR", best_link(ref)), ("M3", kind.genre)]
    tags += [("N1", line) for line in notes(article, ref, authors)]
    if "pmcid" in ref.ids:  # RIS has no tag for it
        tags.append(("N1", f"PMCID: {ref.ids['pmcid']}"))
    lines = [f"{tag}  - {_one_line(value)}" for tag, value in tags if _one_line(value)]
    return RIS_NEWLINE.join([*lines, "ER  - "]) + RIS_NEWLINE


def _ris_name(name: AuthorName) -> str:
    """ "Surname, Given, Suffix" (the specification's order); an organisation's name as written."""
    if isinstance(name, PersonName):
        return ", ".join(part for part in (name.family, name.given, name.suffix) if part)
    return name.literal


# CSL-JSON


def references_csl(article: Article) -> list[dict[str, Any]]:
    return [reference_csl(article, ref) for ref in article.references]


def reference_csl(article: Article, ref: Reference) -> dict[str, Any]:
    kind = item_type(ref)
    authors = _authors(ref)
    item: dict[str, Any] = {"id": item_id(article, ref), "type": kind.csl}
    fields: dict[str, Any] = {
        "title": _one_line(ref.title),
        "author": [_csl_name(name) for name in authors.names],
        "container-title": _one_line(ref.journal),
        "issued": {"date-parts": [[ref.year]]} if ref.year else None,
        "DOI": ref.ids.get("doi"),
        "PMID": ref.ids.get("pmid"),
        "PMCID": ref.ids.get("pmcid"),
        "URL": best_link(ref),
        "genre": kind.genre,
        "status": "retracted" if ref.retracted else None,  # the CSL specification's own example value
        "note": "\n".join(notes(article, ref, authors)),
    }
    item.update({key: value for key, value in fields.items() if value})
    return item


def _csl_name(name: AuthorName) -> dict[str, str]:
    """A person by family and given names; an organisation as a `literal`, never split."""
    if isinstance(name, PersonName):
        parts = {"family": name.family, "given": name.given, "suffix": name.suffix}
        return {key: value for key, value in parts.items() if value}
    return {"literal": name.literal}
