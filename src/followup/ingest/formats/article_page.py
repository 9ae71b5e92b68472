"""A saved article page (text capture, HTML or Markdown) read into the corpus's article: its title,
last-updated date, the article body as Markdown with the page's citation numbers, and the short
reference list the page prints. A JATS XML article (jats.py) is read into the same form, with its
numbered reference list.

The page furniture is left out by rule, not by name: the article begins at the section heading above
its first cited sentence (the review banner, "Personalize" and its prompt come before it) and ends at
the reference list or the disclaimer; the reference list is read by its layout (an optional group
label, a title, then "source, year"), and what does not fit that layout (the disclaimer, the
follow-up box) ends it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from followup.core.errors import CorpusError
from followup.ingest.citations import find_markers
from followup.ingest.corpus import read_text
from followup.ingest.formats import SourceFile
from followup.ingest.formats.jats import is_jats, read_jats
from followup.ingest.formats.page_blocks import (
    ANY_NUMBER,
    PageBlock,
    capture_blocks,
    cites,
    html_blocks,
    markdown_page_blocks,
)

# Headings that end the article: its reference list, or the furniture that follows it.
_LIST_HEADINGS = {"references", "sources", "bibliography"}
_END_HEADINGS = _LIST_HEADINGS | {"disclaimer", "professional medical disclaimer", "have a follow-up question?"}
_DATE = r"[A-Z][a-z]+ \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]+ \d{4}|\d{4}-\d{2}-\d{2}"  # as _DATE_FORMATS read them
_LAST_UPDATED = re.compile(rf"last updated:?\s*(?P<date>{_DATE})", re.I)
_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%Y-%m-%d")
_BYLINE = re.compile(r"^(?P<source>.+?),\s*(?P<year>(?:1[89]|20)\d{2})$")


@dataclass(frozen=True)
class ListedReference:
    """One entry of the page's reference list, as printed: the page does not print its number."""

    group: str  # the list's group label ("Guideline", "Research"), "" when the page gives none
    title: str
    source: str  # authors for a guideline or label, the journal for research (the page's convention)
    year: int

    def fields(self) -> dict[str, object]:
        """references.json fields of this entry (no number)."""
        group = self.group.casefold()
        kind = "guideline" if "guideline" in group else "drug_label" if "label" in group else "unknown"
        by = "journal" if "research" in group else "authors"
        return {"title": self.title, by: self.source, "year": self.year, "kind": kind}


@dataclass(frozen=True)
class ArticlePage:
    title: str | None  # None for Markdown that starts at its first section
    last_updated: str | None  # ISO date
    markdown: str  # the article body in the corpus's Markdown
    cited_in: Mapping[str, frozenset[int]]  # each top section's heading -> the numbers cited under it
    listed: tuple[ListedReference, ...]
    source: SourceFile | None = None  # the page file read
    numbered: tuple[dict[str, Any], ...] = ()  # references.json records of a list that numbers them (JATS)
    publication: dict[str, Any] | None = None  # the article's own record, when it is a published study (JATS)

    @property
    def cited(self) -> frozenset[int]:
        return frozenset().union(*self.cited_in.values()) if self.cited_in else frozenset()


def page_format(text: str) -> str:
    """ "html", "markdown" or "capture", from the content."""
    head = text.lstrip()[:2000].casefold()
    if head.startswith(("<!doctype html", "<html")) or "<body" in head:
        return "html"
    if re.search(r"^#{1,6} \S", text, re.M):
        return "markdown"
    return "capture"


def read_article_page(path: Path) -> ArticlePage:
    text = read_text(path)
    if is_jats(text):
        article = read_jats(path, text)
        cited_in = _cited_in(markdown_page_blocks(article.markdown))
        source = SourceFile.of(path, text, "JATS XML")
        return ArticlePage(article.title, article.published, article.markdown, cited_in, (), source,
                           article.references, article.publication)  # fmt: skip
    kind = page_format(text)
    if kind == "html" and re.search(r"<html[\s>]", text, re.I) and not re.search(r"</html\s*>", text, re.I):
        raise CorpusError(path, "the HTML is cut off: <html> is never closed (save the whole page again)")
    blocks = {"html": html_blocks, "markdown": markdown_page_blocks, "capture": capture_blocks}[kind](text)
    formats = {"html": "HTML", "markdown": "Markdown", "capture": "text capture"}
    return replace(article_from_blocks(path, blocks), source=SourceFile.of(path, text, formats[kind]))


def article_from_blocks(path: Path, blocks: list[PageBlock]) -> ArticlePage:
    first_cited = next((i for i, b in enumerate(blocks) if b.kind != "heading" and cites(b.text)), None)
    if first_cited is None:
        raise CorpusError(
            path, "found no article text: no paragraph or bullet ends in a citation number (as '... conditions 1.')"
        )
    start = _body_start(blocks, first_cited)
    end = next((i for i in range(start, len(blocks)) if _is_end(blocks[i])), len(blocks))
    body = _relative_levels(blocks[start:end])
    title = next((b.text for b in blocks[:start] if b.kind == "heading" and b.level == 0), None)
    dates = (_LAST_UPDATED.search(b.text) for b in blocks[:start])
    found = next((d["date"] for d in dates if d), None)
    listed = _reference_list(blocks[end + 1 :]) if end < len(blocks) and _key(blocks[end]) in _LIST_HEADINGS else ()
    return ArticlePage(title, _iso(path, found) if found else None, _markdown(body), _cited_in(body), listed)


def _body_start(blocks: list[PageBlock], first_cited: int) -> int:
    """The top section heading above the first cited block, else the nearest heading, else the block."""
    headings = [i for i in range(first_cited) if blocks[i].kind == "heading" and blocks[i].level >= 1]
    top = [i for i in headings if blocks[i].level == 1]
    return top[-1] if top else headings[-1] if headings else first_cited


def _is_end(block: PageBlock) -> bool:
    return block.kind == "heading" and _key(block) in _END_HEADINGS


def _key(block: PageBlock) -> str:
    return block.text.casefold().rstrip(":")


def _relative_levels(body: list[PageBlock]) -> list[PageBlock]:
    levels = sorted({b.level for b in body if b.kind == "heading"})
    rank = {level: n for n, level in enumerate(levels, start=1)}
    return [PageBlock(b.kind, b.text, rank[b.level]) if b.kind == "heading" else b for b in body]


def _markdown(body: list[PageBlock]) -> str:
    """Headings as "#"s, bullets as "- " nested by two spaces, a blank line between blocks but not
    between the items of one list: the layout of the corpus's article.md."""
    out: list[str] = []
    for previous, block in zip([None, *body], body, strict=False):
        if previous is not None:
            out.append("\n" if previous.kind == block.kind == "bullet" else "\n\n")
        if block.kind == "heading":
            out.append(f"{'#' * block.level} {block.text}")
        elif block.kind == "bullet":
            out.append(f"{'  ' * block.level}- {block.text}")
        else:
            out.append(block.text)
    return "".join(out) + "\n"


def _cited_in(body: list[PageBlock]) -> dict[str, frozenset[int]]:
    cited: dict[str, set[int]] = {}
    section = ""
    for block in body:
        if block.kind == "heading" and block.level == 1:
            section = block.text
        numbers = cited.setdefault(section, set())
        if block.kind != "heading":
            numbers.update(n for m in find_markers(block.text, 0, len(block.text), ANY_NUMBER) for n in m.numbers)
    return {section: frozenset(numbers) for section, numbers in cited.items() if numbers}


def _reference_list(blocks: list[PageBlock]) -> tuple[ListedReference, ...]:
    """Entries laid out as [group label] title, "source, year"; the first block that fits no entry
    (the disclaimer, the follow-up box) ends the list."""
    entries: list[ListedReference] = []
    group, i = "", 0
    while i + 1 < len(blocks) and not _is_end(blocks[i]):
        byline = _BYLINE.match(blocks[i + 1].text)
        if byline and not _BYLINE.match(blocks[i].text):
            entries.append(ListedReference(group, blocks[i].text, byline["source"], int(byline["year"])))
            i += 2
        elif i + 2 < len(blocks) and _BYLINE.match(blocks[i + 2].text) and len(blocks[i].text.split()) <= 4:
            group, i = blocks[i].text, i + 1
        else:
            break
    return tuple(entries)


def _iso(path: Path, printed: str) -> str:
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(printed, form).date().isoformat()
        except ValueError:
            continue
    raise CorpusError(path, f"'Last updated: {printed}' is not a date")
