"""PubMed records as references: the efetch `PubmedArticleSet` XML (db=pubmed, retmode=xml).

Each `PubmedArticle` gives a references.json record (title, authors, journal, year, PMID, DOI, PMCID,
publication types, a kind from the best-tiered of them) and its abstract as Markdown, the structured
abstract's labels (BACKGROUND, METHODS, RESULTS, CONCLUSIONS) kept as sections, so a passage's
breadcrumb says "Abstract > RESULTS". Text is taken as PubMed gives it, inline markup flattened.

PubMed says a paper is retracted twice over: the publication type "Retracted Publication" and a
`CommentsCorrections RefType="RetractionIn"` naming the notice's PMID; either one marks the record
retracted. A notice says it of itself: the type "Retraction Notice" ("Retraction of Publication"
before NLM renamed it) and `RefType="RetractionOf"` naming the paper it retracts. An expression of
concern or a partial retraction withdraws nothing whole: the record stays evidence, with a concern
for `followup add` to warn about. An erratum corrects the record PubMed gives, so it is not read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from followup.core.errors import CorpusError
from followup.core.types import KIND_TIERS, PUBLICATION_TYPE_TIERS, best_tier
from followup.ingest.formats import xml_root

# The kind a record gets from its best publication type (as core/types.py ranks them).
_KIND_OF_TYPE = {
    "guideline": "guideline", "practice guideline": "practice_guideline",
    "consensus development conference": "consensus_statement",
    "consensus development conference, nih": "consensus_statement",
    "systematic review": "systematic_review", "meta-analysis": "meta_analysis",
    "randomized controlled trial": "randomized_controlled_trial", "observational study": "observational_study",
    "comparative study": "observational_study", "multicenter study": "observational_study",
    "review": "review", "case reports": "case_report",
}  # fmt: skip


RETRACTED_TYPE = "retracted publication"
NOTICE_TYPES = frozenset({"retraction notice", "retraction of publication"})
# Relations that withdraw nothing whole, worth a look before the paper is quoted.
_CONCERNS = {"ExpressionOfConcernIn": "an expression of concern", "PartialRetractionIn": "a partial retraction"}


@dataclass(frozen=True)
class PubmedRecord:
    """One article: its references.json fields (no number or text_file yet), its abstract as Markdown,
    and what PubMed says against it short of a retraction ("an expression of concern (notice PMID 1)")."""

    fields: dict[str, Any]
    abstract: str  # "" when PubMed has no abstract
    concerns: tuple[str, ...] = ()


def read_pubmed(path: Path) -> list[PubmedRecord]:
    """Every PubmedArticle of an efetch XML file; a clear error naming the file and the problem otherwise."""
    root = xml_root(path)
    if root.tag != "PubmedArticleSet":
        raise CorpusError(path, f"not a PubMed efetch file: the root element is <{root.tag}>, not <PubmedArticleSet>")
    articles = root.findall("PubmedArticle")
    if not articles:
        raise CorpusError(path, "no <PubmedArticle> in the file")
    return [_record(path, n, article) for n, article in enumerate(articles, start=1)]


def _record(path: Path, n: int, article: ET.Element) -> PubmedRecord:
    where = f"{path} (PubmedArticle {n})"
    citation = article.find("MedlineCitation")
    body = citation.find("Article") if citation is not None else None
    if citation is None or body is None:
        raise CorpusError(where, "no <MedlineCitation><Article>: not a PubMed article record")
    pmid = _text(citation.find("PMID"))
    title = _text(body.find("ArticleTitle"))
    if not pmid or not title:
        raise CorpusError(where, "a PubMed record needs a <PMID> and an <ArticleTitle>")
    types = [_text(t) for t in body.findall("PublicationTypeList/PublicationType") if _text(t)]
    ids = {"pmid": pmid}
    for found in article.findall("PubmedData/ArticleIdList/ArticleId"):
        kind = found.get("IdType", "")
        if kind in ("doi", "pmc") and _text(found):
            ids["doi" if kind == "doi" else "pmcid"] = _text(found)
    related = _related(citation)
    lowered = {t.lower() for t in types}
    notice = bool(related.get("RetractionOf")) or bool(lowered & NOTICE_TYPES)
    fields: dict[str, Any] = {
        "title": title,
        "authors": _authors(body),
        "journal": _text(body.find("Journal/Title")) or None,
        "year": _year(body),
        "kind": "retraction_notice" if notice else _kind(types),
        "publication_types": types,
        "ids": ids,
        "url": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        "retracted": True if related.get("RetractionIn") or RETRACTED_TYPE in lowered else None,
        "retraction_notices": related.get("RetractionIn"),
        "retraction_of": related.get("RetractionOf"),
    }
    concerns = () if fields["retracted"] else tuple(_concerns(related))
    return PubmedRecord({k: v for k, v in fields.items() if v not in (None, "", [])}, _abstract(body), concerns)


def _related(citation: ET.Element) -> dict[str, list[str]]:
    """The PMIDs each kind of comment or correction names ("RetractionIn" -> the notices' PMIDs), in
    the record's order, once each; a relation PubMed gives without a PMID names none."""
    related: dict[str, list[str]] = {}
    for relation in citation.findall("CommentsCorrectionsList/CommentsCorrections"):
        pmids = related.setdefault(relation.get("RefType", ""), [])
        pmid = _text(relation.find("PMID"))
        if pmid and pmid not in pmids:
            pmids.append(pmid)
    return related


def _concerns(related: dict[str, list[str]]) -> list[str]:
    concerns = []
    for ref_type, what in _CONCERNS.items():
        if ref_type in related:
            pmids = related[ref_type]
            notices = f" (notice PMID {', '.join(pmids)})" if pmids else ""
            concerns.append(f"{what}{notices}")
    return concerns


def _text(element: ET.Element | None) -> str:
    """An element's text with inline markup (<i>, <sup>, ...) flattened and whitespace as one space each."""
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _authors(body: ET.Element) -> str | None:
    names = []
    for author in body.findall("AuthorList/Author"):
        if author.find("CollectiveName") is not None:
            names.append(_text(author.find("CollectiveName")))
        elif _text(author.find("LastName")):
            names.append(f"{_text(author.find('LastName'))} {_text(author.find('Initials'))}".strip())
    return ", ".join(names) or None


def _year(body: ET.Element) -> int | None:
    date = body.find("Journal/JournalIssue/PubDate")
    year = _text(date.find("Year")) if date is not None else ""
    if not year and date is not None:  # "2004 Aug-Sep" style dates
        year = _text(date.find("MedlineDate"))[:4]
    return int(year) if year.isdigit() else None


def _kind(types: list[str]) -> str:
    """The kind of the best-tiered publication type, else a plain journal article's: unknown tier."""
    known = [t.lower() for t in types if t.lower() in PUBLICATION_TYPE_TIERS]
    if not known:
        return "unknown"
    best = best_tier(PUBLICATION_TYPE_TIERS[t] for t in known)
    # Among types of the same tier, the table's order: "Systematic Review" names a record before "Meta-Analysis".
    kind = next(k for t, k in _KIND_OF_TYPE.items() if t in known and PUBLICATION_TYPE_TIERS[t] is best)
    assert kind in KIND_TIERS
    return kind


def _abstract(body: ET.Element) -> str:
    """ "## Abstract", then each labelled part under "### LABEL" (a structured abstract) or the text."""
    parts = body.findall("Abstract/AbstractText")
    if not parts:
        return ""
    lines = ["## Abstract", ""]
    for part in parts:
        label = part.get("Label", "").strip()
        if label:
            lines += [f"### {label}", ""]
        lines += [_text(part), ""]
    return "\n".join(lines)
