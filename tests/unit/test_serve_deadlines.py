"""A client that sends a request slowly, a byte at a time, is cut off: its headers by the HTTP
protocol's deadline (a real uvicorn server on loopback), its body by the body-size middleware's."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import Message, Receive, Scope, Send

from followup.serve.http_protocol import header_deadline_protocol
from followup.serve.middleware import BodySizeLimit


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def server(http: type[asyncio.Protocol] | str) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(hello, host="127.0.0.1", port=port, http=http, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    try:
        yield port
    finally:
        running.should_exit = True
        thread.join(timeout=10)


def trickle_until_closed(port: int, seconds: float) -> float | None:
    """Send a request's headers a byte every 50 ms, never finishing them; the time the server closed
    the connection, or None if it was still open after `seconds`."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.settimeout(0.05)
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000:
            if time.monotonic() - started > seconds:
                return None
            try:
                connection.sendall(bytes([byte]))
                if connection.recv(1) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                continue
            except OSError:  # reset: closed
                return time.monotonic() - started
    return None


def test_headers_sent_a_byte_at_a_time_are_cut_off_at_the_deadline() -> None:
    with server(header_deadline_protocol(0.5)) as port:
        closed_after = trickle_until_closed(port, seconds=5)
        assert closed_after is not None and 0.4 < closed_after < 2.5
        with socket.create_connection(("127.0.0.1", port)) as connection:  # a whole request is answered
            connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert connection.recv(1024).startswith(b"HTTP/1.1 200")


def test_without_the_deadline_uvicorn_keeps_a_trickling_connection_open() -> None:
    with server("h11") as port:
        assert trickle_until_closed(port, seconds=1.5) is None  # what the deadline is for


def test_a_body_sent_a_byte_at_a_time_gets_408() -> None:
    sent: list[Message] = []
    reached_app = False

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal reached_app
        reached_app = True

    async def slow_receive() -> Message:
        await asyncio.sleep(0.1)
        return {"type": "http.request", "body": b"x", "more_body": True}

    async def record(message: Message) -> None:
        sent.append(message)

    limit = BodySizeLimit(app, limit=64 * 1024, read_timeout=0.3)
    scope = {"type": "http", "method": "POST", "path": "/v1/ask", "headers": []}
    asyncio.run(limit(scope, slow_receive, record))
    assert not reached_app
    assert sent[0]["status"] == 408 and b"not received within 0.3 s" in sent[1]["body"]
