"""Words: tokens for BM25, sentence spans for chunking and quoting, and the two lexicons questions and
sources are matched against, medication names and clinical facets. Pure functions over text.

Medication names: which drugs a text names, under which of their names (retrieve/plan.py uses them).

The lexicon is the MedlinePlus-listed medications of the drug-named-entity-recognition package
(DrugBank open data, MeSH, MedlinePlus and NHS names; generic and brand names). It is read from the
package once, at index time (half a second), and kept in the build as a plain table, so a question
costs a dictionary look-up per word n-gram. Drug classes ("benzodiazepines") are left out: the
sources name classes loosely, and a class never mentioned is no sign that a question is out of scope.
A name the lexicon holds wrongly costs little: it blocks an answer only when the sources never use
that word at all.

Clinical facets (pregnancy, overdose, children, ...): which ones a question names, and whether a
source's vocabulary addresses them. The list and the reasons for it are in data/facets.tsv; the
phrasings that name a facet without using one of its terms ("Can I drive after taking it?") are in
data/facet-cues.tsv.
"""

from __future__ import annotations

import bz2
import importlib.util
import pickle
import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

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


LEXICON_PACKAGE = "drug-named-entity-recognition"
_LEXICON_MODULE = "drug_named_entity_recognition"
_LEXICON_FILE = "drug_ner_dictionary.pkl.bz2"
# Names longer than this many words ("abacavir, dolutegravir, and lamivudine") are combination
# products; questions name their parts.
MAX_NAME_WORDS = 4
# Shorter names are abbreviations that collide with ordinary words and units.
MIN_NAME_CHARS = 4


@dataclass(frozen=True)
class Mention:
    """A medication named in a text: the name as written ("Lyrica"), and the drug it names."""

    surface: str
    name: str  # as the lexicon holds it: lower-case words ("lyrica")
    drug: str  # the lexicon's canonical name, lower case ("pregabalin")


def lexicon_version() -> str:
    return metadata.version(LEXICON_PACKAGE)


def load_package_lexicon() -> dict[str, str]:
    """name (words joined by one space) -> canonical drug, for the MedlinePlus-listed medications.

    The package's own import builds search structures for 3 s; its data file alone loads in 0.5 s."""
    spec = importlib.util.find_spec(_LEXICON_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {LEXICON_PACKAGE} package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / _LEXICON_FILE
    with bz2.open(path, "rb") as f:
        data = pickle.load(f)  # the installed package's own data file, as trusted as its code
    listed = {c for c, d in data["drug_canonical_to_data"].items() if "medline_plus_id" in d}
    lexicon: dict[str, str] = {}
    for variant, canonicals in data["drug_variant_to_canonical"].items():
        drug = next((c for c in canonicals if c in listed), None)
        name = " ".join(words(variant))
        # A trailing comma marks a cut-off inverted name ("alcohol," for benzyl alcohol).
        if drug is not None and variant[-1:].isalnum() and is_usable_name(name):
            lexicon.setdefault(name, drug.lower())
    return lexicon


def is_usable_name(name: str) -> bool:
    parts = name.split()
    return 0 < len(parts) <= MAX_NAME_WORDS and len(name) >= MIN_NAME_CHARS and not all(p in STOPWORDS for p in parts)


def find_mentions(text: str, lexicon: Mapping[str, str]) -> list[Mention]:
    """Medications named in the text, longest name first at each place, each drug once, in order."""
    spans = word_spans(text)
    tokens = [w for w, _, _ in spans]
    as_written = text if len(text.lower()) == len(text) else text.lower()
    found: dict[str, Mention] = {}
    i = 0
    while i < len(tokens):
        for n in range(min(MAX_NAME_WORDS, len(tokens) - i), 0, -1):
            name = " ".join(tokens[i : i + n])
            drug = lexicon.get(name)
            if drug is not None:
                found.setdefault(drug, Mention(as_written[spans[i][1] : spans[i + n - 1][2]], name, drug))
                i += n
                break
        else:
            i += 1
    return list(found.values())


def names_by_drug(texts: Iterable[str], lexicon: Mapping[str, str]) -> dict[str, list[str]]:
    """drug -> the names the texts use for it, in order of first use."""
    names: dict[str, list[str]] = {}
    for text in texts:
        tokens = words(text)
        for i in range(len(tokens)):
            for n in range(1, min(MAX_NAME_WORDS, len(tokens) - i) + 1):
                name = " ".join(tokens[i : i + n])
                drug = lexicon.get(name)
                if drug is not None and name not in names.setdefault(drug, []):
                    names[drug].append(name)
    return names


@dataclass(frozen=True)
class Cue:
    """A question phrasing that names a facet. It only ever decides what a question asks: the sources
    address a facet through its terms alone, so a cue can be as loose as the questions it must catch."""

    pattern: re.Pattern[str]
    needs_drug: bool  # counts only when the question also names a medication ("too much baclofen")


@dataclass(frozen=True)
class Facet:
    name: str
    terms: tuple[tuple[str, ...], ...]  # each term as its stemmed tokens
    cues: tuple[Cue, ...] = ()


def parse_facets(text: str, cues_text: str = "") -> tuple[Facet, ...]:
    facets: dict[str, Facet] = {}
    for number, line in _data_lines(text, "facet\t"):
        name, sep, terms = line.partition("\t")
        stemmed = tuple(tuple(tokenize(t)) for t in terms.split(";") if tokenize(t))
        if not sep or not name.strip() or not stemmed:
            raise ValueError(f"facets line {number}: expected 'name<TAB>term; term; ...', got {line!r}")
        facets[name.strip()] = Facet(name.strip(), stemmed)
    cues: dict[str, list[Cue]] = {}
    for number, line in _data_lines(cues_text, "facet\t"):
        fields = line.split("\t")
        if len(fields) != 3 or fields[1] not in ("any", "drug") or not fields[2]:
            raise ValueError(f"facet cues line {number}: expected 'facet<TAB>any|drug<TAB>pattern', got {line!r}")
        name, when, pattern = fields
        if name not in facets:
            raise ValueError(f"facet cues line {number}: no facet named {name!r} in the facets list")
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            raise ValueError(f"facet cues line {number}: bad pattern {pattern!r}: {error}") from None
        cues.setdefault(name, []).append(Cue(compiled, when == "drug"))
    return tuple(Facet(f.name, f.terms, tuple(cues.get(f.name, ()))) for f in facets.values())


def _data_lines(text: str, header: str) -> list[tuple[int, str]]:
    return [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.startswith("#") and not line.startswith(header)
    ]


@lru_cache(maxsize=1)
def clinical_facets() -> tuple[Facet, ...]:
    data = resources.files("followup").joinpath("data")
    return parse_facets(
        data.joinpath("facets.tsv").read_text(encoding="utf-8"),
        data.joinpath("facet-cues.tsv").read_text(encoding="utf-8"),
    )


def _phrases(tokens: list[str], longest: int) -> set[tuple[str, ...]]:
    """Every run of 1 to `longest` consecutive tokens."""
    return {tuple(tokens[i : i + n]) for n in range(1, longest + 1) for i in range(len(tokens) - n + 1)}


def named_facets(question: str, facets: tuple[Facet, ...], names_drug: bool = False) -> tuple[Facet, ...]:
    """The facets the question names: one of their terms (a phrase's words in order), or one of their
    cues (a cue that needs a drug only when `names_drug`)."""
    phrases = _phrases(tokenize(question), max((len(t) for f in facets for t in f.terms), default=0))
    return tuple(
        f
        for f in facets
        if not phrases.isdisjoint(f.terms)
        or any(c.pattern.search(question) for c in f.cues if names_drug or not c.needs_drug)
    )


def addresses(vocabulary: Set[str], facet: Facet) -> bool:
    """Whether sources with this vocabulary use a term of the facet. The vocabulary is a bag of words,
    so a phrase counts when its words occur anywhere (data/facets.tsv says how terms are chosen)."""
    return any(all(t in vocabulary for t in term) for term in facet.terms)


# An abbreviation or code a question names: two capitals or more ("TSH", "IVIG", "SSRIs"), or letters
# and digits together ("M235T", "CHA2DS2"). Hyphenated parts count alone ("post-TIPS" names TIPS).
_PART = re.compile(r"[A-Za-z0-9]+")


def named_codes(question: str) -> list[str]:
    """The abbreviations and codes the question names, a plural's "s" dropped ("SSRIs" -> "SSRI").
    None in a question typed in capitals, where every word would look like one; roman numerals ("phase
    II") and stopwords are not codes."""
    letters = [c for c in question if c.isalpha()]
    if sum(c.isupper() for c in letters) * 2 > len(letters):
        return []
    codes: list[str] = []
    for part in _PART.findall(question):
        if re.fullmatch(r"[IVXLC]+", part) or part.lower() in STOPWORDS:
            continue
        if re.fullmatch(r"[A-Z]{2,}s", part):
            part = part[:-1]
        capitals = sum(c.isupper() for c in part)
        mixed = bool(re.search(r"\d", part)) and bool(re.search(r"[A-Za-z]", part))
        unit = re.fullmatch(r"\d+[a-z]{1,2}", part)  # "5mg", "12h": a quantity, not a code
        is_code = (capitals >= 2 and capitals * 2 >= len(part)) or (mixed and not unit)
        if is_code and part not in codes:
            codes.append(part)
    return codes


# Words that may stand between the words that spell out an abbreviation ("National Health Service" for
# NHS, "the"; "disorders of the ..."), by the upper-case letter word_initials writes for them.
_LINKING = {"of": "O", "and": "A", "the": "T", "for": "F", "in": "I", "to": "T", "with": "W", "on": "O"}
_WORD_CHAR = r"[\w'\u2019]"
_LINKING_WORDS = {
    mark: re.compile(f"(?<!{_WORD_CHAR})(?:{'|'.join(w for w, m in _LINKING.items() if m == mark)})(?!{_WORD_CHAR})")
    for mark in sorted(set(_LINKING.values()))
}
_TAIL = re.compile(f"(?<={_WORD_CHAR}){_WORD_CHAR}+")  # a word after its first character
_BREAK = re.compile(r"[^\w'\u2019\s-]+")
_SPACE = re.compile(r"[\s-]+")


# The version of word_initials' output: a build carries an unchanged article's initials over from the
# build before only when that build wrote them with this version (index/incremental.known_initials).
INITIALS_VERSION = 1


def word_initials(text: str) -> str:
    """One character a word, in order: its first letter, lower-cased, or a linking word's capital
    ("of" -> "O"); "|" where anything but spaces and hyphens stands between two words. What spells_out
    reads: a library's texts in a sixth of their size, computed at build (2 s for MedQuAD's 24 MB)."""
    initials = text.lower()
    for mark, linking in _LINKING_WORDS.items():
        initials = linking.sub(mark, initials)
    return _SPACE.sub("", _BREAK.sub("|", _TAIL.sub("", initials)))


def spelling(code: str) -> re.Pattern[str] | None:
    """What finds the abbreviation spelled out in word_initials: words whose initials are its letters in
    order, linking words between them allowed ("MS": "multiple sclerosis"; "CBT": "cognitive
    behavioural therapy"; "NHS": "the National Health Service"). None for a code with digits."""
    letters = [c for c in code.lower() if c.isalpha()]
    if len(letters) < 2 or len(letters) != len(code):
        return None
    linking = "".join(sorted(set(_LINKING.values())))
    # A letter matches a word of its own or a linking word with that initial ("of" in "disorders of ...").
    one = [f"[{c}{c.upper()}]" if c.upper() in linking else c for c in letters]
    return re.compile(f"[{linking}]*".join(one))


def spells_out(code: str, initials: str) -> bool:
    """Whether the text whose word_initials these are names the abbreviation in full."""
    pattern = spelling(code)
    return pattern is not None and pattern.search(initials) is not None
