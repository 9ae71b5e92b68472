"""What a service is given: the index it serves and how. `followup serve` makes it from its flags and
the environment's settings (core/settings.py); tests make it directly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from followup.core.feedback import default_feedback_db


@dataclass(frozen=True)
class ServiceSettings:
    index_dir: Path
    corpus_dir: Path | None
    cors_origins: tuple[str, ...] = ()
    api_key: str | None = None  # when set, /v1/* needs "Authorization: Bearer <key>" or "X-API-Key: <key>"
    max_body_bytes: int = 64 * 1024  # far above any question with 20 turns of history
    # Seconds a client has to send a request's body (serve/middleware.py); its headers have as long
    # (serve/http_protocol.py, set where uvicorn is started).
    read_timeout: float = 10.0
    # Answers computed at once; None: one per core with the ONNX encoder (one thread each), one with
    # torch, which spreads each answer over every core. Measured on 2 cores, 8 clients: ONNX with 2
    # slots 184 answers/s, with 1 slot 150/s; torch with no limit 45/s, with 1 slot 59/s.
    inference_slots: int | None = None
    # Seconds between reads of index/CURRENT; a new build there is loaded and swapped in. 0: never.
    reload_interval: float = 2.0
    # Where POST /v1/feedback stores reports (core/feedback.py); None: <index_dir>/feedback.sqlite3.
    feedback_db: Path | None = None

    @property
    def feedback_file(self) -> Path:
        return self.feedback_db or default_feedback_db(self.index_dir)
