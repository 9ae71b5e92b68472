"""End-to-end fixtures: the real model, an index built from a copy of the bundled corpus."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from followup.answerer import Answerer
from followup.index.build import build_index


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
def library(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> tuple[Path, Path]:
    """(corpus, index) of the development library: the bundled corpus and the graded articles."""
    from followup.evaluate.library import build_library

    articles = corpus_dir.parent / "evals" / "articles"
    corpus, index, _ = build_library(tmp_path_factory.mktemp("library"), corpus_dir, articles)
    return corpus, index


@pytest.fixture(scope="session")
def library_answerer(library: tuple[Path, Path]) -> Answerer:
    corpus, index = library
    return Answerer.load(index, corpus)


@pytest.fixture(scope="session")
def answerer(built: tuple[Path, Path]) -> Answerer:
    corpus, index = built
    return Answerer.load(index, corpus)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """An app served on a free loopback port, in a thread, until the block ends."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(built: tuple[Path, Path], answerer: Answerer) -> Iterator[str]:
    """The real service on a free loopback port, in a thread, sharing the session's loaded model."""
    from followup.serve.app import ServiceSettings, create_app

    app = create_app(ServiceSettings(index_dir=built[1], corpus_dir=built[0]), answerer)
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def feedback_server(
    built: tuple[Path, Path], answerer: Answerer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """(address, feedback file): the real service as `live_server`, its feedback stored in a file of the
    module's own (not beside the session's index)."""
    from followup.serve.app import ServiceSettings, create_app

    database = tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"
    settings = ServiceSettings(index_dir=built[1], corpus_dir=built[0], feedback_db=database)
    with serving(create_app(settings, answerer)) as url:
        yield url, database
