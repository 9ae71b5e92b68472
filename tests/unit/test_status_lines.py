"""core/status_lines: a build's and an evaluation's status lines on stderr, as they were printed."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from followup.core.status_lines import STATUS_LOGGERS, show_status_lines


@pytest.fixture
def restored() -> Iterator[None]:
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate)
             for n in STATUS_LOGGERS}  # fmt: skip
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.mark.usefixtures("restored")
def test_status_lines_are_bare_lines_on_stderr_once(capsys: pytest.CaptureFixture[str]) -> None:
    show_status_lines()
    show_status_lines()  # a second call (main() run twice in one process) adds no second handler
    logging.getLogger("followup.index.build").info("%d chunk texts to embed, %d from the last build", 3, 46)
    logging.getLogger("followup.evaluate.token_cache").warning("followup: ignoring the token cache x (y)")
    logging.getLogger("followup.index.build").debug("not shown")
    captured = capsys.readouterr()
    assert captured.err == "3 chunk texts to embed, 46 from the last build\nfollowup: ignoring the token cache x (y)\n"
    assert captured.out == ""
