"""A reference's free-text authors split into names, none lost."""

from __future__ import annotations

import pytest

from followup.present.author_names import AuthorList, PersonName, WrittenName, split_authors


def _letters(text: str) -> str:
    """The letters and digits in order, without the words that only separate names."""
    separators = {"and", "et", "al"}
    return "".join(
        c for word in text.split() if word.strip(".,;&").lower() not in separators for c in word if c.isalnum()
    )


def _written(authors: AuthorList) -> str:
    return " ".join(
        " ".join((name.family, name.given, name.suffix)) if isinstance(name, PersonName) else name.literal
        for name in authors.names
    )


@pytest.mark.parametrize(
    ("authors", "names"),
    [
        ("Chou R, Peterson K, Helfand M.", [("Chou", "R."), ("Peterson", "K."), ("Helfand", "M.")]),
        ("Miller KC, McDermott BP, Fiol A", [("Miller", "K. C."), ("McDermott", "B. P."), ("Fiol", "A.")]),
        ("Chou, R., Peterson, K., & Helfand, M.", [("Chou", "R."), ("Peterson", "K."), ("Helfand", "M.")]),
        ("Smith J and Jones K", [("Smith", "J."), ("Jones", "K.")]),
        ("van der Berg J.-P.; da Silva M", [("van der Berg", "J.-P."), ("da Silva", "M.")]),
        ("Ölander Ö, Łukasiewicz J", [("Ölander", "Ö."), ("Łukasiewicz", "J.")]),
    ],
)
def test_people_in_surname_initials_form_are_split_by_name(authors: str, names: list[tuple[str, str]]) -> None:
    split = split_authors(authors)
    assert [(n.family, n.given) for n in split.names if isinstance(n, PersonName)] == names
    assert len(split.names) == len(names) and not split.more


@pytest.mark.parametrize(
    "authors",
    [
        "Dr.Oracle Medical Advisory Board & Editors",
        "Roche Laboratories Inc.",
        "Roche Laboratories, Inc.",  # its comma does not make "Inc." a person
        "GlaxoSmithKline LLC",  # capitals that end a company's name are not initials
        "National Institute for Health and Care Excellence NICE",  # "for", "and": not a surname
        "World Health Organization",
    ],
)
def test_an_organisation_is_one_name_as_written(authors: str) -> None:
    assert split_authors(authors) == AuthorList((WrittenName(authors),))


def test_a_label_s_labeler_is_an_organisation_whatever_it_looks_like() -> None:
    assert split_authors("Roche AG", organisation=True).names == (WrittenName("Roche AG"),)
    assert split_authors("Roche AG").names == (PersonName("Roche", "A. G."),)  # as PubMed would list a person


def test_a_collective_among_people_and_et_al() -> None:
    split = split_authors("Smith JA Jr, SPRINT Research Group, Jones AB et al.")
    assert split.names == (
        PersonName("Smith", "J. A.", "Jr"),
        WrittenName("SPRINT Research Group"),
        PersonName("Jones", "A. B."),
    )
    assert split.more
    assert split_authors("Chou R, Peterson K, et al.") == AuthorList(
        (PersonName("Chou", "R."), PersonName("Peterson", "K.")), more=True
    )


def test_a_name_not_in_surname_initials_form_is_kept_whole() -> None:
    assert split_authors("Chou R, Lee, Kim Peterson").names == (
        PersonName("Chou", "R."),
        WrittenName("Lee"),
        WrittenName("Kim Peterson"),
    )


@pytest.mark.parametrize("authors", [None, "", "   ", " , ;"])
def test_no_authors(authors: str | None) -> None:
    assert split_authors(authors) == AuthorList(())


@pytest.mark.parametrize(
    "authors",
    [
        "Chou R, Peterson K, Helfand M.",
        "Miller KC, McDermott BP, Yeargin SW, Fiol A, Schwellnus MP",
        "Chou, R., Peterson, K., & Helfand, M.",
        "Smith JA Jr, SPRINT Research Group, Jones AB et al.",
        "Dr.Oracle Medical Advisory Board & Editors",
        "A  B C D E F G, H & I and J, 1 2 3; K L M N O P",
        "Chou R, Lee, Kim Peterson\nand Smith-Jones A-B",
    ],
)
def test_every_word_of_the_string_is_in_one_name_in_order(authors: str) -> None:
    assert _letters(_written(split_authors(authors))) == _letters(authors)
