"""A reference's `authors`, a free string as the corpus holds it ("Chou R, Peterson K, Helfand M.", an
organisation, "Miller KC, McDermott BP et al."), split into the names a reference manager files one
by one.

Every word of the string ends up in exactly one name: what cannot be read as "Surname Initials" is
kept whole as a name written out (an organisation, a collective), never dropped or guessed apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ET_AL = re.compile(r"[,;]?\s*\bet\s+al\b\.?$", re.IGNORECASE)
_LEADING_AND = re.compile(r"^(?:&|and)\s+", re.IGNORECASE)
_BETWEEN_NAMES = re.compile(r"\s+(?:&|and)\s+", re.IGNORECASE)
_SUFFIXES = frozenset({"Jr", "Sr", "II", "III", "IV", "2nd", "3rd", "4th"})
# Capitals that end a company's name, not a person's initials ("GlaxoSmithKline LLC").
_COMPANY_ENDINGS = frozenset({"LLC", "LLP", "PLC", "INC", "LTD", "USA"})
_MAX_INITIALS = 4
# Lower-case words a surname may hold ("van der Berg", "da Silva"); any other ("of", "for", "and")
# makes a name an organisation's.
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "di", "da", "das", "dos", "du", "la", "le",
                        "ten", "ter", "y", "bin", "al", "el"})  # fmt: skip
_MAX_SURNAME_WORDS = 4


@dataclass(frozen=True)
class PersonName:
    family: str
    given: str = ""  # initials: bare ones written "K. C." ("KC" in PubMed's style), others as written
    suffix: str = ""


@dataclass(frozen=True)
class WrittenName:
    """A name kept as written: an organisation, a collective, or a name not in "Surname Initials" form."""

    literal: str


AuthorName = PersonName | WrittenName


@dataclass(frozen=True)
class AuthorList:
    names: tuple[AuthorName, ...]
    more: bool = False  # the string ended with "et al.": there are authors it does not name


def split_authors(authors: str | None, *, organisation: bool = False) -> AuthorList:
    """The names in `authors`, in order. Commas and semicolons separate names when the string holds at
    least one "Surname Initials" name; a string holding none, or an `organisation`'s, is one name
    written out, its own commas and "&" kept ("Roche Laboratories, Inc.", "Advisory Board & Editors")."""
    text = " ".join((authors or "").split())
    more = not organisation and bool(_ET_AL.search(text))
    if more:
        text = _ET_AL.sub("", text)
    text = text.strip(" ,;")
    if not text:
        return AuthorList((), more)
    if organisation:
        return AuthorList((WrittenName(text),))
    pieces = _initials_joined([p.strip() for p in re.split(r"[;,]", text) if p.strip()])
    names = [name for piece in pieces for name in _piece_names(piece)]
    if not any(isinstance(name, PersonName) for name in names):
        return AuthorList((WrittenName(text),), more)
    return AuthorList(tuple(names), more)


def _initials_joined(pieces: list[str]) -> list[str]:
    """ "Chou", "R." -> "Chou R.": initials set apart by a comma ("Chou, R., Peterson, K.") join the
    surname before them."""
    joined: list[str] = []
    for piece in pieces:
        if joined and _person(joined[-1]) is None and all(_is_initials(w) for w in piece.split()):
            joined[-1] = f"{joined[-1]} {piece}"
        else:
            joined.append(piece)
    return joined


def _piece_names(piece: str) -> list[AuthorName]:
    """One comma-separated piece: a person, persons joined by "and" or "&", or a name as written."""
    piece = _LEADING_AND.sub("", piece)
    person = _person(piece)
    if person is not None:
        return [person]
    people = [_person(part) for part in _BETWEEN_NAMES.split(piece)]
    if len(people) > 1 and all(people):
        return [p for p in people if p is not None]
    return [WrittenName(piece)]


def _person(text: str) -> PersonName | None:
    """ "Miller KC", "van der Berg J.-P.", "Smith J A Jr" as surname, initials, suffix; else None."""
    words = text.split()
    suffix = words.pop() if len(words) > 2 and words[-1].rstrip(".") in _SUFFIXES else ""
    given: list[str] = []
    while len(words) > 1 and _is_initials(words[-1]) and len(_letters("".join([words[-1], *given]))) <= _MAX_INITIALS:
        given.insert(0, words.pop())
    if not given or _letters("".join(given)) in _COMPANY_ENDINGS or not _surname(words):
        return None
    return PersonName(" ".join(words), _dotted(given), suffix)


def _surname(words: list[str]) -> bool:
    return (
        0 < len(words) <= _MAX_SURNAME_WORDS
        and words[-1][0].isupper()
        and all(w[0].isupper() or w in _PARTICLES for w in words)
    )


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalpha())


def _is_initials(word: str) -> bool:
    """ "R", "KC", "R.", "J.-P.": capitals only, with periods or hyphens between them."""
    letters = _letters(word)
    return 0 < len(letters) <= _MAX_INITIALS and letters.isupper() and all(c.isalpha() or c in ".-" for c in word)


def _dotted(given: list[str]) -> str:
    """ "KC" -> "K. C."; initials already punctuated ("J.-P.", "R.") are kept as written."""
    if all(word.isalpha() for word in given):
        return " ".join(f"{letter}." for word in given for letter in word)
    return " ".join(given)
