"""A published study added from its JATS XML, in the development library: its own findings are
answers, grounded in the article itself (reference 0) at the tier of its design."""

from __future__ import annotations

import pytest

from followup.answerer import Answerer
from followup.core.types import AskRequest, Role, Tier

pytestmark = pytest.mark.model

TRIAL = "depression-acupuncture-counselling-rct"


def test_a_trials_result_is_the_answer_citing_the_trial_itself(library_answerer: Answerer) -> None:
    answer = library_answerer.answer(AskRequest("How many sessions did patients attend?", article_id=TRIAL))
    first = answer.passages[0]
    assert first.role is Role.ANSWER and first.citations == (0,) and first.tier is Tier.RCT
    assert "sessions" in first.text and first.source_label.startswith("This article · ")
    own = next(c.reference for c in answer.references if c.reference.number == 0)
    assert own.ids["doi"] == "10.1371/journal.pmed.1001518" and own.kind == "randomized_controlled_trial"


def test_the_introduction_still_cites_its_own_references(library_answerer: Answerer) -> None:
    answer = library_answerer.answer(
        AskRequest("How many cases of depression were reported in England?", article_id=TRIAL)
    )
    assert any(p.citations and 0 not in p.citations for p in answer.passages[:3])
