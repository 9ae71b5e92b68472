"""Load a corpus directory: one folder per article, validated, with every error naming its file."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from followup.core.errors import CorpusError
from followup.core.storage import ARTICLE_FILE, article_folders
from followup.core.types import (
    KIND_TIERS,
    MAX_REFERENCE_NUMBER,
    SELF,
    Article,
    Document,
    Reference,
    is_reference_kind,
    tier_for_kind,
)
from followup.ingest.citations import document_markers
from followup.ingest.identifiers import pmids_problems, reference_problems
from followup.ingest.structure import markdown_blocks, plain_blocks

REFERENCES_FILE = "references.json"
# Checked with fullmatch: "$" would let a final newline through into a folder name.
ARTICLE_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
ARTICLE_ID_RULE = "1 to 100 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"


@dataclass(frozen=True)
class Corpus:
    articles: tuple[Article, ...]
    documents: tuple[Document, ...]

    def article(self, article_id: str) -> Article | None:
        return next((a for a in self.articles if a.id == article_id), None)


def load_corpus(corpus_dir: Path) -> Corpus:
    articles: list[Article] = []
    documents: list[Document] = []
    for folder in article_folders(corpus_dir):
        article, docs = load_article(folder)
        articles.append(article)
        documents.extend(docs)
    return Corpus(tuple(articles), tuple(documents))


def load_article(folder: Path) -> tuple[Article, list[Document]]:
    meta_path = folder / ARTICLE_FILE
    meta = read_json_object(meta_path)
    article_id = _field(meta, "id", str, meta_path)
    if article_id != folder.name:
        raise CorpusError(meta_path, f"id {article_id!r} must equal the folder name {folder.name!r}")
    if not ARTICLE_ID.fullmatch(article_id):
        raise CorpusError(meta_path, f"id {article_id!r} must be {ARTICLE_ID_RULE}")
    title = _field(meta, "title", str, meta_path)
    references = _load_references(folder)
    if "publication" in meta:  # the article is itself a published study: its own record is reference 0
        publication = _field(meta, "publication", dict, meta_path)
        references.insert(
            0, _reference({**publication, "number": SELF, "text_file": None}, f"{meta_path} (publication)")
        )
    text_file = _field(meta, "text_file", str, meta_path)
    text_path = folder / text_file
    if not text_path.is_file():
        raise CorpusError(meta_path, f"text_file {text_file!r} not found in {folder}")
    text = read_text(text_path)
    known = frozenset(r.number for r in references if r.number != SELF)  # the article never prints 0
    blocks = markdown_blocks(text) if text_path.suffix == ".md" else plain_blocks(text)
    if not blocks:
        raise CorpusError(text_path, "the article has no text")
    markers = tuple(document_markers(text, [(b.start, b.end) for b in blocks], known))
    article = Article(
        id=article_id,
        title=title,
        question=meta.get("question") or title,
        last_updated=_field(meta, "last_updated", str, meta_path),
        references=tuple(references),
    )
    docs = [Document(article_id, article_id, title, text, tuple(blocks), None, markers)]
    # Retracted references and retraction notices are never indexed as evidence.
    for ref in references:
        if ref.text_file is None or ref.never_evidence:
            continue
        path = folder / ref.text_file
        ref_text = read_text(path)
        ref_blocks = markdown_blocks(ref_text) if path.suffix == ".md" else plain_blocks(ref_text)
        if not ref_blocks:
            raise CorpusError(path, "the reference text is empty")
        docs.append(
            Document(
                f"{article_id}/ref-{ref.number}", article_id, ref.title or "", ref_text, tuple(ref_blocks), ref.number
            )
        )
    return article, docs


def _load_references(folder: Path) -> list[Reference]:
    path = folder / REFERENCES_FILE
    if not path.exists():
        return []
    records = _field(read_json_object(path), "references", list, path)
    references: list[Reference] = []
    for i, record in enumerate(records):
        where = f"{path} (references[{i}])"
        if not isinstance(record, dict):
            raise CorpusError(where, "each reference must be a JSON object")
        number = _field(record, "number", int, where)
        if not 1 <= number <= MAX_REFERENCE_NUMBER or any(r.number == number for r in references):
            raise CorpusError(where, f"reference number {number} must be unique and 1 to {MAX_REFERENCE_NUMBER:,}")
        references.append(_reference(record, where))
        text_file = references[-1].text_file
        if text_file is not None and not (folder / text_file).is_file():
            raise CorpusError(where, f"text_file {text_file!r} not found in {folder}")
    return sorted(references, key=lambda r: r.number)


def _reference(record: dict[str, Any], where: str) -> Reference:
    kind = _field(record, "kind", str, where)
    if not is_reference_kind(kind):
        raise CorpusError(where, f"unknown kind {kind!r}; use one of: {', '.join(KIND_TIERS)}")
    ids = {str(k): str(v) for k, v in (_optional(record, "ids", dict, where) or {}).items()}
    url = _optional(record, "url", str, where)
    notices = _optional(record, "retraction_notices", list, where) or []
    retraction_of = _optional(record, "retraction_of", list, where) or []
    problems = reference_problems(url, ids)
    problems += pmids_problems("retraction_notices", notices) + pmids_problems("retraction_of", retraction_of)
    if problems:
        raise CorpusError(where, "; ".join(problems))
    if notices and record.get("retracted") is False:
        raise CorpusError(where, "retraction_notices names the notices that retracted it, but retracted is false")
    if retraction_of and kind != "retraction_notice":
        raise CorpusError(
            where, f"retraction_of is a retraction notice's: its kind must be 'retraction_notice', not {kind!r}"
        )
    return Reference(
        number=_field(record, "number", int, where),
        title=_optional(record, "title", str, where),
        kind=kind,
        tier=tier_for_kind(kind, _optional(record, "publication_types", list, where) or ()),
        authors=_optional(record, "authors", str, where),
        journal=_optional(record, "journal", str, where),
        year=_optional(record, "year", int, where),
        ids=ids,
        url=url,
        retracted=bool(_optional(record, "retracted", bool, where)) or bool(notices),  # "no" is no boolean
        text_file=_optional(record, "text_file", str, where),
        retraction_notices=tuple(notices),
        retraction_of=tuple(retraction_of),
    )


def read_json_object(path: Path) -> dict[str, Any]:
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CorpusError(path, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(data, dict):
        raise CorpusError(path, "must hold a JSON object")
    return data


# An article, a reference's text, a PubMed, JATS or label XML file is at most a few megabytes; a larger
# input is a mistake (a wrong file, /dev/zero) that would otherwise be read until memory runs out.
MAX_INPUT_BYTES = 50_000_000


def read_text(path: Path, limit: int = MAX_INPUT_BYTES) -> str:
    """A UTF-8 text file of at most `limit` bytes, or an error naming it and what is wrong."""
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)  # not the size a stat reports: a device or a pipe has none
        if len(data) > limit:
            raise CorpusError(path, f"over {limit:,} bytes: followup reads texts and records up to that size")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise CorpusError(path, "file not found") from None
    except UnicodeDecodeError as e:
        raise CorpusError(path, f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:  # a folder, no permission, ...
        raise CorpusError(path, f"cannot be read: {e.strerror or e}") from None


def _field(record: dict[str, Any], name: str, kind: type, where: Path | str) -> Any:
    if name not in record or record[name] is None:
        raise CorpusError(where, f"missing field {name!r}")
    return _typed(record, name, kind, where)


def _optional(record: dict[str, Any], name: str, kind: type, where: Path | str) -> Any:
    return None if record.get(name) is None else _typed(record, name, kind, where)


def _typed(record: dict[str, Any], name: str, kind: type, where: Path | str) -> Any:
    value = record[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CorpusError(where, f"field {name!r} must be {kind.__name__}, not {type(value).__name__}")
    if isinstance(value, str) and not value.strip():
        raise CorpusError(where, f"field {name!r} is empty")
    return value
