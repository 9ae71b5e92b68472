"""What a reference's address and identifiers may be: a reference list is read from files the
publisher's staff did not write (a page, PubMed or JATS XML), and its values become links that a
clinician opens. An `http(s)` address and identifiers by their syntax; anything else is refused where
it is read, naming the value."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

# Crossref's pattern for modern DOIs (covering 74.4M of 74.9M registered), without its case folding
# of the registrant code: "10.", 4-9 digits, "/", a suffix of these characters.
_SYNTAX = {
    "pmid": (re.compile(r"[1-9][0-9]{0,9}"), "a PMID (digits)"),
    "pmcid": (re.compile(r"PMC[0-9]{1,10}"), "a PMC id (PMC and digits)"),
    "doi": (re.compile(r"10\.[0-9]{4,9}/[-._;()/:A-Za-z0-9]+"), "a DOI (10.NNNN/suffix)"),
    "dailymed_setid": (re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"), "a DailyMed set id"),
}


def identifier_problem(kind: str, value: str) -> str | None:
    """Why `value` is not an identifier of `kind`, or None. Kinds without a known syntax need only be
    printable text on one line."""
    syntax = _SYNTAX.get(kind)
    if syntax is not None:
        pattern, what = syntax
        return None if pattern.fullmatch(value) else f"ids.{kind} {value!r} is not {what}"
    return None if value.isprintable() and value.strip() else f"ids.{kind} {value!r} is not printable text"


def pmids_problems(field: str, values: Sequence[object]) -> list[str]:
    """Why each of `values` (a record's list of PMIDs, `field`) is not a PMID; [] when all are."""
    pattern, what = _SYNTAX["pmid"]
    return [
        f"{field}[{i}] {value!r} is not {what}"
        for i, value in enumerate(values)
        if not isinstance(value, str) or not pattern.fullmatch(value)
    ]


def url_problem(url: str) -> str | None:
    """Why `url` is not a web address a reader may open (http or https, a host, no spaces), or None."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not url.isprintable() or " " in url:
        return f"url {url!r} is not an http(s) address"
    return None


def reference_problems(url: str | None, ids: Mapping[str, str]) -> list[str]:
    problems = [url_problem(url)] if url is not None else []
    problems += [identifier_problem(kind, value) for kind, value in ids.items()]
    return [p for p in problems if p]
