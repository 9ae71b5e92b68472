"""Sources named as a person names them: "Chou 2004 · systematic review · Abstract", "VALIUM label ·
Indications and Usage", "This article · From the Guidelines > Treatment". Never an internal id."""

from __future__ import annotations

import re

from followup.core.types import Article, Document, Reference

THIS_ARTICLE = "This article"
_INITIALS = re.compile(r"^[A-Z]{1,3}$")  # "KC" in "Miller KC": a surname comes before its initials


def reference_name(ref: Reference) -> str:
    """A reference as cited in conversation: a drug label by its product ("VALIUM label"), anything
    else by its first author's surname (or the organisation) and year, then its kind."""
    if ref.kind == "drug_label" and ref.title:
        product = re.split(r"[\s(,:]", ref.title.strip(), maxsplit=1)[0]
        return f"{product} label"
    who = _first_author(ref.authors) or _short_title(ref.title) or f"Reference {ref.number}"
    when = f" {ref.year}" if ref.year else ""
    kind = ref.kind.replace("_", " ")
    return f"{who}{when}" + ("" if kind in ("unknown", "") else f" · {kind}")


def source_name(article: Article, document: Document) -> str:
    """The whole source: "This article", or the reference's name."""
    if document.reference_number is None:
        return THIS_ARTICLE
    ref = article.reference(document.reference_number)
    return reference_name(ref) if ref else f"Reference {document.reference_number}"


def source_label(article: Article, document: Document, section: str) -> str:
    """The source and where in it: a passage's label."""
    name = source_name(article, document)
    return f"{name} · {section}" if section else name


def _first_author(authors: str | None) -> str:
    if not authors:
        return ""
    first = re.split(r"[,;&]| and ", authors)[0].strip()
    words = first.split()
    if len(words) >= 2 and _INITIALS.match(words[-1]):
        return " ".join(words[:-1])
    return first


def _short_title(title: str | None) -> str:
    words = (title or "").split()
    return " ".join(words[:4]) + ("…" if len(words) > 4 else "")
