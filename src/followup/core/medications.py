"""Medication names: which drugs a text names, under which of their names (retrieve/scope.py uses them).

The lexicon is the MedlinePlus-listed medications of the drug-named-entity-recognition package
(DrugBank open data, MeSH, MedlinePlus and NHS names; generic and brand names). It is read from the
package once, at index time (half a second), and kept in the build as a plain table, so a question
costs a dictionary look-up per word n-gram. Drug classes ("benzodiazepines") are left out: the
sources name classes loosely, and a class never mentioned is no sign that a question is out of scope.
A name the lexicon holds wrongly costs little: it blocks an answer only when the sources never use
that word at all.
"""

from __future__ import annotations

import bz2
import importlib.util
import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from followup.core.text import STOPWORDS, word_spans, words

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
