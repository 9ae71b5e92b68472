from __future__ import annotations

from followup.core.words import named_codes, sentence_spans, spells_out, tokenize, word_initials, words


def spans_text(text: str, extra: tuple[int, ...] = ()) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text, 0, len(text), extra)]


def test_tokenize_drops_stopwords_and_stems() -> None:
    assert tokenize("What are the causes of muscle spasms?") == ["caus", "muscl", "spasm"]


def test_tokenize_meets_british_and_american_spelling() -> None:
    assert tokenize("hypokalaemia") == tokenize("hypokalemia")
    assert tokenize("hypophosphataemia") == tokenize("hypophosphatemia")


def test_words_split_on_punctuation_and_keep_numbers() -> None:
    assert words("Drug-induced, 10-20 mg") == ["drug", "induced", "10", "20", "mg"]


def test_sentences_split_at_full_stops_but_not_decimals_or_abbreviations() -> None:
    text = "Give 1.5 mg daily, e.g. with food. Dr. Smith agreed. Then stop."
    assert spans_text(text) == ["Give 1.5 mg daily, e.g. with food.", "Dr. Smith agreed.", "Then stop."]


def test_sentences_do_not_split_before_lower_case() -> None:
    assert spans_text("Use vs. placebo was tested. it is fine.") == ["Use vs. placebo was tested. it is fine."]


def test_sentence_spans_are_trimmed_offsets_into_the_text() -> None:
    text = "  One two.   Three four?  "
    spans = sentence_spans(text, 0, len(text))
    assert spans == [(2, 10), (13, 24)]
    assert [text[s:e] for s, e in spans] == ["One two.", "Three four?"]


def test_extra_ends_split_a_sentence_without_punctuation() -> None:
    text = "baclofen may be used 1 Certain medications can also contribute 1."
    cut = text.index(" Certain")
    assert spans_text(text, (cut,)) == ["baclofen may be used 1", "Certain medications can also contribute 1."]


def test_sentence_spans_respect_the_window() -> None:
    text = "Before. Inside one. Inside two. After."
    start, end = text.index("Inside one"), text.index(" After")
    assert [text[s:e] for s, e in sentence_spans(text, start, end)] == ["Inside one.", "Inside two."]


def test_named_codes_are_abbreviations_and_letter_digit_codes_not_units_numerals_or_shouting() -> None:
    assert named_codes("Did anyone need IVIG, or SSRIs, or the M235T and CHA2DS2-VASc scores?") == [
        "IVIG", "SSRI", "M235T", "CHA2DS2", "VASc"
    ]  # fmt: skip
    assert named_codes("Was post-TIPS OHE worse in phase II?") == ["TIPS", "OHE"]
    assert named_codes("Is 5mg twice daily ok after 12h?") == []
    assert named_codes("IS IT SAFE IN PREGNANCY?") == []


def test_an_abbreviation_is_spelled_out_by_the_initials_of_consecutive_words() -> None:
    assert spells_out("MS", word_initials("spasms in conditions like multiple sclerosis 1."))
    assert spells_out("CBT", word_initials("compared with cognitive-behavioural therapy"))
    assert spells_out("NHS", word_initials("funded by the National Health Service"))
    assert spells_out("DOD", word_initials("the Department of Defense"))  # a linking word between
    assert spells_out("OHE", word_initials("overt hepatic encephalopathy"))
    assert not spells_out("TSH", word_initials("thyroid hormone levels"))
    assert not spells_out("MS", word_initials("multiple, sclerosis"))  # punctuation breaks the run
    assert not spells_out("MS", word_initials("don't swallow mostly"))  # an apostrophe is inside a word
    assert not spells_out("M235T", word_initials("M 2 3 5 T"))
    assert word_initials("Disorders of the X-linked gene, don't") == "dOTxlg|d"
