"""The answer score: late interaction (MaxSim, as in ColBERT) over all-MiniLM-L6-v2's own token vectors.

Each query token finds its most similar token in the passage and the similarities are averaged. The
passage is a sentence span *with its chunk's context* (title, section breadcrumb, list lead-in), and
its token vectors come from the chunk's own forward pass over "context\\ntext": words of the topic that
every sentence of a section shares match the context equally for all of them, so the question's other
words decide. The query's tokens are those of the question as asked and as searched (resolved from
the conversation, lay words expanded), together. The sentence cosine, which cannot tell an answer
from a sentence that restates the topic, stays the abstention signal only.

Pure functions over arrays, so they are tested without the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from followup.core.arrays import offsets


def maxsim(query: np.ndarray, passage: np.ndarray) -> float:
    """Mean over query tokens of the best cosine to any passage token (rows L2-normalised)."""
    if not len(query) or not len(passage):
        return 0.0
    return float((query @ passage.T).max(axis=1).mean())


def maxsims(query: np.ndarray, passages: Sequence[np.ndarray]) -> list[float]:
    """maxsim of every passage, in one matrix product: a question's candidates together are a few
    hundred token rows, and many small products each pay BLAS's thread hand-off (measured: a tail of
    tens of milliseconds a question while the other core was busy)."""
    lengths = np.array([len(p) for p in passages], dtype=np.int64)
    scores = np.zeros(len(passages))
    present = lengths > 0
    if len(query) and present.any():
        rows = np.concatenate([p for p in passages if len(p)])
        scores[present] = np.maximum.reduceat(query @ rows.T, offsets(lengths[present])[:-1], axis=1).mean(axis=0)
    return [float(x) for x in scores]
