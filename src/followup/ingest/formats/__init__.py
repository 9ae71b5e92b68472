"""Real formats a publisher has, read into the corpus format: the article's saved page
(article_page.py over page_blocks.py: text capture, HTML or Markdown) or its JATS XML (jats.py),
PubMed records (pubmed.py),
DailyMed drug labels (spl.py), and a reference file of any of these told apart by its content
(reference_file.py). `followup add` (ingest/add.py) writes them into an article folder."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from followup.core.errors import CorpusError


@dataclass(frozen=True)
class SourceFile:
    """Where something read came from, for the folder's PROVENANCE.md."""

    name: str  # the file's name, not its local path
    sha256: str
    format: str  # "text capture", "HTML", "Markdown", "PubMed XML", "DailyMed SPL XML", "plain text"

    @staticmethod
    def of(path: Path, text: str, format: str) -> SourceFile:
        # A UTF-8 file's text encodes back to its exact bytes: no second read.
        return SourceFile(path.name, hashlib.sha256(text.encode("utf-8")).hexdigest(), format)


def xml_root(path: Path, text: str | None = None) -> ET.Element:
    """The root element of an XML file (or of its `text`, already read); a clear error naming the file
    and where the XML breaks otherwise. The standard parser expands no external entities."""
    try:
        return ET.fromstring(text) if text is not None else ET.parse(path).getroot()
    except FileNotFoundError:
        raise CorpusError(path, "file not found") from None
    except ET.ParseError as error:
        line, column = error.position
        raise CorpusError(path, f"malformed XML at line {line}, column {column}") from None
