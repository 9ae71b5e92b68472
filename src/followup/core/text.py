"""Tokens for BM25 and sentence spans for chunking and quoting. Pure functions."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer  # PyStemmer: Snowball stemmers in C, the same family bm25s and Pyserini use

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves""".split()  # noqa: SIM905
)

_TOKEN = re.compile(r"[a-z0-9]+")
_stemmer = Stemmer.Stemmer("english")


def _normalise_spelling(token: str) -> str:
    # British and American medical spellings meet: hypokalaemia -> hypokalemia, haem -> hem.
    return token.replace("ae", "e") if len(token) >= 6 else token


@lru_cache(maxsize=65536)
def _stem(token: str) -> str:
    return str(_stemmer.stemWord(_normalise_spelling(token)))


def words(text: str) -> list[str]:
    """Lower-cased alphanumeric words, stopwords kept."""
    return _TOKEN.findall(text.lower())


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """words(text), each with its offsets into text (into its lower-cased form where lower-casing
    changes the length, as with a few non-ASCII letters)."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text.lower())]


def tokenize(text: str) -> list[str]:
    """BM25 tokens: words without stopwords, spelling-normalised and stemmed."""
    return [_stem(w) for w in words(text) if w not in STOPWORDS]


# A full stop, question or exclamation mark (with closing quotes or brackets) ends a sentence when
# what follows starts like a sentence. Abbreviations before it are checked separately.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    """e.g i.e eg ie dr mr mrs ms vs al approx fig figs no nos vol ref refs st inc ltd co cf etc ca""".split()  # noqa: SIM905
)


def _is_abbreviation(text: str, dot: int) -> bool:
    start = dot
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def sentence_spans(text: str, start: int, end: int, extra_ends: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """Sentences of text[start:end] as (start, end) offsets, surrounding white space trimmed.

    `extra_ends` are offsets where a sentence ends without punctuation (after a citation number
    followed by a capitalised word, as the seed article has it).
    """
    cuts = set(e for e in extra_ends if start < e < end)
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.group(0)[0] == "." and _is_abbreviation(text, match.start()):
            continue
        cuts.add(match.end())
    spans = []
    left = start
    for cut in [*sorted(cuts), end]:
        span = _trim(text, left, cut)
        if span:
            spans.append(span)
        left = cut
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def word_count(text: str) -> int:
    return len(text.split())
