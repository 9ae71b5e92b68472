"""The live build: which index answers, swapped whole when `index/CURRENT` names another build.

A request takes one snapshot (build name and answerer) at its start and uses only that, so no answer
mixes two builds: requests in flight finish on the old build, new ones get the new one. The snapshot
is the service's only reference to an answerer, so an old build's memory goes with its last request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from followup.core.errors import FollowupError, IndexProblem
from followup.index.layout import CURRENT, current_build

log = logging.getLogger("followup.serve.live")
A = TypeVar("A")
LOAD_ATTEMPTS = 3  # loads in a row during which CURRENT may move before a reload gives up


@dataclass(frozen=True)
class Snapshot(Generic[A]):
    build: str  # the build's directory name under index/builds/
    answerer: A


@dataclass(frozen=True)
class ReloadOutcome:
    build: str | None  # serving after the reload
    previous: str | None  # serving before it
    problem: str | None = None  # why the build CURRENT names is not served; `build` still is

    @property
    def changed(self) -> bool:
        return self.build != self.previous


class LiveIndex(Generic[A]):
    """`load` loads the build CURRENT names, as `Answerer.load` does."""

    def __init__(self, index_dir: Path, load: Callable[[], A]) -> None:
        self.index_dir = index_dir
        self._load = load
        self._snapshot: Snapshot[A] | None = None
        self._reloading = threading.Lock()  # one reload at a time; requests never take it
        self._refused: tuple[str | None, str] | None = None  # (build, problem) of the last failed reload

    def current(self) -> Snapshot[A] | None:
        """What answers now: one attribute read, so a request never sees half a swap."""
        return self._snapshot

    def install(self, build: str, answerer: A) -> None:
        """Serve an answerer the caller loaded from `build` (tests share one loaded model)."""
        with self._reloading:
            self._snapshot = Snapshot(build, answerer)

    def load(self) -> None:
        """Load and serve the build CURRENT names; its errors propagate (at start-up: a one-line error)."""
        with self._reloading:
            self._snapshot = self._load_settled(current_build(self.index_dir).name)

    def reload(self, retry_refused: bool = True) -> ReloadOutcome:
        """Serve the build CURRENT names when it is another than the one serving. When it cannot be
        loaded, the build serving keeps serving and the problem is logged (once) and returned.
        `retry_refused=False` (the watcher): a build that failed is not tried again until CURRENT
        names another one."""
        with self._reloading:
            previous = self._snapshot.build if self._snapshot else None
            name: str | None = None
            try:
                name = current_build(self.index_dir).name
                if name == previous:
                    self._refused = None
                    return ReloadOutcome(previous, previous)
                if not retry_refused and self._refused is not None and self._refused[0] == name:
                    return ReloadOutcome(previous, previous, self._refused[1])
                fresh = self._load_settled(name)
            except Exception as e:  # whatever breaks a load, the build serving keeps serving
                problem = _describe(e, name, previous)
                if self._refused != (name, problem):
                    log.warning("%s", problem, exc_info=not isinstance(e, FollowupError))
                self._refused = (name, problem)
                return ReloadOutcome(previous, previous, problem)
            self._snapshot, self._refused = fresh, None
            log.info("serving build %s (was %s)", fresh.build, previous)
            return ReloadOutcome(fresh.build, previous)

    def _load_settled(self, name: str) -> Snapshot[A]:
        """The loader resolves CURRENT itself: if a build is published while it loads, what it loaded
        may be either build, so CURRENT is read again after the load and a change means load again."""
        for _ in range(LOAD_ATTEMPTS):
            answerer = self._load()
            after = current_build(self.index_dir).name
            if after == name:
                return Snapshot(name, answerer)
            name = after
        raise IndexProblem(f"{self.index_dir / CURRENT} changed during each of {LOAD_ATTEMPTS} loads in a row")


def _describe(error: Exception, build: str | None, previous: str | None) -> str:
    # A FollowupError's message is written for users; anything else is named by its type too.
    reason = str(error) if isinstance(error, FollowupError) else f"{type(error).__name__}: {error}"
    what = f"build {build} cannot be loaded" if build else "CURRENT cannot be read"
    return f"{what} ({reason}); still serving {previous or 'nothing'}"


class Watcher:
    """Reloads `live` whenever CURRENT names another build, read every `interval` seconds (a one-line
    file: cheap) in a thread of its own, so a load never runs on a request's path."""

    def __init__(self, live: LiveIndex[Any], interval: float) -> None:
        self._live, self._interval = live, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="followup-reload", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Returns once the thread has ended, after the reload in progress if there is one."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._live.reload(retry_refused=False)
