"""The live build (serve/live.py) with fake answerers: no model, no index files besides CURRENT."""

from __future__ import annotations

import gc
import logging
import threading
import time
import weakref
from pathlib import Path

import pytest

from followup.core.errors import IndexProblem
from followup.index.layout import current_build
from followup.serve.live import LiveIndex, Watcher


class FakeAnswerer:
    def __init__(self, build: str) -> None:
        self.build = build


def point(index_dir: Path, name: str) -> None:
    """What `followup index` leaves behind: builds/<name>/ and CURRENT naming it."""
    (index_dir / "builds" / name).mkdir(parents=True, exist_ok=True)
    (index_dir / "CURRENT").write_text(name + "\n", encoding="utf-8")


class Loader:
    """Loads what CURRENT names, as Answerer.load does; counts its calls; refuses the builds in `broken`."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.calls = 0
        self.broken: dict[str, Exception] = {}

    def __call__(self) -> FakeAnswerer:
        self.calls += 1
        name = current_build(self.index_dir).name
        if name in self.broken:
            raise self.broken[name]
        return FakeAnswerer(name)


@pytest.fixture
def loader(tmp_path: Path) -> Loader:
    point(tmp_path, "a")
    return Loader(tmp_path)


@pytest.fixture
def live(tmp_path: Path, loader: Loader) -> LiveIndex[FakeAnswerer]:
    index: LiveIndex[FakeAnswerer] = LiveIndex(tmp_path, loader)
    index.load()
    return index


def test_a_snapshot_keeps_its_build_and_answerer_across_a_swap(tmp_path: Path, live: LiveIndex[FakeAnswerer]) -> None:
    taken = live.current()
    assert taken is not None and (taken.build, taken.answerer.build) == ("a", "a")
    point(tmp_path, "b")
    outcome = live.reload()
    assert (outcome.build, outcome.previous, outcome.changed, outcome.problem) == ("b", "a", True, None)
    assert (taken.build, taken.answerer.build) == ("a", "a")  # a request in flight still answers from a
    now = live.current()
    assert now is not None and (now.build, now.answerer.build) == ("b", "b")


def test_reload_without_a_new_build_loads_nothing(live: LiveIndex[FakeAnswerer], loader: Loader) -> None:
    before = live.current()
    outcome = live.reload()
    assert (outcome.build, outcome.previous, outcome.changed) == ("a", "a", False)
    assert loader.calls == 1 and live.current() is before


@pytest.mark.parametrize(
    ("error", "reason"),
    [(IndexProblem("builds/b/manifest.json: unreadable manifest"), "unreadable manifest"),
     (MemoryError(), "MemoryError")],
)  # fmt: skip
def test_a_build_that_fails_to_load_leaves_the_old_one_serving(
    tmp_path: Path, live: LiveIndex[FakeAnswerer], loader: Loader, error: Exception, reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    serving = live.current()
    loader.broken["b"] = error
    point(tmp_path, "b")
    with caplog.at_level(logging.WARNING, logger="followup.serve.live"):
        outcome = live.reload()
        assert outcome.problem is not None and not outcome.changed and outcome.build == "a"
        assert outcome.problem.startswith("build b cannot be loaded") and reason in outcome.problem
        assert outcome.problem.endswith("still serving a")
        assert live.current() is serving
        # The watcher does not load a refused build again; a forced reload (the endpoint) does.
        assert live.reload(retry_refused=False).problem == outcome.problem and loader.calls == 2
        assert live.reload().problem == outcome.problem and loader.calls == 3
    assert len(caplog.records) == 1  # logged once, not at every check
    del loader.broken["b"]
    fixed = live.reload()
    assert fixed.changed and fixed.problem is None and fixed.build == "b"


def test_a_current_file_naming_no_build_is_reported(tmp_path: Path, live: LiveIndex[FakeAnswerer]) -> None:
    (tmp_path / "CURRENT").write_text("gone\n", encoding="utf-8")
    outcome = live.reload()
    assert outcome.problem is not None and "names a build that does not exist" in outcome.problem
    assert outcome.build == "a" and live.current() is not None


def test_load_raises_at_start_up(tmp_path: Path) -> None:
    empty: LiveIndex[FakeAnswerer] = LiveIndex(tmp_path / "none", lambda: FakeAnswerer("x"))
    with pytest.raises(IndexProblem, match="no index"):
        empty.load()
    assert empty.current() is None


def test_one_reload_at_a_time_and_requests_never_wait_for_one(tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()
    running, most = 0, 0
    guard = threading.Lock()

    def slow_load() -> FakeAnswerer:  # b loads as a big library does: for seconds
        nonlocal running, most
        name = current_build(tmp_path).name
        if name == "b":
            with guard:
                running += 1
                most = max(most, running)
            entered.set()
            release.wait(5)
            with guard:
                running -= 1
        return FakeAnswerer(name)

    point(tmp_path, "a")
    live = LiveIndex(tmp_path, slow_load)
    live.load()
    point(tmp_path, "b")
    outcomes = []
    threads = [threading.Thread(target=lambda: outcomes.append(live.reload())) for _ in range(3)]
    for thread in threads:
        thread.start()
    assert entered.wait(5)
    started = time.perf_counter()
    snapshot = live.current()
    assert snapshot is not None and snapshot.build == "a"  # served while b loads, without waiting
    assert time.perf_counter() - started < 0.1
    release.set()
    for thread in threads:
        thread.join(5)
    assert most == 1
    assert sorted((o.build, o.changed) for o in outcomes) == [("b", False), ("b", False), ("b", True)]


def test_a_build_published_during_a_load_is_loaded_instead(tmp_path: Path) -> None:
    loads: list[str] = []

    def racing_load() -> FakeAnswerer:
        name = current_build(tmp_path).name
        loads.append(name)
        if name == "b":  # c is published after the loader resolved CURRENT
            point(tmp_path, "c")
        return FakeAnswerer(name)

    point(tmp_path, "a")
    live = LiveIndex(tmp_path, racing_load)
    live.load()
    point(tmp_path, "b")
    outcome = live.reload()
    snapshot = live.current()
    assert loads == ["a", "b", "c"] and outcome.build == "c"
    assert snapshot is not None and snapshot.build == snapshot.answerer.build == "c"


def test_the_old_answerer_is_freed_when_its_last_request_ends(tmp_path: Path, live: LiveIndex[FakeAnswerer]) -> None:
    in_flight = live.current()
    assert in_flight is not None
    old = weakref.ref(in_flight.answerer)
    point(tmp_path, "b")
    assert live.reload().changed
    gc.collect()
    assert old() is not None  # a request still answers from it
    del in_flight
    gc.collect()
    assert old() is None


def watcher_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "followup-reload"}


def test_the_watcher_reloads_a_new_build_and_stops(tmp_path: Path, live: LiveIndex[FakeAnswerer]) -> None:
    others = watcher_threads()  # of services other tests left running
    watcher = Watcher(live, 0.01)
    watcher.start()
    assert len(watcher_threads() - others) == 1
    try:
        point(tmp_path, "b")
        deadline = time.monotonic() + 5
        while (snapshot := live.current()) is None or snapshot.build != "b":
            assert time.monotonic() < deadline, "the watcher did not reload"
            time.sleep(0.01)
    finally:
        watcher.stop()
    assert watcher_threads() - others == set()


def test_the_watcher_tries_a_broken_build_once(tmp_path: Path, live: LiveIndex[FakeAnswerer], loader: Loader) -> None:
    loader.broken["b"] = IndexProblem("corrupt")
    point(tmp_path, "b")
    watcher = Watcher(live, 0.01)
    watcher.start()
    time.sleep(0.3)
    watcher.stop()
    snapshot = live.current()
    assert loader.calls == 2 and snapshot is not None and snapshot.build == "a"


def test_a_watcher_never_started_stops() -> None:
    Watcher(LiveIndex(Path("none"), lambda: None), 1.0).stop()
