"""Which backend a build is written to and read from: chosen at `followup index`, recorded in the
build's manifest (`search_backend`), read back by `ask`, `serve` and `eval`."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from followup.core.errors import IndexProblem

BACKENDS = ("embedded", "milvus")
MILVUS_ENGINES = ("server", "lite")


@dataclass(frozen=True)
class BackendChoice:
    kind: str = "embedded"
    milvus_uri: str = ""  # http://host:port of a Milvus server or a milvus-lite engine
    milvus_engine: str = "server"  # "lite": milvus-lite 2.5.1's limits (index/backends/milvus.py)

    def __post_init__(self) -> None:
        if self.kind not in BACKENDS:
            raise IndexProblem(f"unknown index backend {self.kind!r}; use one of {', '.join(BACKENDS)}")
        if self.kind == "milvus" and not self.milvus_uri:
            raise IndexProblem("the milvus backend needs --milvus-uri URI (or $FOLLOWUP_MILVUS_URI)")
        if self.milvus_engine not in MILVUS_ENGINES:
            raise IndexProblem(f"unknown Milvus engine {self.milvus_engine!r}; use one of {', '.join(MILVUS_ENGINES)}")

    @classmethod
    def from_options(
        cls, kind: str | None, uri: str | None, engine: str | None, index_dir: Path | None = None
    ) -> BackendChoice:
        """Command-line options first, then $FOLLOWUP_BACKEND, $FOLLOWUP_MILVUS_URI, $FOLLOWUP_MILVUS_ENGINE,
        then what the index's current build was written to: a plain `followup index` or `serve` keeps
        an index on the backend it is on."""
        recorded = recorded_backend(index_dir) if index_dir is not None else {}
        kind = kind or os.environ.get("FOLLOWUP_BACKEND") or recorded.get("kind") or "embedded"
        same = recorded.get("kind") == kind
        return cls(
            kind,
            uri or os.environ.get("FOLLOWUP_MILVUS_URI") or (recorded.get("uri", "") if same else ""),
            engine
            or os.environ.get("FOLLOWUP_MILVUS_ENGINE")
            or (recorded.get("engine") if same else None)
            or "server",
        )

    def matches(self, recorded: dict[str, Any]) -> bool:
        """Whether a build recorded as `recorded` (its manifest's search_backend) was written here."""
        if recorded.get("kind", "embedded") != self.kind:
            return False
        return self.kind == "embedded" or recorded.get("uri") == self.milvus_uri


def collection_prefix(index_dir: Path) -> str:
    """The names of one index directory's collections and alias: several indexes may share a server."""
    return f"followup_{hashlib.sha256(str(index_dir.resolve()).encode()).hexdigest()[:10]}"


def recorded_backend(index_dir: Path) -> dict[str, Any]:
    """The current build's `search_backend` ({} when there is no readable build)."""
    from followup.index.layout import current_build, read_manifest

    try:
        recorded = read_manifest(current_build(index_dir), verify_files=False).get("search_backend", {})
    except IndexProblem:
        return {}
    return recorded if isinstance(recorded, dict) else {}
