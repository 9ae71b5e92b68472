"""The order of an answer's passages: the answer first, whatever its tier, then the evidence by tier.

Pure functions over groups of candidates (candidates.group_duplicates: one statement, its places), so
they are tested without the model.
"""

from __future__ import annotations

from followup.answer.candidates import Candidate
from followup.core.types import Role


def group_score(group: list[Candidate]) -> float:
    """A statement's answer score: that of its best place that may be shown."""
    return max(c.score for c in group if c.quotable)


def same_place(a: Candidate, b: Candidate) -> bool:
    """Overlapping spans of one document (two chunks' spans, a twin found twice): one place."""
    return a.place.overlaps(b.place)


def arrange(
    groups: list[list[Candidate]], top_k: int, order_by_tier: bool = True
) -> list[tuple[list[Candidate], Role]]:
    """The answer first: the best-scored group, whatever its tier. Then the next best groups, up to
    `top_k` in all, by tier (best first) and by score within a tier. Every group's first member is
    quotable (cited)."""
    by_score = sorted(groups, key=lambda g: -group_score(g))
    if not by_score:
        return []
    answer, *others = by_score
    evidence = sorted(others[: top_k - 1], key=lambda g: g[0].tier.rank if order_by_tier else 0)
    return [(answer, Role.ANSWER), *((g, Role.EVIDENCE) for g in evidence)]
