from __future__ import annotations

import pytest

from followup.retrieve.query import (
    append_terms,
    asks_for_more,
    build_query,
    exclusions,
    expand_lay_terms,
    names_something,
    resolve_followup,
    without_names,
)

MS = "Which medication treats spasticity in multiple sclerosis?"


@pytest.mark.parametrize(
    ("question", "specific"),
    [
        ("What dose should be used?", False),
        ("Is it safe?", False),
        ("What about the side effects?", False),
        ("And in children?", False),
        (MS, True),
        ("Which ion is involved?", False),
        ("What is the dose of baclofen for spasticity?", True),
        ("Does it help spasticity after spinal cord injury?", True),
    ],
)
def test_names_something(question: str, specific: bool) -> None:
    assert names_something(question) is specific


def test_elliptical_followup_borrows_the_subject_of_the_conversation() -> None:
    assert (
        resolve_followup("What dose should be used?", (MS,))
        == "What dose should be used? spasticity multiple sclerosis"
    )


def test_a_chain_of_ellipses_reaches_back_to_the_last_named_subject() -> None:
    history = ("What is baclofen?", "Is it safe?")
    assert resolve_followup("What dose?", history) == "What dose? baclofen"


def test_a_question_that_names_its_subject_is_left_alone() -> None:
    assert resolve_followup("What is the baclofen dose for spasticity?", (MS,)) == (
        "What is the baclofen dose for spasticity?"
    )
    assert resolve_followup("What dose should be used?", ()) == "What dose should be used?"


def test_lay_terms_add_clinical_terms() -> None:
    assert expand_lay_terms("Can water pills cause cramps?") == (
        "Can water pills cause cramps? (diuretics furosemide hydrochlorothiazide)"
    )
    assert expand_lay_terms("Is cholesterol medicine a cause?") == "Is cholesterol medicine a cause? (statins)"
    assert expand_lay_terms("Does low potassium matter?") == "Does low potassium matter? (hypokalemia)"
    assert expand_lay_terms("Is it hard on the kidney?") == "Is it hard on the kidney? (renal)"
    assert expand_lay_terms("Is Valium safe?") == "Is Valium safe?", (
        "a brand's generic name comes from the drug lexicon"
    )


def test_upper_case_abbreviations_match_only_in_upper_case() -> None:
    assert expand_lay_terms("spasms in MS") == "spasms in MS (multiple sclerosis)"
    assert expand_lay_terms("a dose in ms") == "a dose in ms"


def test_terms_already_present_are_not_added() -> None:
    assert expand_lay_terms("Do water pills (diuretics, furosemide, hydrochlorothiazide) cause spasms?") == (
        "Do water pills (diuretics, furosemide, hydrochlorothiazide) cause spasms?"
    )


def test_build_query_resolves_and_leaves_expansion_to_the_planner() -> None:
    assert build_query("Is it safe?", ("Can water pills cause cramps?",)) == "Is it safe? water pills cramps"


@pytest.mark.parametrize(
    ("question", "more"),
    [
        ("What else is it indicated for?", True),
        ("Any other options?", True),
        ("Are there alternatives?", True),
        ("What is it indicated for?", False),
        ("Is it safe?", False),
    ],
)
def test_asks_for_more(question: str, more: bool) -> None:
    assert asks_for_more(question) is more


def test_append_terms_adds_missing_words_once_in_brackets() -> None:
    assert append_terms("Is Lioresal safe?", ["baclofen"]) == "Is Lioresal safe? (baclofen)"
    both = append_terms("Is baclofen safe?", ["baclofen", "multiple sclerosis"])
    assert both == "Is baclofen safe? (multiple sclerosis)"
    assert append_terms("Why?", []) == "Why?"


def test_what_the_user_rules_out_stays_ruled_out_in_a_follow_up() -> None:
    history = ("What can be given for spasticity in multiple sclerosis besides baclofen?",)
    assert exclusions("When are they indicated?", history) == ["baclofen"]
    assert exclusions("Other than Valium, what treats spasm?", ()) == ["Valium"]
    assert exclusions("Is baclofen safe besides tizanidine and dantrolene?", ()) == ["tizanidine and dantrolene"]
    assert exclusions("What dose of tizanidine treats spasticity?", history) == []  # its own subject: none carried


def test_ruled_out_drugs_are_taken_out_of_the_query_by_any_name() -> None:
    ruled_out = {"diazepam": ["diazepam", "valium"], "baclofen": ["baclofen"]}
    assert without_names("Other than Valium, what treats spasm? (diazepam)", ruled_out) == (
        "Other than, what treats spasm?"
    )
    assert without_names("When are they indicated? spasticity baclofen", ruled_out) == (
        "When are they indicated? spasticity"
    )
    assert without_names("Does stretching help cramps?", ruled_out) == "Does stretching help cramps?"
    assert without_names("Is it safe?", {}) == "Is it safe?"
