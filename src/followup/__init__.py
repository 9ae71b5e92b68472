"""followup: extractive, cited answers to follow-up questions about a medical article.

The Python API, for evaluators and integrators::

    import followup

    answerer = followup.open_index("index", corpus_dir="corpus")
    answer = answerer.ask(
        "What dose should be used?",
        history=["Which medication treats spasticity in multiple sclerosis?"],
        article="muscle-spasm",
    )
    for passage in answer.passages:
        print(passage.role.value, passage.citations, passage.text)

Names are imported on first use, so `import followup` (and `followup --help`) stays instant.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from followup.answerer import Answerer
    from followup.core.errors import FollowupError, IndexProblem, InvalidRequest, UnknownArticle
    from followup.core.types import AskRequest, EvidenceFilter, Reference, Role, Tier
    from followup.present.contract import Answer, CitedReference, Passage, Quote

# public name -> the module that defines it
_EXPORTS = {
    "Answerer": "followup.answerer",
    "Answer": "followup.present.contract",
    "AskRequest": "followup.core.types",
    "CitedReference": "followup.present.contract",
    "EvidenceFilter": "followup.core.types",
    "Passage": "followup.present.contract",
    "Quote": "followup.present.contract",
    "Reference": "followup.core.types",
    "Role": "followup.core.types",
    "Tier": "followup.core.types",
    "FollowupError": "followup.core.errors",
    "IndexProblem": "followup.core.errors",
    "InvalidRequest": "followup.core.errors",
    "UnknownArticle": "followup.core.errors",
}
__all__ = [
    "Answer",
    "Answerer",
    "AskRequest",
    "CitedReference",
    "EvidenceFilter",
    "FollowupError",
    "IndexProblem",
    "InvalidRequest",
    "Passage",
    "Quote",
    "Reference",
    "Role",
    "Tier",
    "UnknownArticle",
    "__version__",
    "open_index",
]


def open_index(index_dir: str | Path = "index", corpus_dir: str | Path | None = None, threads: int = 1) -> Answerer:
    """The answerer of an index's current build (built by `followup index`). With `corpus_dir`, an index
    older than its corpus is refused (`IndexProblem`), as `followup ask` does. `threads`: the query
    encoder's threads. numpy's BLAS runs on one thread in the process from then on (answerer.py's
    `blas_on_one_thread`; threadpoolctl's `threadpool_limits` changes it back)."""
    from followup.answerer import Answerer

    return Answerer.load(Path(index_dir), Path(corpus_dir) if corpus_dir is not None else None, threads)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'followup' has no attribute {name!r}")
