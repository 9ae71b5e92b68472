"""A milvus-lite 2.5.1 engine as a server process, for tests and local use.

milvus-lite's wheel ships a standalone server (`milvus_lite/lib/milvus`, with its shared libraries beside
it). pymilvus's `MilvusClient("file.db")` starts it as `milvus <db file> unix:<socket> <log level> <lock
file>`; given a `host:port` instead of the socket it serves gRPC on that address, which pymilvus reaches
as `http://host:port` like any Milvus server. This module runs it that way: its own data directory, a free
loopback port, waits until it answers and stops it (its process group) at the end.

In TCP mode the engine is not given a lock file, so nothing stops a second engine from opening the same
database: `MilvusLiteEngine` holds its own lock on the data directory while the engine runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from followup.core.errors import FollowupError

DB_FILE = "milvus.db"  # milvus-lite wants a plain name (letters, digits, . - _), at most 36 characters
LOG_FILE = "engine.log"
LOCK_FILE = ".engine.lock"
HOST = "127.0.0.1"


class EngineError(FollowupError):
    """The engine could not be found, started or stopped."""


@dataclass(frozen=True)
class RunningEngine:
    uri: str  # http://127.0.0.1:PORT, for pymilvus
    port: int
    data_dir: Path
    pid: int


def engine_binary() -> Path:
    """The server binary inside the installed milvus-lite wheel, found without importing the package
    (its __init__ imports pkg_resources, which setuptools 81 removed)."""
    spec = importlib.util.find_spec("milvus_lite")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError("milvus-lite is not installed; install followup with the 'milvus' extra")
    binary = Path(next(iter(spec.submodule_search_locations))) / "lib" / "milvus"
    if not binary.is_file():
        raise EngineError(f"{binary}: milvus-lite's server binary is missing")
    return binary


def free_port(host: str = HOST) -> int:
    """A port free on `host` now (the engine binds it a moment later; another process could take it in
    between, which start() then reports)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _answers(port: int, timeout: float) -> bool:
    """True once the engine serves gRPC: a Milvus call succeeds (an open port alone is not enough)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            pass
    except OSError:
        return False
    from pymilvus import MilvusClient  # type: ignore[import-untyped, import-not-found, unused-ignore]  # lazy

    try:
        client = MilvusClient(uri=f"http://{HOST}:{port}", timeout=timeout, dedicated=True)
        try:
            client.list_collections(timeout=timeout)
        finally:
            client.close()
    except Exception:  # any failure here means "not ready yet"; start() reports the timeout
        return False
    return True


class MilvusLiteEngine:
    """A milvus-lite engine serving `data_dir` on 127.0.0.1:`port` (a free one if None), as a context
    manager: `with MilvusLiteEngine(tmp) as engine: MilvusBackend(engine.uri)`."""

    def __init__(
        self, data_dir: Path, port: int | None = None, log_level: str = "ERROR", ready_timeout: float = 30.0
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self._port = port
        self._log_level = log_level
        self._ready_timeout = ready_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None
        self._log: IO[bytes] | None = None
        self.running: RunningEngine | None = None

    def start(self) -> RunningEngine:
        if self.running is not None:
            return self.running
        binary = engine_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        port = self._port or free_port()
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = f"{binary.parent}:{env.get('LD_LIBRARY_PATH', '')}"  # its bundled libraries
        self._log = (self.data_dir / LOG_FILE).open("ab")
        # A session of its own, so stop() can signal the whole group (the engine and anything it spawns).
        self._process = subprocess.Popen(
            [str(binary), str(self.data_dir / DB_FILE), f"{HOST}:{port}", self._log_level],
            cwd=self.data_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self._ready_timeout
        while not _answers(port, timeout=1.0):
            if self._process.poll() is not None or time.monotonic() > deadline:
                code = self._process.poll()
                self.stop()
                why = f"exited with code {code}" if code is not None else f"did not answer in {self._ready_timeout:g} s"
                raise EngineError(
                    f"milvus-lite on {HOST}:{port} {why}; see {self.data_dir / LOG_FILE} (is the port in use?)"
                )
            time.sleep(0.1)
        self.running = RunningEngine(f"http://{HOST}:{port}", port, self.data_dir, self._process.pid)
        self._port = port  # a restart serves the same address
        return self.running

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the engine's process group, SIGKILL after `timeout` seconds; idempotent."""
        process, self._process, self.running = self._process, None, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        if process is not None:  # the leader is gone; make sure nothing of its group lingers
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        for handle in (self._log, self._lock):
            if handle is not None:
                handle.close()  # closing the lock file releases the lock
        self._log = self._lock = None

    def _take_lock(self) -> None:
        lock = (self.data_dir / LOCK_FILE).open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise EngineError(f"{self.data_dir}: another milvus-lite engine serves this directory") from None
        self._lock = lock

    def __enter__(self) -> RunningEngine:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
