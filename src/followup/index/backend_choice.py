"""Which backend a build is written to and read from: chosen at `followup index`, recorded in the
build's manifest (`search_backend`), read back by `ask`, `serve` and `eval`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from followup.core.errors import IndexProblem
from followup.core.settings import BACKENDS, MILVUS_ENGINES, BackendKind, MilvusEngine, Settings

__all__ = ["BACKENDS", "MILVUS_ENGINES", "BackendChoice", "collection_prefix", "is_lite_file", "recorded_backend"]


@dataclass(frozen=True)
class BackendChoice:
    """Checked when made: a name from the command line or the environment may be any string."""

    kind: BackendKind = "embedded"
    # http://host:port of a Milvus server or a milvus-lite engine, or the path of a Milvus Lite file
    # (pymilvus starts Milvus Lite on it, as Milvus documents: MilvusClient("./milvus.db"))
    milvus_uri: str = ""
    milvus_engine: MilvusEngine = "server"  # "lite": milvus-lite 2.5.1's limits (index/milvus.py)

    def __post_init__(self) -> None:
        if self.kind not in BACKENDS:
            raise IndexProblem(f"unknown index backend {self.kind!r}; use one of {', '.join(BACKENDS)}")
        if self.kind == "milvus" and not self.milvus_uri:
            raise IndexProblem("the milvus backend needs --milvus-uri URI (or $FOLLOWUP_MILVUS_URI)")
        if self.milvus_engine not in MILVUS_ENGINES:
            raise IndexProblem(f"unknown Milvus engine {self.milvus_engine!r}; use one of {', '.join(MILVUS_ENGINES)}")
        if is_lite_file(self.milvus_uri) and self.milvus_engine != "lite":
            raise IndexProblem(f"{self.milvus_uri} is a Milvus Lite file, not a server: leave out --milvus-engine "
                               "or give --milvus-engine lite")  # fmt: skip

    @classmethod
    def from_options(
        cls,
        kind: str | None,
        uri: str | None,
        engine: str | None,
        index_dir: Path | None = None,
        settings: Settings | None = None,
    ) -> BackendChoice:
        """Command-line options first, then $FOLLOWUP_BACKEND, $FOLLOWUP_MILVUS_URI, $FOLLOWUP_MILVUS_ENGINE
        (`settings`, by default read from the environment now), then what the index's current build was
        written to: a plain `followup index` or `serve` keeps an index on the backend it is on."""
        settings = settings or Settings.from_environment()
        recorded = recorded_backend(index_dir) if index_dir is not None else {}
        kind = kind or settings.backend or recorded.get("kind") or "embedded"
        same = recorded.get("kind") == kind
        given = uri or settings.milvus_uri or ""
        # A file is Milvus Lite, and is recorded by its absolute path: `ask` may run from elsewhere.
        lite_file = is_lite_file(given)
        uri = (str(Path(given).resolve()) if lite_file else given) or (recorded.get("uri", "") if same else "")
        lite = "lite" if lite_file else None
        engine = engine or settings.milvus_engine or lite or (recorded.get("engine") if same else None) or "server"
        return cls(cast(BackendKind, kind), uri, cast(MilvusEngine, engine))  # the names are checked by __post_init__

    def matches(self, recorded: Mapping[str, Any]) -> bool:
        """Whether a build recorded as `recorded` (its manifest's search_backend) was written here."""
        if recorded.get("kind", "embedded") != self.kind:
            return False
        return self.kind == "embedded" or recorded.get("uri") == self.milvus_uri


def is_lite_file(uri: str) -> bool:
    """A URI without a scheme is a file path: Milvus Lite (pymilvus starts it on that file)."""
    return bool(uri) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", uri) is None


def collection_prefix(index_dir: Path) -> str:
    """The names of one index directory's collections and alias: several indexes may share a server."""
    return f"followup_{hashlib.sha256(str(index_dir.resolve()).encode()).hexdigest()[:10]}"


def recorded_backend(index_dir: Path) -> Mapping[str, Any]:
    """The current build's `search_backend` ({} when there is no readable build)."""
    from followup.index.layout import current_build, read_manifest

    try:
        recorded = read_manifest(current_build(index_dir), verify_files=False).search_backend
    except IndexProblem:
        return {}
    return recorded if isinstance(recorded, dict) else {}
