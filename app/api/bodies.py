"""A request body read within a size and a time bound, and parsed as a GraphQL request.

Past the size limit the rest of the body is still read, and dropped, up to DRAIN_FACTOR times the
limit: a client that sends the whole body before reading (Python's urllib and requests do) then
reads the 413 instead of finding the connection reset. Beyond that, or when the body takes longer
than its time bound, the answer comes at once and the connection closes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Generator
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive

DRAIN_FACTOR = 4


def error_response(status: int, code: str, message: str, *, close: bool = False) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if close:
        headers["Connection"] = "close"
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


async def read_body(
    receive: Receive, *, declared: str | None, limit: int, seconds: float
) -> bytes | Response:
    """The whole body (`declared`: its Content-Length, if any), or the 4xx that answers it."""
    drain = DRAIN_FACTOR * limit
    if declared is not None and declared.isdigit() and int(declared) > drain:
        return _too_large(limit, close=True)
    deadline = asyncio.get_running_loop().time() + seconds
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            message = await _received(receive, deadline)
            if message["type"] == "http.disconnect":
                return error_response(400, "BAD_REQUEST", "The client went away.", close=True)
            if message["type"] != "http.request":
                continue
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > drain:
                return _too_large(limit, close=True)
            if size <= limit:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
    except TimeoutError:
        return error_response(
            408,
            "REQUEST_TIMEOUT",
            f"The request body did not arrive within {seconds:g} s.",
            close=True,
        )
    if size > limit:
        return _too_large(limit)
    return b"".join(chunks)


async def _received(receive: Receive, deadline: float) -> Message:
    """The next message, by `deadline` (event loop time). A message the server holds already
    (a small body came with its headers) is taken without arming a timer, which would cost
    about as much as the rest of reading the body."""
    steps = receive().__await__()
    try:
        waiting_for = steps.send(None)
    except StopIteration as done:
        message: Message = done.value
        return message
    async with asyncio.timeout_at(deadline):
        return await _Rest(steps, waiting_for)


class _Rest:
    """An awaitable's remaining steps, once its first step yielded `waiting_for` to the event
    loop: what `await` does (PEP 380's `yield from`) after its first step."""

    def __init__(self, steps: Generator[Any, Any, Message], waiting_for: object) -> None:
        self._steps = steps
        self._waiting_for = waiting_for

    def __await__(self) -> Generator[Any, Any, Message]:
        steps, waiting_for = self._steps, self._waiting_for
        while True:
            try:
                sent = yield waiting_for
            except GeneratorExit:
                steps.close()
                raise
            except BaseException as exc:  # the loop's CancelledError (a timeout) goes in too
                try:
                    waiting_for = steps.throw(exc)
                except StopIteration as done:
                    return cast("Message", done.value)
            else:
                try:
                    waiting_for = steps.send(sent)
                except StopIteration as done:
                    return cast("Message", done.value)


def _too_large(limit: int, *, close: bool = False) -> Response:
    return error_response(
        413, "BODY_TOO_LARGE", f"A request body has at most {limit} bytes.", close=close
    )


def parse_graphql_body(request: Request, body: bytes) -> object:
    """A POST's JSON body (None for a GET), or a 4xx Response for a body (or a GET's query
    string) that is not a GraphQL request (Strawberry would 500 on some)."""
    if request.method != "POST":
        return _query_string_problem(request)
    if media_type(request) != "application/json":
        return error_response(
            415, "UNSUPPORTED_MEDIA_TYPE", "POST a JSON body with Content-Type: application/json."
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return error_response(400, "BAD_REQUEST", "The body is not valid JSON.")
    except RecursionError:
        return error_response(400, "BAD_REQUEST", "The body's JSON is nested too deeply.")
    operations = data if isinstance(data, list) else [data]
    if not operations or not all(isinstance(op, dict) for op in operations):
        return error_response(
            400,
            "BAD_REQUEST",
            'The body is a JSON object {"query", "variables", "operationName"} '
            "(or a list of them).",
        )
    for operation in operations:
        if problem := shape_problem(operation):
            return error_response(400, "BAD_REQUEST", problem)
    return data


def _query_string_problem(request: Request) -> Response | None:
    params = request.query_params
    if "query" not in params:
        return None  # Strawberry answers that (GraphiQL is served before this)
    operation: dict[str, object] = {
        "query": params["query"],
        "operationName": params.get("operationName"),
    }
    for name in ("variables", "extensions"):
        if name in params:
            try:
                operation[name] = json.loads(params[name])
            except (ValueError, RecursionError):
                return error_response(400, "BAD_REQUEST", f"{name} is not readable JSON.")
    if problem := shape_problem(operation):
        return error_response(400, "BAD_REQUEST", problem)
    return None


def shape_problem(operation: dict[str, object]) -> str | None:
    """What Strawberry would refuse in plain text (or fail on) in one operation's
    {"query", "variables", "operationName"} (a POST body's, or a WebSocket message's payload)."""
    if not isinstance(operation.get("query"), str):
        return "query is a string holding a GraphQL document."
    if not isinstance(operation.get("variables"), dict | None):
        return "variables is a JSON object."
    if not isinstance(operation.get("extensions"), dict | None):
        return "extensions is a JSON object."
    name = operation.get("operationName")
    if not isinstance(name, str | None):
        return "operationName is a string."
    if _has_surrogate(name):
        # Strawberry echoes an unknown operation name in a text answer it cannot encode.
        return "operationName holds an unpaired surrogate."
    return None


def _has_surrogate(value: object) -> bool:
    return isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value)


def media_type(request: Request) -> str:
    """Content-Type without parameters, lower-cased: media types are case-insensitive."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()
