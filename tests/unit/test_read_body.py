"""read_body against ASGI receives a socket test cannot pace exactly: a body without
Content-Length that never ends, a disconnect mid-body, one byte at a time until the deadline
(app/api/bodies.py; the live-socket cases are in tests/api/test_bodies.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

from starlette.responses import Response
from starlette.types import Message

from app.api.bodies import DRAIN_FACTOR, read_body

LIMIT = 1000
Receive = Callable[[], Awaitable[Message]]


def answer(receive: Receive, *, declared: str | None = None, seconds: float = 0.5) -> object:
    return asyncio.run(read_body(receive, declared=declared, limit=LIMIT, seconds=seconds))


def messages(*sent: Message, pause: float = 0.0) -> Receive:
    queue: Iterator[Message] = iter(sent)

    async def receive() -> Message:
        await asyncio.sleep(pause)
        return next(queue)

    return receive


def test_a_body_without_length_that_never_ends_is_refused_once_past_the_drain() -> None:
    calls = 0

    async def receive() -> Message:
        nonlocal calls
        calls += 1
        return {"type": "http.request", "body": b"x" * 100, "more_body": True}

    refused = answer(receive)
    assert isinstance(refused, Response)
    assert (refused.status_code, refused.headers.get("connection")) == (413, "close")
    assert calls * 100 <= DRAIN_FACTOR * LIMIT + 100  # read no further than the drain


def test_a_body_over_the_limit_but_within_the_drain_keeps_the_connection() -> None:
    big = {"type": "http.request", "body": b"x" * 900, "more_body": True}
    refused = answer(messages(big, {**big, "more_body": False}))
    assert isinstance(refused, Response)
    assert refused.status_code == 413
    assert "connection" not in refused.headers


def test_one_byte_at_a_time_is_cut_off_by_one_deadline_for_the_whole_body() -> None:
    async def receive() -> Message:
        await asyncio.sleep(0.05)  # each piece in time, the whole never
        return {"type": "http.request", "body": b"x", "more_body": True}

    started = time.monotonic()
    refused = answer(receive, seconds=0.5)
    assert isinstance(refused, Response)
    assert refused.status_code == 408
    assert time.monotonic() - started < 1.5


def test_a_client_gone_mid_body_is_answered_400() -> None:
    gone = messages(
        {"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}
    )
    refused = answer(gone)
    assert isinstance(refused, Response)
    assert refused.status_code == 400


def test_a_declared_length_past_the_drain_is_refused_unread() -> None:
    async def receive() -> Message:
        raise AssertionError("read")

    refused = answer(receive, declared=str(DRAIN_FACTOR * LIMIT + 1))
    assert isinstance(refused, Response)
    assert refused.status_code == 413


def test_pieces_that_wait_make_the_whole_body() -> None:
    pieces = messages(
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
        pause=0.01,
    )
    assert answer(pieces) == b"abcd"
