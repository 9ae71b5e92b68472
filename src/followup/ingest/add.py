"""`followup add`: create or update an article folder from a saved page and its references' files.

The new folder is written beside the corpus's folders under a dot name (which the corpus loader
skips), loaded as `followup index` would load it, and only then renamed into place; a failure at
any step leaves the corpus as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from followup.core.errors import CorpusError
from followup.core.storage import ARTICLE_FILE
from followup.core.types import MAX_REFERENCE_NUMBER
from followup.ingest.add_plan import ExistingFolder, plan_folder
from followup.ingest.corpus import ARTICLE_ID, ARTICLE_ID_RULE, REFERENCES_FILE, load_article, read_json_object
from followup.ingest.formats.article_page import read_article_page
from followup.ingest.formats.reference_file import ImportedReference, read_reference_file


@dataclass(frozen=True)
class ReferenceFile:
    number: int
    path: Path


@dataclass(frozen=True)
class AddedArticle:
    folder: Path
    created: bool
    sections: int  # distinct section breadcrumbs of the article's text
    blocks: int  # paragraphs and bullets
    citations: int  # citation markers in the article
    references: tuple[dict[str, Any], ...]
    imported: dict[int, str]  # reference number -> the format of the file given for it
    warnings: tuple[str, ...]
    publication: dict[str, Any] | None = None  # the article's own record, when it is a published study


def add_article(
    article_file: Path,
    corpus_dir: Path,
    article_id: str | None = None,
    reference_files: Sequence[ReferenceFile] = (),
    retracted: Sequence[int] = (),
) -> AddedArticle:
    if corpus_dir.exists() and not corpus_dir.is_dir():
        raise CorpusError(corpus_dir, "is not a directory: give --corpus a corpus folder")
    page = read_article_page(article_file)
    imported = _read_references(reference_files)
    article_id = article_id or _slug(page.title or article_file.stem)
    if not ARTICLE_ID.fullmatch(article_id):
        raise CorpusError(article_file, f"id {article_id!r} must be {ARTICLE_ID_RULE}")
    folder = corpus_dir / article_id
    existing = _existing(folder)
    plan = plan_folder(article_id, page, article_file, existing, imported, retracted, date.today().isoformat())

    staging = corpus_dir / f".add-{uuid.uuid4().hex[:12]}"
    try:
        staged = staging / article_id
        try:
            for relative, data in plan.files.items():
                path = staged / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        except OSError as error:  # no permission, disk full, ...
            raise CorpusError(corpus_dir, f"cannot write the article folder: {error.strerror or error}") from None
        try:
            _, documents = load_article(staged)  # as `followup index` loads it
        except CorpusError as error:  # named by where the file will be, not where it was staged
            raise CorpusError(error.path.replace(str(staged), str(folder)), error.problem) from None
        try:
            _swap_into_place(staged, folder)
        except OSError as error:
            raise CorpusError(folder, f"cannot put the new folder in place: {error.strerror or error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    text = documents[0]
    return AddedArticle(
        folder=folder,
        created=existing is None,
        sections=len({b.section for b in text.blocks if b.section}),
        blocks=len(text.blocks),
        citations=len(text.markers),
        references=plan.references,
        imported={n: r.format for n, r in imported.items()},
        warnings=plan.warnings,
        publication=page.publication,
    )


def _read_references(reference_files: Sequence[ReferenceFile]) -> dict[int, ImportedReference]:
    imported: dict[int, ImportedReference] = {}
    for ref in reference_files:
        if not 1 <= ref.number <= MAX_REFERENCE_NUMBER:
            raise CorpusError(ref.path, f"--ref {ref.number}: a reference number is 1 to {MAX_REFERENCE_NUMBER:,}")
        if ref.number in imported:
            raise CorpusError(ref.path, f"--ref {ref.number} is given twice")
        imported[ref.number] = read_reference_file(ref.path)
    return imported


def _existing(folder: Path) -> ExistingFolder | None:
    if not folder.exists():
        return None
    meta_path = folder / ARTICLE_FILE
    if not folder.is_dir() or not meta_path.is_file():
        raise CorpusError(folder, f"is not an article folder (no {ARTICLE_FILE}): move it or pick another --id")
    load_article(folder)  # its records are kept, so they must be sound: else the error names the file
    references_path = folder / REFERENCES_FILE
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return ExistingFolder(
        meta=read_json_object(meta_path),
        references=read_json_object(references_path) if references_path.exists() else {},
        files=files,
    )


def _swap_into_place(staged: Path, folder: Path) -> None:
    """Rename the staged folder over the old one; the old one is set aside first and put back if the
    second rename fails, so the corpus always holds one whole version of the article."""
    if not folder.exists():
        os.rename(staged, folder)
        return
    replaced = staged.parent / f"replaced-{folder.name}"
    os.rename(folder, replaced)
    try:
        os.rename(staged, folder)
    except OSError:
        os.rename(replaced, folder)
        raise


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.casefold())[:8])[:100].rstrip("-") or "article"


def added_summary(added: AddedArticle) -> dict[str, Any]:
    """The result as JSON-ready data (for `followup add --json`)."""
    return {
        "folder": str(added.folder),
        "created": added.created,
        "sections": added.sections,
        "blocks": added.blocks,
        "citations": added.citations,
        "references": list(added.references),
        "imported": {str(n): f for n, f in added.imported.items()},
        "warnings": list(added.warnings),
        "publication": added.publication,
    }


def format_added(added: AddedArticle) -> str:
    """What was written, for stdout; the warnings are the caller's to print (the command puts them on stderr)."""
    lines = [
        f"{'created' if added.created else 'updated'} {added.folder}: {added.sections} sections, "
        f"{added.blocks} paragraphs and bullets, {added.citations} citations",
    ]
    if added.publication:
        own = added.publication
        lines.append(
            f"  [0] {own['kind']}: {own.get('title', '(untitled)')} (this article: its uncited sentences cite it)"
        )
    for record in added.references:
        source = f"  from {added.imported[record['number']]}" if record["number"] in added.imported else ""
        flags = " RETRACTED" if record.get("retracted") else ""
        text = "text" if record.get("text_file") else "no text"
        title = record.get("title") or "(untitled)"
        lines.append(f"  [{record['number']}] {record['kind']}{flags}: {title} ({text}){source}")
    lines.append("next: followup index (a running server picks the new build up)")
    return "\n".join(lines)
