"""The status lines of a build and an evaluation (what is indexed, embedded, exported, written) are
logged at INFO by the loggers of `index`, `embed` and `evaluate`; a command line shows them on stderr
as bare lines (`show_status_lines`), as they were printed before. Progress lines stay
core/progress.py's, and `followup serve`'s own logs (followup.serve.*) keep the root logger's format."""

from __future__ import annotations

import logging
import sys

STATUS_LOGGERS = ("followup.index", "followup.embed", "followup.evaluate")


class _StderrLines(logging.StreamHandler):  # type: ignore[type-arg]  # StreamHandler's stream type
    """Each record's message alone on sys.stderr as it is when the line is written (a test's capture, a
    redirect made after setup)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def show_status_lines() -> None:
    """Status lines (INFO and above) on stderr, bare, not passed on to the root logger; calling it again
    adds nothing."""
    for name in STATUS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, _StderrLines) for h in logger.handlers):
            logger.addHandler(_StderrLines())
        logger.setLevel(logging.INFO)
        logger.propagate = False
