"""Live reload through the HTTP service, with fake answerers: no model, no index files besides CURRENT."""

from __future__ import annotations

import gc
import json
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from followup.answerer import Answerer
from followup.core.errors import IndexProblem
from followup.core.types import AskRequest
from followup.index.layout import Manifest, current_build
from followup.present.contract import Answer
from followup.serve.app import BUILD_HEADER, ServiceSettings, create_app
from followup.serve.live import LiveIndex

ASK = {"question": "What dose of baclofen?"}
CHAT = {"messages": [{"role": "user", "content": "What dose of baclofen?"}]}


class FakeAnswerer:
    """Answers with the name of its build, so a response shows where it came from."""

    def __init__(self, build: str) -> None:
        self.build = build
        self.index = SimpleNamespace(manifest=Manifest.from_raw({"corpus_hash": build * 12}), articles={})
        self.encoder = object()

    def answer(self, request: AskRequest) -> Answer:
        if request.question == "fail":
            raise RuntimeError("a bug")
        return Answer(request.question, f"from {self.build}", None, False, (), ())


def point(index_dir: Path, name: str) -> None:
    (index_dir / "builds" / name).mkdir(parents=True, exist_ok=True)
    (index_dir / "CURRENT").write_text(name + "\n", encoding="utf-8")


@pytest.fixture
def broken() -> set[str]:
    return set()


def serve(tmp_path: Path, broken: set[str], **settings: Any) -> TestClient:
    def load() -> FakeAnswerer:
        name = current_build(tmp_path).name
        if name in broken:
            raise IndexProblem(f"builds/{name}/manifest.json: unreadable manifest")
        return FakeAnswerer(name)

    point(tmp_path, "a")
    live = cast(LiveIndex[Answerer], LiveIndex(tmp_path, load))
    app = create_app(ServiceSettings(tmp_path, None, **{"reload_interval": 0, **settings}), live=live)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(tmp_path: Path, broken: set[str]) -> Iterator[TestClient]:
    with serve(tmp_path, broken) as test_client:
        yield test_client


def test_every_answer_names_its_build(tmp_path: Path, client: TestClient) -> None:
    ask = client.post("/v1/ask", json=ASK)
    assert ask.headers[BUILD_HEADER] == "a" and ask.json()["query"] == "from a"
    chat = client.post("/v1/chat/completions", json=CHAT)
    assert chat.headers[BUILD_HEADER] == "a" and chat.json()["followup"]["query"] == "from a"
    with client.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as stream:
        assert stream.headers[BUILD_HEADER] == "a" and "[DONE]" in stream.read().decode()
    ready = client.get("/readyz")
    assert ready.json()["build"] == "a" and ready.headers[BUILD_HEADER] == "a"


def test_the_reload_endpoint_swaps_in_a_new_build(tmp_path: Path, client: TestClient) -> None:
    assert client.post("/v1/admin/reload").json() == {"build": "a", "previous": "a", "changed": False}
    point(tmp_path, "b")
    assert client.get("/readyz").json()["build"] == "a"  # the watcher is off: nothing moved by itself
    assert client.post("/v1/admin/reload").json() == {"build": "b", "previous": "a", "changed": True}
    ask = client.post("/v1/ask", json=ASK)
    assert ask.headers[BUILD_HEADER] == "b" and ask.json()["query"] == "from b"


def test_a_build_that_cannot_load_is_a_503_and_the_old_one_serves(
    tmp_path: Path, client: TestClient, broken: set[str]
) -> None:
    broken.add("b")
    point(tmp_path, "b")
    refused = client.post("/v1/admin/reload")
    assert refused.status_code == 503
    assert refused.json() == {
        "detail": "build b cannot be loaded (builds/b/manifest.json: unreadable manifest); still serving a"
    }
    assert "Traceback" not in refused.text
    assert client.post("/v1/ask", json=ASK).headers[BUILD_HEADER] == "a"
    assert client.get("/readyz").json()["build"] == "a"


def test_the_reload_endpoint_needs_the_key(tmp_path: Path, broken: set[str]) -> None:
    with serve(tmp_path, broken, api_key="s3cret") as guarded:
        assert guarded.post("/v1/admin/reload").status_code == 401
        assert guarded.post("/v1/admin/reload", headers={"Authorization": "Bearer s3cret"}).status_code == 200


@pytest.mark.parametrize("question", ["What dose of baclofen?", "fail"])
def test_a_swapped_out_answerer_is_freed_after_its_last_request(
    tmp_path: Path, client: TestClient, question: str
) -> None:
    # The request runs in a worker thread, which stays idle afterwards; "fail" ends in a 500 whose
    # traceback holds the answerer's frames.
    assert client.post("/v1/ask", json={"question": question}).status_code in (200, 500)
    live = client.app.state.live  # type: ignore[attr-defined]
    old = weakref.ref(live.current().answerer)
    point(tmp_path, "b")
    # Directly: through the endpoint, the reload's own thread job would replace what the idle worker held.
    assert live.reload().changed
    gc.collect()
    assert old() is None


def watcher_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "followup-reload"}


def test_the_watcher_runs_while_serving_and_stops_with_the_app(tmp_path: Path, broken: set[str]) -> None:
    others = watcher_threads()  # of services other tests left running
    with serve(tmp_path, broken, reload_interval=0.02) as watched:
        assert len(watcher_threads() - others) == 1
        point(tmp_path, "b")
        deadline = time.monotonic() + 5
        while watched.get("/readyz").json()["build"] != "b":
            assert time.monotonic() < deadline, "the watcher did not reload"
            time.sleep(0.02)
    assert watcher_threads() - others == set()


def test_the_openapi_document_describes_reload_and_the_build_header(tmp_path: Path, client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    reload = document["paths"]["/v1/admin/reload"]["post"]
    assert set(reload["responses"]) >= {"200", "503"}
    assert BUILD_HEADER in document["paths"]["/v1/ask"]["post"]["responses"]["200"]["headers"]
    assert "build" in document["components"]["schemas"]["Ready"]["required"]
    assert json.dumps(document)  # serialisable as served
