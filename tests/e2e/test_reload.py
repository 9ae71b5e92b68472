"""Live reload with the real model: a uvicorn server answers a loop of questions from a few threads
while an article changes and the index is rebuilt. Every answer must be the one the build named in its
X-Followup-Build header gives (no answer mixes two builds), and no request may fail."""

from __future__ import annotations

import gc
import json
import os
import shutil
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from followup.answerer import Answerer
from followup.core.types import AskRequest
from followup.index.build import build_index
from followup.index.layout import current_build
from followup.present.render import answer_to_contract, format_markdown
from followup.serve.app import BUILD_HEADER, ServiceSettings, create_app

pytestmark = pytest.mark.model

MS = "Which medication treats spasticity in multiple sclerosis?"
ASKED = [
    ("What causes muscle spasm?", ()),
    ("What dose of baclofen?", ()),
    ("What dose should be used?", (MS,)),
]
KINDS = ("ask", "chat", "stream")
# The edit: a cited dosing sentence in the guideline's treatment section, which the dose questions find.
ANCHOR = "Additionally, tizanidine and dantrolene"
ADDED = "Baclofen is usually started at 5 mg three times daily and raised gradually to at most 80 mg daily 1. "
KEY = "s3cret"

Expected = dict[tuple[str, int], Any]  # (kind, question) -> the body that build answers with


@dataclass(frozen=True)
class Seen:
    kind: str
    asked: int
    status: int
    build: str | None
    body: Any


@pytest.fixture
def workspace(tmp_path: Path, corpus_dir: Path, built: tuple[Path, Path]) -> tuple[Path, Path]:
    """A copy of the bundled corpus and its index. The index starts as a copy of the session's, of the
    same corpus: the build would take ~30 s again, and its stored embeddings make the rebuilds below
    embed only the edited texts."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(corpus_dir, corpus)
    shutil.copytree(built[1], index)
    build_index(corpus, index)
    return corpus, index


def edit_article(corpus: Path) -> None:
    article = corpus / "muscle-spasm" / "article.md"
    text = article.read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1
    article.write_text(text.replace(ANCHOR, ADDED + ANCHOR), encoding="utf-8")


def expected_answers(corpus: Path, index: Path) -> tuple[str, Expected]:
    """What the build CURRENT names answers, asked directly (nothing publishes meanwhile)."""
    answerer, build = Answerer.load(index, corpus), current_build(index).name
    expected: Expected = {}
    for i, (question, history) in enumerate(ASKED):
        answer = answerer.answer(AskRequest(question, history))
        contract = json.loads(json.dumps(answer_to_contract(answer)))
        markdown = format_markdown(answer)
        expected["ask", i] = contract
        expected["chat", i] = {"content": markdown, "followup": contract}
        expected["stream", i] = markdown
    return build, expected


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The real server on a free loopback port, in a thread; its lifespan loads the index."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the test server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive(), "the server did not stop (is the watcher stuck?)"


def wait_for(condition: Callable[[], bool], failure: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


class Clients:
    """A few threads asking every question of ASKED over and over, by REST, chat and streamed chat."""

    def __init__(self, url: str, threads: int = 3, key: str | None = None) -> None:
        self.url, self.key = url, key
        self.seen: list[Seen] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> list[Seen]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        return self.seen

    def answered_everything_from(self, build: str) -> bool:
        done = {(s.kind, s.asked) for s in list(self.seen) if s.build == build and s.status == 200}
        return len(done) == len(KINDS) * len(ASKED)

    def _loop(self, offset: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        with httpx.Client(base_url=self.url, timeout=60, headers=headers) as http:
            turn = offset
            while not self._stop.is_set():
                kind, asked = KINDS[turn % len(KINDS)], (turn // len(KINDS)) % len(ASKED)
                self.seen.append(self._ask(http, kind, asked))  # list.append: atomic
                turn += 1

    @staticmethod
    def _ask(http: httpx.Client, kind: str, asked: int) -> Seen:
        question, history = ASKED[asked]
        messages = [{"role": "user", "content": turn} for turn in (*history, question)]
        try:
            if kind == "ask":
                response = http.post("/v1/ask", json={"question": question, "history": list(history)})
                body: Any = response.json()
            elif kind == "chat":
                response = http.post("/v1/chat/completions", json={"messages": messages})
                reply = response.json()
                body = {"content": reply["choices"][0]["message"]["content"], "followup": reply["followup"]}
            else:
                streamed = {"messages": messages, "stream": True}
                with http.stream("POST", "/v1/chat/completions", json=streamed) as response:
                    events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
                assert events[-1] == "[DONE]"
                deltas = [json.loads(e)["choices"][0]["delta"] for e in events[:-1]]
                body = "".join(d.get("content", "") for d in deltas)
        except Exception as error:  # counted as a failed request
            return Seen(kind, asked, -1, None, f"{type(error).__name__}: {error}")
        return Seen(kind, asked, response.status_code, response.headers.get(BUILD_HEADER), body)


def check(seen: list[Seen], expected: dict[str, Expected]) -> None:
    assert seen, "no request was made"
    failed = [s for s in seen if s.status != 200]
    assert failed == [], f"{len(failed)} of {len(seen)} requests failed, first: {failed[0]}"
    assert {s.build for s in seen} == set(expected)  # every answer names one of the builds, and both answered
    mixed = [s for s in seen if s.body != expected[str(s.build)][s.kind, s.asked]]
    assert mixed == [], f"{len(mixed)} of {len(seen)} answers differ from their build's"


def ready_build(url: str) -> str:
    build: str = httpx.get(f"{url}/readyz", timeout=30).json()["build"]
    return build


def test_the_watcher_swaps_in_a_rebuilt_index_under_load(workspace: tuple[Path, Path]) -> None:
    corpus, index = workspace
    expected: dict[str, Expected] = {}
    old, expected[old] = expected_answers(corpus, index)
    app = create_app(ServiceSettings(index, corpus, reload_interval=0.2))
    with serving(app) as url, Clients(url) as clients:
        wait_for(lambda: clients.answered_everything_from(old), "no answers from the first build")
        first_answerer = weakref.ref(app.state.live.current().answerer)
        edit_article(corpus)
        assert build_index(corpus, index).rebuilt
        new, expected[new] = expected_answers(corpus, index)
        assert new != old and expected[new]["ask", 1] != expected[old]["ask", 1]  # the edit shows
        wait_for(lambda: ready_build(url) == new, "the watcher did not serve the new build")
        wait_for(lambda: clients.answered_everything_from(new), "no answers from the new build")
        seen = clients.stop()
        gc.collect()
        assert first_answerer() is None, "the replaced build is still referenced"
        assert ready_build(url) == new
    check(seen, expected)


def test_the_reload_endpoint_swaps_in_a_rebuilt_index_under_load(workspace: tuple[Path, Path]) -> None:
    corpus, index = workspace
    expected: dict[str, Expected] = {}
    old, expected[old] = expected_answers(corpus, index)
    app = create_app(ServiceSettings(index, corpus, api_key=KEY, reload_interval=0))
    auth = {"Authorization": f"Bearer {KEY}"}
    with serving(app) as url, Clients(url, key=KEY) as clients:
        wait_for(lambda: clients.answered_everything_from(old), "no answers from the first build")
        edit_article(corpus)
        assert build_index(corpus, index).rebuilt
        new, expected[new] = expected_answers(corpus, index)
        assert ready_build(url) == old  # with the watcher off, only the endpoint reloads
        assert httpx.post(f"{url}/v1/admin/reload", timeout=60).status_code == 401
        reloaded = httpx.post(f"{url}/v1/admin/reload", headers=auth, timeout=60)
        assert reloaded.status_code == 200
        assert reloaded.json() == {"build": new, "previous": old, "changed": True}
        wait_for(lambda: clients.answered_everything_from(new), "no answers from the new build")
        seen = clients.stop()
        again = httpx.post(f"{url}/v1/admin/reload", headers=auth, timeout=60).json()
        assert again == {"build": new, "previous": new, "changed": False}
        assert ready_build(url) == new
    check(seen, expected)


def test_a_build_with_a_changed_byte_is_refused_and_the_old_one_keeps_serving(
    workspace: tuple[Path, Path],
) -> None:
    corpus, index = workspace
    build, expected = expected_answers(corpus, index)
    app = create_app(ServiceSettings(index, corpus, reload_interval=0))
    with serving(app) as url, Clients(url) as clients:
        wait_for(lambda: clients.answered_everything_from(build), "no answers from the build")
        shutil.copytree(index / "builds" / build, index / "builds" / "flipped")  # sizes and times kept
        documents = index / "builds" / "flipped" / "documents.bin"
        before = documents.stat()
        data = bytearray(documents.read_bytes())
        data[len(data) // 2] ^= 0x01
        documents.write_bytes(bytes(data))
        os.utime(documents, ns=(before.st_atime_ns, before.st_mtime_ns))
        (index / "CURRENT.tmp").write_text("flipped\n", encoding="utf-8")
        os.replace(index / "CURRENT.tmp", index / "CURRENT")
        refused = httpx.post(f"{url}/v1/admin/reload", timeout=60)
        assert refused.status_code == 503
        assert "documents.bin: corrupt" in refused.json()["detail"]
        assert refused.json()["detail"].endswith(f"still serving {build}")
        assert ready_build(url) == build
        seen = clients.stop()
    check(seen, {build: expected})


def test_a_build_that_cannot_load_leaves_the_old_one_serving(workspace: tuple[Path, Path]) -> None:
    corpus, index = workspace
    build, expected = expected_answers(corpus, index)
    app = create_app(ServiceSettings(index, corpus, reload_interval=0.1))
    with serving(app) as url, Clients(url) as clients:
        wait_for(lambda: clients.answered_everything_from(build), "no answers from the build")
        broken = index / "builds" / "broken"
        broken.mkdir()
        (broken / "manifest.json").write_text("{", encoding="utf-8")
        (index / "CURRENT.tmp").write_text("broken\n", encoding="utf-8")
        os.replace(index / "CURRENT.tmp", index / "CURRENT")  # as `followup index` publishes
        refused = httpx.post(f"{url}/v1/admin/reload", timeout=60)
        assert refused.status_code == 503
        detail = refused.json()["detail"]
        assert detail.startswith("build broken cannot be loaded (") and detail.endswith(f"still serving {build}")
        assert "manifest.json" in detail and "Traceback" not in refused.text
        time.sleep(0.5)  # the watcher tries it too, and must not swap either
        assert ready_build(url) == build
        seen = clients.stop()
    check(seen, {build: expected})
