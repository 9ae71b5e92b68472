"""End-to-end fixtures: the real model, an index built from a copy of the bundled corpus."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from followup.indexer import build_index
from followup.pipeline import Answerer


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[tuple[Path, Path]]:
    """(corpus, index): a copy of the bundled corpus, so tests may change it, and its index."""
    root = tmp_path_factory.mktemp("e2e")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(corpus_dir, corpus)
    result = build_index(corpus, index)
    assert result.rebuilt and result.chunks > 0
    yield corpus, index


@pytest.fixture(scope="session")
def answerer(built: tuple[Path, Path]) -> Answerer:
    corpus, index = built
    return Answerer.load(index, corpus)
