"""A WebSocket held to the rules of an HTTP request, around Strawberry's protocol handlers.

- Every frame is at most TALLY_MAX_BODY_BYTES (closed with 1009 otherwise) and valid JSON that
  Python can read (4400 otherwise: a 100k-deep frame broke Strawberry's decoding).
- Every operation (`subscribe`, or `start` in the legacy protocol) counts against its key's rate
  limit; past it, that operation gets an error coded RATE_LIMITED and does not run.
- A socket whose connection is not acknowledged within TALLY_WS_INIT_TIMEOUT_SECONDS is closed
  with 4408, in both protocols (Strawberry times out graphql-transport-ws only).
- Frames Strawberry's handlers would fail on (not an object, no string "id", a payload whose
  query, variables or operationName has the wrong type) close the socket with 4400 too.
- Every second the socket's key is checked again, through the authenticator's cache: a revoked
  key's socket closes with 4403 and its subscriptions end.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.bodies import shape_problem
from app.domain.errors import RequestError
from app.services.auth import Authenticator, Principal
from app.services.rate_limits import RateLimiter
from app.settings import Settings

log = logging.getLogger(__name__)
CHECK_SECONDS = 1.0
LEGACY = "graphql-ws"


@dataclass
class Socket:
    settings: Settings
    authenticator: Authenticator
    rate_limiter: RateLimiter
    send_raw: Send
    authorization: str = ""
    principal: Principal | None = None
    protocol: str | None = None
    acknowledged: bool = False
    closed: bool = False
    app_task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def send(self, message: Message) -> None:
        if self.closed:
            return  # after our close, nothing more may go out
        if message["type"] == "websocket.accept":
            self.protocol = message.get("subprotocol")
        elif message["type"] == "websocket.close":
            self.closed = True
        await self.send_raw(message)

    async def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            await self.send_raw({"type": "websocket.close", "code": code, "reason": reason})

    async def end(self, code: int, reason: str) -> None:
        """Close the socket and stop Strawberry's handler (its subscriptions end with it)."""
        await self.close(code, reason)
        if self.app_task is not None:
            self.app_task.cancel()

    def receiver(self, receive: Receive) -> Receive:
        async def receiving() -> Message:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive" or self.closed:
                    return message
                refusal = await self.refusal(message)
                if refusal is None:
                    return message
                if isinstance(refusal, tuple):
                    await self.close(*refusal)
                    return {"type": "websocket.disconnect", "code": refusal[0]}
                await self.send_raw({"type": "websocket.send", "text": json.dumps(refusal)})

        return receiving

    async def refusal(self, message: Message) -> tuple[int, str] | dict[str, object] | None:
        """Why a frame may not reach Strawberry: a close (code, reason), an error message for
        the operation, or None."""
        text = message.get("text")
        if text is None:
            return None  # binary frames: Strawberry closes on them
        if len(text.encode("utf-8", "surrogatepass")) > self.settings.max_body_bytes:
            return 1009, f"A message has at most {self.settings.max_body_bytes} bytes."
        try:
            frame = json.loads(text)
        except (ValueError, RecursionError):
            return 4400, "WebSocket message must be valid JSON"
        if problem := _malformed(frame):
            return 4400, problem
        if frame["type"] not in ("subscribe", "start"):
            return None
        if self.principal is None:
            return None  # Strawberry closes the socket: no connection_ack yet
        verdict = await self.rate_limiter.hit(self.principal.key.id)
        if verdict.allowed:
            return None
        error = {
            "message": "Too many requests for this key; retry within a minute.",
            "extensions": {"code": "RATE_LIMITED"},
        }
        payload = error if self.protocol == LEGACY else [error]
        return {"id": frame["id"], "type": "error", "payload": payload}

    async def watch(self) -> None:
        """Time out an unacknowledged socket; close one whose key was revoked."""
        waited = 0.0
        while not self.closed:
            await asyncio.sleep(CHECK_SECONDS)
            waited += CHECK_SECONDS
            if not self.acknowledged:
                if waited >= self.settings.ws_init_timeout_seconds:
                    await self.end(4408, "Connection initialisation timeout")
                continue
            try:
                await self.authenticator.authenticate(self.authorization)
            except RequestError:
                await self.end(4403, "The API key was revoked.")
            except Exception as e:  # the store, briefly: check again next time
                log.warning("Could not check a WebSocket's key again: %s", type(e).__name__)


_current: ContextVar[Socket | None] = ContextVar("socket", default=None)


def acknowledged(authorization: str, principal: Principal) -> None:
    """The socket being served was accepted with this key (the view's on_ws_connect)."""
    socket = _current.get()
    if socket is not None:
        socket.authorization, socket.principal = authorization, principal
        socket.acknowledged = True


def _malformed(frame: object) -> str | None:
    """What Strawberry's handlers would fail on (with a server fault) in a frame."""
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        return 'A message is a JSON object with a "type".'
    if frame["type"] in ("subscribe", "start", "complete", "stop") and not isinstance(
        frame.get("id"), str
    ):
        return 'An operation message has a string "id".'
    if frame["type"] in ("subscribe", "start"):
        payload = frame.get("payload")
        if not isinstance(payload, dict):
            return 'An operation message has a payload {"query", "variables", "operationName"}.'
        return shape_problem(payload)
    return None


async def serve_socket(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    settings: Settings,
    authenticator: Authenticator,
    rate_limiter: RateLimiter,
) -> None:
    socket = Socket(settings, authenticator, rate_limiter, send)
    token = _current.set(socket)
    try:

        async def run() -> None:
            await app(scope, socket.receiver(receive), socket.send)

        socket.app_task = asyncio.create_task(run())
        watcher = asyncio.create_task(socket.watch())
        try:
            await socket.app_task
        except asyncio.CancelledError:
            if not socket.closed:
                raise
        finally:
            watcher.cancel()
    finally:
        _current.reset(token)
