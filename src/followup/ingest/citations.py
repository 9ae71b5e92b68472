"""Detect the article's citation markers: bare numbers ("... conditions 1.", "... (EAMCs) 4, 5") and
numbers in square brackets ("... adults [1].", "[2, 3]", "[4–6]", "[17]–[19]"), ranges expanded."""

from __future__ import annotations

import re
from collections.abc import Sequence

from followup.core.types import CitationMarker

# A bare citation is a group of numbers after a word or closing bracket, at the end of a sentence, a
# line, or before a capitalised word that starts the next sentence. "10-20 mg" or "more than 4 months"
# are not: a unit or lower-case word follows them.
_BARE = re.compile(
    r"(?<=[A-Za-z)\]])[ \t]+(\d{1,3}(?:[ \t]*,[ \t]*\d{1,3})*)(?=[.;]?[ \t]*$|[.;][ \t]|[ \t]+[A-Z])", re.M
)
# A bracketed citation may stand anywhere in a sentence; brackets joined by a dash or comma are one
# citation ("[17]–[19]" is 17 to 19). Its space before belongs to it, as a bare citation's does.
_GROUP = r"\[[ \t]*\d{1,3}(?:[ \t]*[,–-][ \t]*\d{1,3})*[ \t]*\]"
_BRACKETED = re.compile(rf"[ \t]*({_GROUP}(?:[ \t]*[,–-][ \t]*{_GROUP})*)")
_AFTER_NUMBER = re.compile(r"\d[ \t]*\Z")
_NUMBER_OR_DASH = re.compile(r"\d+|[–-]")
_LONGEST_RANGE = 100  # "[1990–2020]" is not a citation of 31 references


def document_markers(text: str, spans: Sequence[tuple[int, int]], known: frozenset[int]) -> list[CitationMarker]:
    """The citation markers of a document's blocks (start, end), in the one style it cites in: an
    article that cites in brackets ("[1]", a JATS article's form) has no bare citations, so "shown in
    Table 1. The" and "Type 2 Diabetes" are not citations of references 1 and 2."""
    bracketed = [m for start, end in spans for m in find_markers(text, start, end, known, (_BRACKETED,))]
    if bracketed:
        return bracketed
    return [m for start, end in spans for m in find_markers(text, start, end, known, (_BARE,))]


def find_markers(
    text: str, start: int, end: int, known: frozenset[int], patterns: tuple[re.Pattern[str], ...] = ()
) -> list[CitationMarker]:
    """Citation markers in text[start:end] whose every number is a known reference number, bare or
    bracketed unless `patterns` says which."""
    markers = []
    for pattern in patterns or (_BARE, _BRACKETED):
        for match in pattern.finditer(text, start, end):
            numbers = cited_numbers(match.group(1))
            if pattern is _BRACKETED and len(numbers) > 1 and _AFTER_NUMBER.search(text, 0, match.start()):
                continue  # "score 64 [57–69]": an interval after its median, not references 57 to 69
            if numbers and all(n in known for n in numbers):
                markers.append(CitationMarker(match.start(), match.end(), numbers))
    kept: list[CitationMarker] = []
    for marker in sorted(markers, key=lambda m: m.start):
        if not kept or marker.start >= kept[-1].end:  # "[1] 2." is one citation, not two
            kept.append(marker)
    return kept


def cited_numbers(printed: str) -> tuple[int, ...]:
    """The numbers a printed citation names, ranges expanded: "[4–6], [9]" -> (4, 5, 6, 9); () when a
    range runs backwards or is too long to be one."""
    numbers: list[int] = []
    in_range = False
    for token in _NUMBER_OR_DASH.findall(printed):
        if token in "–-":
            in_range = bool(numbers)
            continue
        number = int(token)
        if in_range:
            if not 0 < number - numbers[-1] <= _LONGEST_RANGE:
                return ()
            numbers.extend(range(numbers[-1] + 1, number + 1))
            in_range = False
        else:
            numbers.append(number)
    return tuple(dict.fromkeys(numbers))


def ends_sentence_without_stop(text: str, marker: CitationMarker) -> bool:
    """True for "symptoms 1 Certain ...": the marker closes a sentence that has no full stop."""
    rest = text[marker.end : marker.end + 2]
    return len(rest) == 2 and rest[0] in " \t" and rest[1].isupper()
