from __future__ import annotations

from followup.ingest.citations import document_markers, ends_sentence_without_stop, find_markers

KNOWN = frozenset(range(1, 8))


def numbers(text: str, known: frozenset[int] = KNOWN) -> list[tuple[int, ...]]:
    return [m.numbers for m in find_markers(text, 0, len(text), known)]


def test_citation_before_full_stop() -> None:
    text = "as well as metabolic disorders and inflammatory conditions 1."
    [marker] = find_markers(text, 0, len(text), KNOWN)
    assert text[marker.start : marker.end] == " 1"
    assert marker.numbers == (1,)


def test_citation_at_end_of_bullet_and_after_bracket() -> None:
    assert numbers("Stiff-man syndrome 2") == [(2,)]
    assert numbers("Exercise-associated muscle cramps (EAMCs) 4, 5") == [(4, 5)]


def test_doses_and_counts_are_not_citations() -> None:
    assert numbers("baclofen, at a dose of 10-20 mg three times daily") == []
    assert numbers("in long-term use, that is, more than 4 months, has not been assessed") == []


def test_unknown_reference_numbers_are_not_citations() -> None:
    assert numbers("as reported in the trial 9.") == []


def test_citation_followed_by_a_new_sentence_without_stop() -> None:
    text = "medications like baclofen may be used to alleviate symptoms 1 Certain medications"
    [marker] = find_markers(text, 0, len(text), KNOWN)
    assert marker.numbers == (1,)
    assert ends_sentence_without_stop(text, marker)
    [stop] = find_markers("conditions 1.", 0, 13, KNOWN)
    assert not ends_sentence_without_stop("conditions 1.", stop)


def test_an_article_citing_in_brackets_has_no_bare_citations() -> None:
    text = "Baseline data are shown in Table 1. The risk of Type 2 Diabetes rose [2, 3]."
    [marker] = document_markers(text, [(0, len(text))], KNOWN)
    assert marker.numbers == (2, 3) and text[marker.start : marker.end] == " [2, 3]"
    bare = "Caused by electrolytes 1. Also by drugs 2."
    assert [m.numbers for m in document_markers(bare, [(0, len(bare))], KNOWN)] == [(1,), (2,)]
