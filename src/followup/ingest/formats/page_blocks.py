"""A saved article page read into a flat list of blocks (headings, paragraphs, bullets), whatever it
was saved as: the browser's text capture, the HTML, or Markdown. `ingest/formats/article_page.py` then applies one
set of rules to the blocks to find the article among the page furniture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

from followup.ingest.citations import find_markers

BlockKind = Literal["heading", "paragraph", "bullet"]
ANY_NUMBER = frozenset(range(1, 1000))  # a page does not say which numbers are references: any may be


@dataclass(frozen=True)
class PageBlock:
    kind: BlockKind
    text: str  # as printed, whitespace within the block as one space each
    level: int = 0  # headings: 1 for the page's top sections (the page title is 0); bullets: nesting depth


def cites(text: str) -> bool:
    return bool(find_markers(text, 0, len(text), ANY_NUMBER))


# --- the text capture (what a browser's "save as text" or select-all gives) -------------------------

_BULLET = re.compile(r"^(?P<indent>[ \t]*)(?:[•·▪◦‣*]|-(?= ))[ \t]+(?P<text>.*\S)")
_SOURCE_HEADING = re.compile(r"^From the\b")  # "From the Guidelines", "From the FDA Drug Label", ...


def capture_blocks(text: str) -> list[PageBlock]:
    """Each line of a capture is one block (the capture keeps one line per paragraph, heading and
    bullet). A short line without closing punctuation or a citation is a heading; the source headings
    ("From the ...") are the top level, the topic headings under them the next. The first line is the
    page title."""
    lines = [line.rstrip() for line in text.splitlines()]
    blocks: list[PageBlock] = []
    indents: list[int] = []  # indents of the bullets of the current list, outermost first
    for line in lines:
        if not line.strip():
            continue
        bullet = _BULLET.match(line)
        if bullet:
            blocks.append(_bullet(bullet, indents))
            continue
        indents = []
        line = _squeeze(line)
        if not blocks:
            blocks.append(PageBlock("heading", line, 0))
        elif _looks_like_heading(line):
            blocks.append(PageBlock("heading", line, 1 if _SOURCE_HEADING.match(line) else 2))
        else:
            blocks.append(PageBlock("paragraph", line))
    return blocks


def _bullet(bullet: re.Match[str], indents: list[int]) -> PageBlock:
    """A list item nested by its indent among the open list's indents (which it updates)."""
    indent = len(bullet["indent"].expandtabs(4))
    while indents and indents[-1] > indent:
        indents.pop()
    if not indents or indents[-1] < indent:
        indents.append(indent)
    return PageBlock("bullet", _squeeze(bullet["text"]), len(indents) - 1)


def _looks_like_heading(line: str) -> bool:
    return len(line.split()) <= 12 and line[-1] not in ".:;,!" and line[0].isupper() and not cites(line)


# --- Markdown ------------------------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^(?P<marks>#{1,6})[ \t]+(?P<text>.*?)[ \t#]*$")
_MD_BULLET = re.compile(r"^(?P<indent>[ \t]*)(?:[-*+•]|\d+[.)])[ \t]+(?P<text>.*\S)")


def markdown_page_blocks(text: str) -> list[PageBlock]:
    """ATX headings keep their level (a lone "# " title above "## " sections is the page title), list
    items their nesting, and the lines of a paragraph are joined."""
    blocks: list[PageBlock] = []
    indents: list[int] = []
    paragraph: list[str] = []

    def close_paragraph() -> None:
        if paragraph:
            blocks.append(PageBlock("paragraph", _squeeze(" ".join(paragraph))))
            paragraph.clear()

    for line in text.splitlines():
        heading, bullet = _MD_HEADING.match(line), _MD_BULLET.match(line)
        if not line.strip() or heading or bullet:
            close_paragraph()
        if heading:
            indents = []
            blocks.append(PageBlock("heading", _squeeze(heading["text"]), len(heading["marks"])))
        elif bullet:
            blocks.append(_bullet(bullet, indents))
        elif line.strip():
            if indents and line[:1] in " \t" and blocks and blocks[-1].kind == "bullet":
                last = blocks.pop()  # a bullet's continuation line
                blocks.append(PageBlock("bullet", _squeeze(f"{last.text} {line}"), last.level))
            else:
                indents = []
                paragraph.append(line)
    close_paragraph()
    return _title_above_sections(blocks)


def _title_above_sections(blocks: list[PageBlock]) -> list[PageBlock]:
    """Levels relative to the page title: a single top heading is the title (level 0) and the next
    level down the page's sections (level 1)."""
    levels = sorted({b.level for b in blocks if b.kind == "heading"})
    if not levels:
        return blocks
    tops = [b for b in blocks if b.kind == "heading" and b.level == levels[0]]
    title_level = levels[0] if len(tops) == 1 and len(levels) > 1 else levels[0] - 1
    return [PageBlock(b.kind, b.text, b.level - title_level) if b.kind == "heading" else b for b in blocks]


# --- HTML ---------------------------------------------------------------------------------------------

_SKIPPED = {"script", "style", "noscript", "template", "svg", "nav", "form", "button", "select", "iframe"}
_BLOCK_TAGS = {"p", "div", "section", "article", "header", "footer", "main", "aside", "blockquote", "figure",
               "figcaption", "table", "tr", "td", "th", "dt", "dd", "br", "hr", "body"}  # fmt: skip
_SUP_OPEN, _SUP_CLOSE = "\ue000", "\ue001"  # where a <sup> stood, until its block is complete
_SUPERSCRIPT = re.compile(f"{_SUP_OPEN}([^{_SUP_OPEN}{_SUP_CLOSE}]*){_SUP_CLOSE}")
_CITED = re.compile(r"\s*\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\s*")
_ENDS_SENTENCE = re.compile(r"[.;]?\s*$|[.;]\s|\s+[A-Z]")
# Exponents, not citations: a square or cube after a quantity's unit ("5 m²", "25 kg/m²"), a power of ten ("10⁹/L").
_AFTER_UNIT = re.compile(r"\d\s*[^\W\d_]{1,3}(?:/[^\W\d_]{1,3})?$")
_AFTER_TEN = re.compile(r"\b10$")


def _superscripts(text: str) -> str:
    """A superscript citation reads as the page shows it ("conditions<sup>1</sup>." is "conditions 1.")
    where a bare number is found as a citation, at the end of a sentence or line; elsewhere ("a
    finding<sup>4</sup>, and ...") in square brackets, where a citation is found anywhere. An exponent
    ("5 m<sup>2</sup>", "10<sup>9</sup>/L") and any other superscript are plain text; "10 mg<sup>1</sup>"
    cites."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        before = _SUPERSCRIPT.sub(lambda m: m.group(1), text[: match.start()])
        exponent = (inner.strip() in ("2", "3") and _AFTER_UNIT.search(before)) or _AFTER_TEN.search(before)
        if not _CITED.fullmatch(inner) or exponent:
            return inner
        rest = _SUPERSCRIPT.sub(lambda m: m.group(1), text[match.end() :])
        space = "" if before[-1:].isspace() else " "
        return f"{space}{inner.strip()}" if _ENDS_SENTENCE.match(rest) else f"{space}[{inner.strip()}]"

    return _SUPERSCRIPT.sub(replace, text)


class _HtmlBlocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[PageBlock] = []
        self.text: list[str] = []
        self.kind: BlockKind = "paragraph"
        self.level = 0
        self.skipping = 0
        self.lists = 0  # depth of <ul>/<ol> nesting
        self.title = ""
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        if self.skipping:
            return
        if tag == "title":
            self.in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.kind, self.level = "heading", int(tag[1])
        elif tag in ("ul", "ol"):
            self.flush()
            self.lists += 1
        elif tag == "li":
            self.flush()
            self.kind, self.level = "bullet", max(self.lists - 1, 0)
        elif tag in _BLOCK_TAGS:
            self.flush()
        elif tag == "sup":
            self.text.append(_SUP_OPEN)  # how it reads is decided when its block is complete
        elif tag == "a" and self.text and not self.text[-1][-1:].isspace():
            self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
            return
        if self.skipping:
            return
        if tag == "sup":
            self.text.append(_SUP_CLOSE)
        if tag == "title":
            self.in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag == "li" or tag in _BLOCK_TAGS:
            self.flush()
        elif tag in ("ul", "ol"):
            self.flush()
            self.lists = max(self.lists - 1, 0)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.skipping:
            self.text.append(data)

    def flush(self) -> None:
        text = _squeeze(_superscripts("".join(self.text)))
        if text:
            self.blocks.append(PageBlock(self.kind, text, self.level if self.kind != "paragraph" else 0))
        self.text = []
        # Text after a nested list, still inside the outer item, continues as a bullet of the outer level.
        self.kind, self.level = ("bullet", self.lists - 1) if self.lists else ("paragraph", 0)


def html_blocks(text: str) -> list[PageBlock]:
    """Headings by their tag's level, list items by nesting, other block elements as paragraphs;
    scripts, styles, navigation, forms and buttons are not page text. The document's first <h1> (or
    else its <title>) is the page title."""
    parser = _HtmlBlocks()
    parser.feed(text)
    parser.close()
    parser.flush()
    blocks = parser.blocks
    if not any(b.kind == "heading" and b.level == 1 for b in blocks) and parser.title.strip():
        blocks = [PageBlock("heading", _squeeze(parser.title), 1), *blocks]
    first_h1 = next((i for i, b in enumerate(blocks) if b.kind == "heading" and b.level == 1), None)
    if first_h1 is None:
        return blocks
    return [
        PageBlock(b.kind, b.text, 0 if i == first_h1 else max(b.level - 1, 1)) if b.kind == "heading" else b
        for i, b in enumerate(blocks)
    ]


def _squeeze(text: str) -> str:
    return " ".join(text.split())
