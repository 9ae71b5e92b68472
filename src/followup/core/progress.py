"""Progress lines on stderr for long work: count, total, rate, at most twice a second."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressLine:
    def __init__(self, label: str, stream: TextIO | None = None, min_interval: float = 0.5) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self.started = time.perf_counter()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self._last < self.min_interval:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        end = "\n" if done >= total else "\r" if self.stream.isatty() else "\n"
        rate = done / elapsed
        eta = f", {(total - done) / rate:.0f} s to go" if done < total and rate > 0 else ""
        self.stream.write(f"{self.label}: {done}/{total} ({rate:.1f}/s, {elapsed:.1f} s{eta}){end}")
        self.stream.flush()
