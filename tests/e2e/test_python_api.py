"""The Python API of the README: `import followup`, open an index, ask with history and an article."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import followup


def test_open_index_and_ask_with_history_and_article(built: tuple[Path, Path]) -> None:
    corpus, index = built
    answerer = followup.open_index(index, corpus_dir=corpus)
    answer = answerer.ask(
        "What dose should be used?",
        history=["Which medication treats spasticity in multiple sclerosis?"],
        article="muscle-spasm",
    )
    assert isinstance(answer, followup.Answer) and answer.answered
    first = answer.passages[0]
    assert isinstance(first, followup.Passage) and first.role == followup.Role.ANSWER
    assert answer.query == "What dose should be used? spasticity multiple sclerosis", "the subject carried over"
    document = answerer.index.documents[first.source_id]
    assert document.text[first.start : first.end] == first.text, "verbatim, with offsets into the source"
    assert {c.reference.number for c in answer.references} >= set(first.citations)
    with pytest.raises(followup.UnknownArticle, match="no-such-article"):
        answerer.ask("What dose?", article="no-such-article")
    with pytest.raises(followup.InvalidRequest):
        answerer.ask("   ")
    reviews = answerer.ask("What dose of baclofen is used?", tiers=["systematic_review"], since=2000)
    assert reviews.answered and {p.tier for p in reviews.passages} == {followup.Tier.SYSTEMATIC_REVIEW}
    evidence = followup.EvidenceFilter(frozenset({followup.Tier.DRUG_LABEL}))
    labels = answerer.answer(followup.AskRequest("What dose of baclofen is used?", evidence=evidence))
    assert not labels.answered and labels.excluded_by_filter
    with pytest.raises(followup.InvalidRequest, match="unknown tier 'guidelines'"):
        answerer.ask("What dose?", tiers=["guidelines"])


def test_a_stale_or_missing_index_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(followup.IndexProblem, match="no index"):
        followup.open_index(tmp_path / "none")


def test_import_followup_loads_no_stage_until_a_name_is_used() -> None:
    probe = "import sys, followup; print(sorted(m for m in sys.modules if m.startswith('followup.')))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    assert all(hasattr(followup, name) for name in followup.__all__)
    for name in followup.__all__:
        assert getattr(followup, name).__doc__ or name == "__version__", f"{name} has no docstring"
