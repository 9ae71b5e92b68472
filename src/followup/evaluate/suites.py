"""The project's own follow-up suites (JSONL), validated line by line."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

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

    def item(row: dict[str, Any]) -> SuiteItem:
        return SuiteItem(
            id=str(row["id"]),
            split=row["split"],
            kind=row["kind"],
            question=row["question"],
            history=tuple(row.get("history", [])),
            answerable=bool(row["answerable"]),
            gold=tuple(Gold(g["source_id"], g["text"]) for g in row.get("gold", [])),
            citations=tuple(int(n) for n in row.get("citations", [])),
        )

    def problem(found: SuiteItem) -> str | None:
        if found.answerable != bool(found.gold) or found.answerable != bool(found.citations):
            return "an answerable item needs gold and citations; an out-of-scope one has neither"
        return None

    return read_items(path, item, problem, split)


class SuiteLine(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def split(self) -> str: ...
    @property
    def kind(self) -> str: ...


Line = TypeVar("Line", bound=SuiteLine)


def read_items(
    path: Path, item: Callable[[dict[str, Any]], Line], problem: Callable[[Line], str | None], split: str = "all"
) -> list[Line]:
    """A suite file's items of the split ("dev", "test" or "all"), one JSON object a line, each made by
    `item` and checked by `problem` besides the checks every suite shares (split, kind, unique id); any
    malformed line is an error naming it."""
    if not path.is_file():
        raise CorpusError(path, "suite file not found")
    items: list[Line] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            found = item(json.loads(line))
        except json.JSONDecodeError as e:
            raise CorpusError(where, f"invalid JSON: {e.msg}") from None
        except (KeyError, TypeError, ValueError) as e:
            raise CorpusError(where, f"malformed item ({type(e).__name__}: {e})") from None
        if found.split not in SPLITS or found.kind not in KINDS:
            raise CorpusError(where, f"split must be one of {SPLITS} and kind one of {KINDS}")
        if found.id in seen:
            raise CorpusError(where, f"duplicate id {found.id!r}")
        wrong = problem(found)
        if wrong:
            raise CorpusError(where, wrong)
        seen.add(found.id)
        items.append(found)
    return [i for i in items if split in ("all", i.split)]
