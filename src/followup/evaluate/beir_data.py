"""Read a BEIR-format benchmark: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from followup.core.errors import CorpusError


@dataclass(frozen=True)
class BeirDocument:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class BeirDataset:
    name: str
    split: str
    documents: tuple[BeirDocument, ...]
    queries: dict[str, str]  # only the queries judged in the split
    qrels: dict[str, dict[str, int]]


def is_beir_dir(path: Path) -> bool:
    return path.is_dir() and (path / "corpus.jsonl").is_file()


def _jsonl(path: Path) -> list[tuple[int, dict[str, object]]]:
    if not path.is_file():
        raise CorpusError(path, "file not found")
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise CorpusError(f"{path}:{number}", f"invalid JSON: {e.msg}") from None
            if not isinstance(row, dict) or not isinstance(row.get("_id"), str):
                raise CorpusError(f"{path}:{number}", "each line must be an object with a string '_id'")
            rows.append((number, row))
    return rows


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    if not path.is_file():
        splits = sorted(p.stem for p in path.parent.glob("*.tsv"))
        raise CorpusError(path, f"file not found; splits here: {', '.join(splits) or 'none'}")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            fields = line.rstrip("\n").split("\t")
            if number == 1 and fields[0] == "query-id":
                continue
            if len(fields) != 3:
                raise CorpusError(f"{path}:{number}", "expected 'query-id<TAB>corpus-id<TAB>score'")
            try:
                score = int(fields[2])
            except ValueError:
                raise CorpusError(f"{path}:{number}", f"score {fields[2]!r} is not an integer") from None
            qrels.setdefault(fields[0], {})[fields[1]] = score
    return qrels


def load_beir(path: Path, split: str) -> BeirDataset:
    qrels = load_qrels(path / "qrels" / f"{split}.tsv")
    documents = []
    for number, row in _jsonl(path / "corpus.jsonl"):
        text, title = row.get("text", ""), row.get("title", "") or ""
        if not isinstance(text, str) or not isinstance(title, str):
            raise CorpusError(f"{path / 'corpus.jsonl'}:{number}", "'title' and 'text' must be strings")
        documents.append(BeirDocument(str(row["_id"]), title, text))
    queries = {str(row["_id"]): str(row.get("text", "")) for _, row in _jsonl(path / "queries.jsonl")}
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise CorpusError(path / "queries.jsonl", f"{len(missing)} judged queries missing, e.g. {missing[0]!r}")
    judged = {qid: queries[qid] for qid in qrels}
    return BeirDataset(path.name, split, tuple(documents), judged, qrels)
