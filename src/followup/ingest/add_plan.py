"""What `followup add` writes: an article folder's files, planned from the page, the reference files
and the folder as it is now. Pure: nothing is read or written here (ingest/add.py does that).

How a reference gets its record, in order:
1. `--ref N FILE`: a PubMed or SPL file gives record N whole (its old note described the old text); a
   plain-text file gives only the text, the record stays as it was.
2. The folder's own records are kept; a JATS article's numbered reference list fills the fields a
   record lacks, and gives the records it does not have.
3. The page's reference list prints no numbers. An entry whose title is a record's fills that
   record's missing fields; otherwise it takes the number only when its group ("Guideline",
   "Research") leaves no doubt: as many untitled numbers cited under the matching "From the ..."
   section as entries. Any other entry is kept under "unnumbered", never guessed: a wrong number
   would put one source's title and tier on another's words.
4. A number the article cites with no record gets an "unknown" one (unreferenced tier), so the
   citation still counts and says what is missing.

Retractions: a record is retracted when its PubMed file says so, when `--retracted N` says so, or
when a retraction notice among the references names its PMID; once retracted it stays retracted
(a new file for it keeps the flag and the notices it had). Every retracted reference and every
notice is named in a warning: neither is ever ranked as evidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from followup.core.errors import CorpusError
from followup.ingest.formats.article_page import ArticlePage, ListedReference
from followup.ingest.formats.reference_file import ImportedReference

ARTICLE_TEXT = "article.md"
PROVENANCE = "PROVENANCE.md"
NO_RECORD_NOTE = "Cited by the article; no record was given (followup add --ref N FILE attaches one)."


@dataclass(frozen=True)
class ExistingFolder:
    meta: dict[str, Any]  # article.json
    references: dict[str, Any]  # references.json ({} when there is none)
    files: Mapping[str, bytes]  # every file, by path relative to the folder


@dataclass(frozen=True)
class FolderPlan:
    files: dict[str, bytes]  # the whole new folder, by relative path
    references: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]


def plan_folder(
    article_id: str,
    page: ArticlePage,
    page_file: Path,
    existing: ExistingFolder | None,
    imported: Mapping[int, ImportedReference],
    retracted: Collection[int],
    today: str,
) -> FolderPlan:
    files = dict(existing.files) if existing else {}
    old_meta = existing.meta if existing else {}
    files.pop(str(old_meta.get("text_file", ARTICLE_TEXT)), None)
    files[ARTICLE_TEXT] = page.markdown.encode()
    files["article.json"] = _json_file(_meta(article_id, page, page_file, old_meta), existing, "article.json")

    old_references = existing.references if existing else {}
    records = {int(r["number"]): dict(r) for r in old_references.get("references", [])}
    unnumbered = [dict(r) for r in old_references.get("unnumbered", [])]
    warnings: list[str] = []
    attached = {}
    for number, reference in sorted(imported.items()):
        attached[_attach(files, records, number, reference)] = reference
    for listed in page.numbered:
        record = records.setdefault(listed["number"], {"number": listed["number"], "text_file": None})
        for key, value in listed.items():
            if record.get(key) in (None, "", {}) or (key == "kind" and record.get(key) == "unknown"):
                record[key] = value
    for entry in _match_listed(page, records, warnings):
        if not any(_same_title(entry.title, r.get("title")) for r in unnumbered):
            unnumbered.append(entry.fields())
    for number in sorted(page.cited - records.keys()):
        records[number] = {"number": number, "kind": "unknown", "note": NO_RECORD_NOTE, "text_file": None}
        warnings.append(f"reference {number} is cited but has no record: attach it with --ref {number} FILE")
    for number in retracted:
        if number not in records:
            raise CorpusError(page_file, f"--retracted {number}: the article has no reference {number}")
        records[number]["retracted"] = True
    _mark_retracted_by_notices(records)
    for number, reference in sorted(imported.items()):
        if number not in page.cited:
            indexed = "" if _never_evidence(records[number]) or not reference.text else "; its text is indexed anyway"
            warnings.append(f"--ref {number}: the article never cites reference {number}{indexed}")
        if not records[number].get("retracted"):
            warnings += [
                f"reference {number}{_named(records[number])}: PubMed lists {concern}; it is still ranked as "
                f"evidence (--retracted {number} excludes it)"
                for concern in reference.concerns
            ]
    warnings += _retraction_warnings(records)

    references = dict(old_references)
    references["references"] = [records[n] for n in sorted(records)]
    references.pop("unnumbered", None)
    if unnumbered:
        references["unnumbered"] = unnumbered
    files["references.json"] = _json_file(references, existing, "references.json")
    provenance = _provenance(article_id, page, attached, existing, files, today)
    if provenance is not None:
        files[PROVENANCE] = provenance
    return FolderPlan(files, tuple(references["references"]), tuple(warnings))


def _meta(article_id: str, page: ArticlePage, page_file: Path, old: Mapping[str, Any]) -> dict[str, Any]:
    title = page.title or old.get("title")
    if not title:
        raise CorpusError(page_file, "no page title: start the page with its title (in Markdown, '# Title')")
    last_updated = page.last_updated or old.get("last_updated")
    if not last_updated:
        raise CorpusError(page_file, "no 'Last updated: <date>' line above the article")
    meta = {"id": article_id, "title": title, "question": old.get("question") or title,
            "last_updated": last_updated, "text_file": ARTICLE_TEXT}  # fmt: skip
    if page.publication:
        meta["publication"] = page.publication
    return meta | {k: v for k, v in old.items() if k not in meta}


def _attach(files: dict[str, bytes], records: dict[int, dict[str, Any]], number: int, ref: ImportedReference) -> str:
    """Record `number` and its text file from `ref`; returns the text file's name in the folder."""
    name = f"references/{ref.file_name if ref.file_name.startswith(f'{number}-') else f'{number}-{ref.file_name}'}"
    old = records.get(number, {})
    old_file = old.get("text_file")
    shared = any(r.get("text_file") == old_file for n, r in records.items() if n != number)
    if old_file and old_file != name and not shared:
        files.pop(old_file, None)
    if ref.format == "text":
        record = old or {"number": number, "kind": "unknown"}
    else:
        record = {"number": number, **ref.fields} | _kept_retraction(old, ref.fields)
    record["text_file"] = name if ref.text else None
    if ref.text:
        files[name] = ref.text.encode()
    records[number] = record
    return name


def _kept_retraction(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A retraction is never undone: the old record's flag and notices stay when a new file replaces it."""
    if not old.get("retracted"):
        return {}
    notices = _union(new.get("retraction_notices") or [], old.get("retraction_notices") or [])
    return {"retracted": True} | ({"retraction_notices": notices} if notices else {})


def _mark_retracted_by_notices(records: Mapping[int, dict[str, Any]]) -> None:
    """A retraction notice naming the PMID of another of the article's references retracts it."""
    by_pmid = {str(r["ids"]["pmid"]): r for r in records.values() if (r.get("ids") or {}).get("pmid")}
    for notice in records.values():
        if notice.get("kind") != "retraction_notice":
            continue
        own = (notice.get("ids") or {}).get("pmid")
        for pmid in notice.get("retraction_of") or []:
            paper = by_pmid.get(str(pmid))
            if paper is None or paper is notice:
                continue
            paper["retracted"] = True
            if own:
                paper["retraction_notices"] = _union(paper.get("retraction_notices") or [], [str(own)])


def _retraction_warnings(records: Mapping[int, Mapping[str, Any]]) -> list[str]:
    warnings = []
    for number, record in sorted(records.items()):
        if record.get("retracted"):
            notices = record.get("retraction_notices") or []
            said = f" (retraction notice{'s' if len(notices) > 1 else ''} PMID {', '.join(notices)})" if notices else ""
            warnings.append(
                f"reference {number}{_named(record)} is retracted{said}: it will never be ranked as evidence"
            )
        if record.get("kind") == "retraction_notice":
            papers = [_paper(records, str(pmid)) for pmid in record.get("retraction_of") or []]
            of = f" of {', '.join(papers)}" if papers else ""
            warnings.append(
                f"reference {number}{_named(record)} is a retraction notice{of}: recorded, never ranked as evidence"
            )
    return warnings


def _paper(records: Mapping[int, Mapping[str, Any]], pmid: str) -> str:
    """A retracted paper's PMID and where it is among the article's references."""
    number = next((n for n, r in records.items() if str((r.get("ids") or {}).get("pmid")) == pmid), None)
    return f"PMID {pmid} ({'reference ' + str(number) if number is not None else 'not a reference of this article'})"


def _named(record: Mapping[str, Any]) -> str:
    """How a warning names a reference beside its number: its PMID, else its title."""
    pmid = (record.get("ids") or {}).get("pmid")
    if pmid:
        return f" (PMID {pmid})"
    return f" ({record['title']!r})" if record.get("title") else ""


def _never_evidence(record: Mapping[str, Any]) -> bool:
    return bool(record.get("retracted")) or record.get("kind") == "retraction_notice"


def _union(first: list[str], then: list[str]) -> list[str]:
    return first + [x for x in then if x not in first]


def _provenance(
    article_id: str, page: ArticlePage, attached: Mapping[str, ImportedReference], existing: ExistingFolder | None,
    files: Mapping[str, bytes], today: str,
) -> bytes | None:  # fmt: skip
    """PROVENANCE.md with a row for each file this add wrote or changed (appended to the folder's own
    record when it has one); None when nothing changed."""
    old = existing.files if existing else {}
    sources = {ARTICLE_TEXT: (page.source, "the article body"), "article.json": (page.source, "title and last update")}
    sources |= {name: (ref.source, "the reference's text") for name, ref in attached.items()}
    rows = [
        f"| `{name}` | {what}: `{source.name}` ({source.format}) | `{source.sha256}` |"
        for name, (source, what) in sources.items()
        if source is not None and name in files and files[name] != old.get(name)
    ]
    if files.get("references.json") != old.get("references.json"):
        rows.append("| `references.json` | records from the files above and the page's reference list | |")
    if not rows:
        return None
    table = "\n".join(["| file | from | sha256 of the source |", "|---|---|---|", *rows]) + "\n"
    if PROVENANCE in old:
        return old[PROVENANCE] + f"\n## Written by `followup add` on {today}\n\n{table}".encode()
    return f"# Provenance of `corpus/{article_id}/`\n\nWritten by `followup add` on {today}.\n\n{table}".encode()


def _match_listed(page: ArticlePage, records: dict[int, dict[str, Any]], warnings: list[str]) -> list[ListedReference]:
    """Fill records from the page's list (see the module's rule 3); returns the entries left unnumbered."""
    left: dict[str, list[ListedReference]] = {}
    for entry in page.listed:
        match = next((r for r in records.values() if _same_title(entry.title, r.get("title"))), None)
        if match is None:
            left.setdefault(entry.group, []).append(entry)
            continue
        for key, value in entry.fields().items():
            if match.get(key) in (None, "") or (key == "kind" and match.get(key) == "unknown"):
                match[key] = value
    unnumbered: list[ListedReference] = []
    for group, entries in left.items():
        cited = set().union(*(n for section, n in page.cited_in.items() if _group_of(group, section)))
        open_numbers = sorted(n for n in cited if not records.get(n, {}).get("title"))
        if len(open_numbers) == len(entries):  # listed in citation order, one entry per open number
            for number, entry in zip(open_numbers, entries, strict=True):
                old = {k: v for k, v in records.get(number, {}).items() if v != NO_RECORD_NOTE}
                records[number] = {"number": number} | old | entry.fields() | {"text_file": old.get("text_file")}
            continue
        for entry in entries:
            unnumbered.append(entry)
            warnings.append(
                f"the page lists {entry.title!r} ({entry.group or 'no group'}, {entry.year}) but not its number "
                f"(one of {', '.join(map(str, open_numbers)) or 'none'}): kept under 'unnumbered' in references.json"
            )
    return unnumbered


def _group_of(group: str, section: str) -> bool:
    """Whether a list group ("Guideline") names a section ("From the Guidelines"); no group names all."""
    return _stems(group) <= _stems(section)


def _stems(text: str) -> set[str]:
    return {w.removesuffix("s") for w in re.findall(r"[a-z]+", text.casefold())}


def _same_title(a: str, b: object) -> bool:
    """Titles equal but for case and punctuation ("hypothesis." and "Hypothesis")."""
    return isinstance(b, str) and _words(a) == _words(b)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.casefold())


def _json_file(data: dict[str, Any], existing: ExistingFolder | None, name: str) -> bytes:
    """The file as it was when its content is unchanged (no churn in a publisher's history), else
    written afresh."""
    old = existing.files.get(name) if existing else None
    if old is not None:
        try:
            if json.loads(old) == data:
                return old
        except ValueError:
            pass
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
