from __future__ import annotations

import pytest

from followup.core.words import (
    find_mentions,
    is_usable_name,
    load_package_lexicon,
    names_by_drug,
)

LEXICON = {
    "baclofen": "baclofen",
    "lioresal": "baclofen",
    "quinine": "quinine",
    "vitamin d": "ergocalciferol",
    "diazepam": "diazepam",
    "valium": "diazepam",
}


def test_mentions_take_the_longest_name_and_each_drug_once() -> None:
    mentions = find_mentions("Is Vitamin  D or Lioresal better than baclofen?", LEXICON)
    assert [(m.surface, m.name, m.drug) for m in mentions] == [
        ("Vitamin  D", "vitamin d", "ergocalciferol"),  # as written, for the user; as listed, for look-ups
        ("Lioresal", "lioresal", "baclofen"),
    ]
    assert find_mentions("Does vitamin help?", LEXICON) == []


def test_names_by_drug_lists_every_name_the_sources_use() -> None:
    texts = ["Diazepam is a useful adjunct.", "Valium is indicated; VALIUM tablets.", "baclofen 10-20 mg"]
    assert names_by_drug(texts, LEXICON) == {"diazepam": ["diazepam", "valium"], "baclofen": ["baclofen"]}


@pytest.mark.parametrize(
    ("name", "usable"), [("baclofen", True), ("abc", False), ("the and", False), ("a b c d e", False)]
)
def test_short_stopword_and_combination_names_are_left_out(name: str, usable: bool) -> None:
    assert is_usable_name(name) is usable


def test_the_packaged_lexicon_has_medications_not_everyday_words_or_classes() -> None:
    lexicon = load_package_lexicon()
    assert lexicon["quinine"] == "quinine"
    assert lexicon["lioresal"] == "baclofen" and lexicon["zanaflex"] == "tizanidine"
    assert lexicon["valium"] == "diazepam"
    for word in ("water", "magnesium", "potassium", "alcohol", "salt", "benzodiazepines", "diuretics", "statins"):
        assert word not in lexicon, word
