"""The project's own follow-up suites (JSONL), validated line by line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from followup.core.errors import CorpusError

KINDS = ("direct", "paraphrase", "lay", "elliptical", "out_of_scope")
SPLITS = ("dev", "test")


@dataclass(frozen=True)
class Gold:
    source_id: str
    text: str


@dataclass(frozen=True)
class SuiteItem:
    id: str
    split: str
    kind: str
    question: str
    history: tuple[str, ...]
    answerable: bool
    gold: tuple[Gold, ...]
    citations: tuple[int, ...]


def load_suite(path: Path, split: str = "all") -> list[SuiteItem]:
    """Items of the split ("dev", "test" or "all"); any malformed line is an error naming it."""
    if not path.is_file():
        raise CorpusError(path, "suite file not found")
    items: list[SuiteItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
            item = SuiteItem(
                id=str(row["id"]),
                split=row["split"],
                kind=row["kind"],
                question=row["question"],
                history=tuple(row.get("history", [])),
                answerable=bool(row["answerable"]),
                gold=tuple(Gold(g["source_id"], g["text"]) for g in row.get("gold", [])),
                citations=tuple(int(n) for n in row.get("citations", [])),
            )
        except json.JSONDecodeError as e:
            raise CorpusError(where, f"invalid JSON: {e.msg}") from None
        except (KeyError, TypeError, ValueError) as e:
            raise CorpusError(where, f"malformed item ({type(e).__name__}: {e})") from None
        if item.split not in SPLITS or item.kind not in KINDS:
            raise CorpusError(where, f"split must be one of {SPLITS} and kind one of {KINDS}")
        if item.id in seen:
            raise CorpusError(where, f"duplicate id {item.id!r}")
        if item.answerable != bool(item.gold) or item.answerable != bool(item.citations):
            raise CorpusError(where, "an answerable item needs gold and citations; an out-of-scope one has neither")
        seen.add(item.id)
        items.append(item)
    return [i for i in items if split in ("all", i.split)]
