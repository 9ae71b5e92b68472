"""Split a document's text into blocks (paragraphs and bullets) under section breadcrumbs.

Markdown (`.md`): `#`..`######` headings nest; `-`, `*` or `•` lines are bullets (indent = nesting);
other non-blank lines join into paragraphs. Plain text (`.txt`): blank lines separate paragraphs; a
short one-line paragraph without closing punctuation ("Abstract", "INDICATIONS AND USAGE") is a heading.
Offsets always point into the original text; nothing is rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from followup.core.types import Block

_HEADING = re.compile(r"(#{1,6})[ \t]+(.*?)[ \t#]*$")
_BULLET = re.compile(r"([ \t]*)[-*•][ \t]+")
_PLAIN_HEADING_MAX_WORDS = 12


def _lines(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.splitlines(keepends=True):
        yield offset, line.rstrip("\r\n")
        offset += len(line)


def markdown_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    section: list[str] = []
    levels: list[int] = []  # each open heading's level: a document may start at ## or skip one
    lead_ins: dict[int, str] = {}  # indent -> the line that introduced the list at that depth
    paragraph: tuple[int, int] | None = None

    def close_paragraph() -> None:
        nonlocal paragraph
        if paragraph:
            blocks.append(Block(paragraph[0], paragraph[1], tuple(section)))
            body = text[paragraph[0] : paragraph[1]]
            lead_ins.clear()
            if body.rstrip().endswith(":"):
                lead_ins[-1] = _last_sentence(body)
        paragraph = None

    for offset, line in _lines(text):
        if not line.strip():
            close_paragraph()
            continue
        heading = _HEADING.match(line)
        if heading:
            close_paragraph()
            lead_ins.clear()
            level = len(heading.group(1))
            while levels and levels[-1] >= level:
                levels.pop()
                section.pop()
            levels.append(level)
            section.append(heading.group(2).strip())
            continue
        bullet = _BULLET.match(line)
        if bullet:
            close_paragraph()
            indent = len(bullet.group(1).expandtabs(2))
            start, end = offset + bullet.end(), offset + len(line.rstrip())
            context = [lead_ins[i] for i in sorted(lead_ins) if i < indent]
            blocks.append(Block(start, end, tuple(section), " ".join(context)))
            for deeper in [i for i in lead_ins if i >= indent]:
                del lead_ins[deeper]
            body = text[start:end]
            if body.endswith(":"):
                lead_ins[indent] = body
            continue
        start = offset + len(line) - len(line.lstrip())
        end = offset + len(line.rstrip())
        paragraph = (paragraph[0], end) if paragraph else (start, end)
    close_paragraph()
    return blocks


def plain_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    section: tuple[str, ...] = ()
    paragraph: list[tuple[int, str]] = []

    def close_paragraph() -> None:
        nonlocal section
        if not paragraph:
            return
        first_offset, first_line = paragraph[0]
        last_offset, last_line = paragraph[-1]
        start = first_offset + len(first_line) - len(first_line.lstrip())
        end = last_offset + len(last_line.rstrip())
        body = text[start:end]
        if len(paragraph) == 1 and _looks_like_heading(body):
            # "Abstract (the stored copy ends ...)": the note in brackets is not part of the name.
            section = (re.sub(r"\s*\([^)]*\)$", "", body) or body,)
        else:
            blocks.append(Block(start, end, section))
        paragraph.clear()

    for offset, line in _lines(text):
        if line.strip():
            paragraph.append((offset, line))
        else:
            close_paragraph()
    close_paragraph()
    return blocks


def _looks_like_heading(line: str) -> bool:
    return len(line.split()) <= _PLAIN_HEADING_MAX_WORDS and line.rstrip()[-1] not in ".?!:;,"


def _last_sentence(paragraph: str) -> str:
    parts = re.split(r"(?<=[.!?])\s+", paragraph.strip())
    return parts[-1]
