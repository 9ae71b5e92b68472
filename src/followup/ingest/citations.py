"""Detect the article's bare citation numbers ("... conditions 1.", "... (EAMCs) 4, 5")."""

from __future__ import annotations

import re

from followup.core.types import CitationMarker

# A citation is a group of numbers after a word or closing bracket, at the end of a sentence, a line,
# or before a capitalised word that starts the next sentence. "10-20 mg" or "more than 4 months"
# are not: a unit or lower-case word follows them.
_MARKER = re.compile(
    r"(?<=[A-Za-z)\]])[ \t]+(\d{1,3}(?:[ \t]*,[ \t]*\d{1,3})*)(?=[.;]?[ \t]*$|[.;][ \t]|[ \t]+[A-Z])", re.M
)
_NUMBER = re.compile(r"\d+")


def find_markers(text: str, start: int, end: int, known: frozenset[int]) -> list[CitationMarker]:
    """Citation markers in text[start:end] whose every number is a known reference number."""
    markers = []
    for match in _MARKER.finditer(text, start, end):
        numbers = tuple(int(n) for n in _NUMBER.findall(match.group(1)))
        if numbers and all(n in known for n in numbers):
            markers.append(CitationMarker(match.start(), match.end(), numbers))
    return markers


def ends_sentence_without_stop(text: str, marker: CitationMarker) -> bool:
    """True for "symptoms 1 Certain ...": the marker closes a sentence that has no full stop."""
    rest = text[marker.end : marker.end + 2]
    return len(rest) == 2 and rest[0] in " \t" and rest[1].isupper()
