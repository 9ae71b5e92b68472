"""The HTTP connection as uvicorn's h11 protocol handles it, with a deadline for a request's headers.

uvicorn times out only an idle connection between requests (`timeout_keep_alive`), and every byte
received resets that timer, so a client sending its headers a byte at a time (slowloris) holds a
connection for as long as it likes; 200 such clients hold 200. Here a connection that has not sent a
whole request line and headers within `header_timeout` seconds of opening, or of its last response,
is closed. The body is the app's to read: serve/middleware.BodySizeLimit gives it a deadline too."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("followup.serve.app")
HEADER_TIMEOUT = 10.0  # seconds; a browser or an HTTP library sends its headers in one packet


class HeaderDeadlineProtocol(H11Protocol):
    header_timeout = HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's headers are due in their turn

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        """Close the connection unless a request is being answered (its headers came in time)."""
        self._deadline = None
        answering = self.cycle is not None and not self.cycle.response_complete
        if not answering and not self.transport.is_closing():
            log.info("closed a connection that sent no complete request headers within %.0f s", self.header_timeout)
            self.transport.close()


def header_deadline_protocol(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class with its deadline, for uvicorn's `http` setting."""
    return type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout": seconds})
