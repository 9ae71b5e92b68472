"""From a question and the conversation so far to a retrieval query, without a language model.

Two steps, both visible in the answer's `query`:
1. ellipsis: a follow-up that names nothing of its own ("What dose should be used?", "Is it safe?")
   borrows the content words of the latest earlier question that did name something;
2. lay terms: "water pills" adds "diuretics furosemide", from data/lay-terms.tsv.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from followup.core.words import STOPWORDS, words

# Words that ask about something without naming it: a question made only of these (and stopwords)
# needs the conversation to be answerable.
GENERIC_WORDS = frozenset(
    """dose doses dosage dosing dosed use used uses using usage recommended recommend recommendation
    given give take taken taking much many often long safe safety work works working help helps
    treat treats treated treating treatment treatments cause causes caused causing mean means effect
    effects side else tell explain also instead usual typical amount best first line option options
    alternative alternatives drug drugs medication medications medicine medicines therapy therapies
    kind kinds type types way ways happen happens know need needed frequency duration risk risks
    evidence study studies patients patient people adults children someone anyone something anything
    start stop better worse good bad common rare really okay ok effective work why mg studied
    involved involve found find approved indicated indication indications role part besides except
    apart another excluding""".split()  # noqa: SIM905
)
ANAPHORA = frozenset(["it", "its", "this", "that", "these", "those", "they", "them", "their", "same", "one", "ones"])
_CONTINUATIONS = ("what about", "how about", "and ", "also ", "what else", "anything else")


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS]


def _specific_words(text: str) -> list[str]:
    return [w for w in content_words(text) if w not in GENERIC_WORDS and w not in ANAPHORA and not w.isdigit()]


def names_something(question: str) -> bool:
    """True when the question carries its own subject; False for an elliptical follow-up."""
    specific = _specific_words(question)
    lowered = question.strip().lower()
    anaphoric = any(w in ANAPHORA for w in words(question))
    # One specific word ("Which ion is involved?", "Which animals were studied?") is usually a
    # follow-up's detail, not its whole subject; with a pronoun or "What about ..." even two are.
    if lowered.startswith(_CONTINUATIONS) or anaphoric:
        return len(specific) >= 3
    return len(specific) >= 2


# "besides baclofen", "Other than Valium, ...": the drugs named in the three words after these are
# what the user rules out (the words may run on into the rest of the question: only drugs count).
_EXCLUSION = re.compile(
    r"\b(?:besides|other than|apart from|aside from|except(?: for)?|instead of|alternatives? to|in place of)"
    r"\s+((?:[\w'-]+\s*){1,3})",
    re.IGNORECASE,
)


def excluded_phrases(text: str) -> list[str]:
    return [m.group(1).strip() for m in _EXCLUSION.finditer(text)]


def without_names(query: str, ruled_out: dict[str, list[str]]) -> str:
    """The query without any name of the ruled-out drugs, so retrieval does not go looking for them."""
    names = sorted({n for found in ruled_out.values() for n in found}, key=len, reverse=True)
    if not names:
        return query
    pattern = r"\b(?:" + "|".join(r"\W+".join(map(re.escape, n.split())) for n in names) + r")\b"
    kept = " ".join(re.sub(pattern, " ", query, flags=re.IGNORECASE).split())
    return re.sub(r"\s+([?.!,;:)])", r"\1", kept).replace("()", "").strip()


def carried_turns(history: tuple[str, ...]) -> list[str]:
    """The turns an elliptical follow-up takes its subject from: the latest earlier question that
    names something, and any elliptical ones after it, most recent first."""
    turns: list[str] = []
    for turn in reversed(history):
        turns.append(turn)
        if names_something(turn):
            break
    return turns


def salient_terms(history: tuple[str, ...]) -> list[str]:
    """The specific words of the carried turns (duplicates removed). Generic words ("treated",
    "medication") are not carried: the follow-up asks its own generic question."""
    collected: list[str] = []
    for turn in carried_turns(history):
        for word in _specific_words(turn):
            if word not in collected:
                collected.append(word)
    return collected


def exclusions(question: str, history: tuple[str, ...]) -> list[str]:
    """The phrases in which the question rules something out, and for an elliptical follow-up those of
    its carried turns: "When are they indicated?" after "What ... besides baclofen?" means the others."""
    phrases = excluded_phrases(question)
    if history and not names_something(question):
        phrases += [p for turn in carried_turns(history) for p in excluded_phrases(turn)]
    return phrases


def resolve_followup(question: str, history: tuple[str, ...], borrow: bool = False) -> str:
    """The question with the conversation's subject words when it names none of its own (or `borrow`)."""
    question = question.strip()
    if not history or (names_something(question) and not borrow):
        return question
    own = set(content_words(question))
    borrowed = [w for w in salient_terms(history) if w not in own]
    return f"{question} {' '.join(borrowed)}" if borrowed else question


@lru_cache(maxsize=1)
def lay_terms() -> tuple[tuple[re.Pattern[str], str], ...]:
    text = resources.files("followup").joinpath("data/lay-terms.tsv").read_text(encoding="utf-8")
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("lay\t"):
            continue
        lay, clinical = line.split("\t", 1)
        flags = 0 if lay.isupper() else re.IGNORECASE
        entries.append((re.compile(rf"\b{re.escape(lay)}\b", flags), clinical.strip()))
    # Longest phrase first, so "water pills" wins over a shorter entry inside it.
    return tuple(sorted(entries, key=lambda e: -len(e[0].pattern)))


def lay_expansions(query: str) -> list[str]:
    """The clinical terms for the lay phrases in the query."""
    return [clinical for pattern, clinical in lay_terms() if pattern.search(query)]


def expand_lay_terms(query: str) -> str:
    """Append the clinical terms for lay phrases in the query, once each, unless already present."""
    return append_terms(query, lay_expansions(query))


def append_terms(query: str, terms: list[str]) -> str:
    """The query with the words of `terms` it lacks appended in brackets, once each: visible in the
    answer's `query`, so a reader sees what was searched for."""
    present = set(words(query))
    added: list[str] = []
    for term in terms:
        for word in term.split():
            if word.lower() not in present and word not in added:
                added.append(word)
    return f"{query} ({' '.join(added)})" if added else query


def build_query(question: str, history: tuple[str, ...], borrow: bool = False) -> str:
    """The question resolved from the conversation; expansions are appended by the caller, once."""
    return resolve_followup(question, history, borrow)


_MORE = re.compile(
    r"\b(else|other|others|another|besides|apart from|except|in addition|alternatives?)\b", re.IGNORECASE
)


def asks_for_more(question: str) -> bool:
    """ "What else is it indicated for?", "Any other options?": the user has seen one answer and wants
    the next, so the previous turn's first passage should not come back first."""
    return bool(_MORE.search(question))
