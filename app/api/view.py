"""The /graphql endpoint: body limit and authentication in front of Strawberry's ASGI view."""

from __future__ import annotations

import json
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from cross_web import AsyncHTTPRequestAdapter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.types.unset import UnsetType

from app.api import sockets
from app.api.bodies import error_response, parse_graphql_body, read_body
from app.api.context import Context, Trackers
from app.api.execution import LeanPath
from app.api.graphiql import graphiql_page
from app.api.schema import TallySchema
from app.api.wire import CodedTransportWS, any_subscription
from app.clock import Clock
from app.domain.errors import RequestError
from app.domain.events import TrackRequest
from app.messaging.broker import Broker
from app.messaging.scheduler import Scheduler
from app.metrics import Metrics
from app.services.auth import Authenticator, Principal
from app.services.group_commit import GroupCommit
from app.services.messaging import RulesCache
from app.services.rate_limits import RateLimiter
from app.services.tracking import TrackOutcome
from app.settings import Settings
from app.store.database import Store

# The body of the request being answered, and its JSON as checked before Strawberry ran: parsed
# once (a batch of 1,000 events is ~200 KB of JSON).
_checked_body: ContextVar[tuple[bytes, object] | None] = ContextVar("checked_body", default=None)

# Answer headers a page on an allowed origin may read.
EXPOSED_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")


@dataclass
class Services:
    """What the app holds for its lifetime; the store is opened by the lifespan."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    store: Store | None = None
    authenticator: Authenticator | None = None
    rules_cache: RulesCache = field(default_factory=lambda: RulesCache(seconds=5))
    scheduler: Scheduler | None = None
    broker: Broker = field(default_factory=Broker)
    rate_limiter: RateLimiter | None = None
    group_commit: GroupCommit[TrackRequest, TrackOutcome] = field(init=False)
    trackers: Trackers = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.group_commit = GroupCommit(
            max_group=self.settings.max_batch_size, metrics=self.metrics
        )


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = CodedTransportWS

    def __init__(self, schema: TallySchema, *, services: Services) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=True,
            # Browsers send Origin on WebSocket handshakes and apply no CORS to them: pages on
            # the origins allowed over HTTP may subscribe; same-origin and Origin-less clients
            # always may.
            allowed_origins=services.settings.cors_origins,
        )
        self.services = services
        self.connection_init_wait_timeout = timedelta(
            seconds=services.settings.ws_init_timeout_seconds
        )
        self.lean = LeanPath(
            schema,
            metrics=services.metrics,
            encode_json=self.encode_json,
            http_streams=bool(self._stream_transport_map),
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if isinstance(request, Request):
            principal = request.state.principal
        else:  # a WebSocket: its upgrade headers, or later its connection_init payload
            principal = await self._authenticate(request.headers.get("authorization"))
        return self._context(request, principal)

    def _context(self, request: Request | WebSocket, principal: Principal | None) -> Context:
        services = self.services
        assert services.store is not None
        return Context(
            request=request,
            auth=principal,
            store=services.store,
            settings=services.settings,
            clock=services.clock,
            broker=services.broker,
            authenticator=services.authenticator,
            metrics=services.metrics,
            rules_cache=services.rules_cache,
            group_commit=services.group_commit,
            trackers=services.trackers,
        )

    def decode_json(self, data: str | bytes) -> object:
        checked = _checked_body.get()
        if checked is not None and checked[0] == data:
            return checked[1]
        return json.loads(data)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """A POSTed operation as `__call__` checked it (JSON object, field types:
        app.api.bodies), without Strawberry's second look (its Content-Type read through the
        email package, ~20 us). Batches, GETs and anything else: Strawberry's own."""
        checked = _checked_body.get()
        data = checked[1] if checked is not None and request.method == "POST" else None
        if not isinstance(data, dict):
            return await super().parse_http_body(request)
        transport = self._get_stream_transport_from_headers(request.headers)
        return GraphQLRequestData(
            query=data.get("query"),
            variables=data.get("variables"),
            operation_name=data.get("operationName"),
            extensions=data.get("extensions"),
            protocol=transport.protocol if transport else "http",
        )

    async def _authenticate(self, authorization: object) -> Principal | None:
        assert self.services.authenticator is not None
        if not isinstance(authorization, str):
            return None
        try:
            return await self.services.authenticator.authenticate(authorization)
        except RequestError:
            return None

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """graphql-transport-ws: without a valid key in the upgrade headers or in
        connection_init ({"Authorization": "Bearer <key>"}), the socket closes with 4403."""
        authorization: object = context.request.headers.get("authorization")
        if context.auth is None:
            params = context.connection_params or {}
            authorization = params.get("Authorization") or params.get("authorization")
            context.auth = await self._authenticate(authorization)
        if context.auth is None or not isinstance(authorization, str):
            raise ConnectionRejectionError({"message": "An API key is needed."})
        sockets.acknowledged(authorization, context.auth)
        return UnsetType()

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """Tally's GraphiQL page: assets served by Tally, a field for the API key."""
        return HTMLResponse(graphiql_page())

    async def _serve_socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's WebSocket protocols, held to the HTTP limits (app.api.sockets)."""
        services = self.services
        assert services.authenticator is not None
        assert services.rate_limiter is not None
        await sockets.serve_socket(
            super().__call__,
            scope,
            receive,
            send,
            settings=services.settings,
            authenticator=services.authenticator,
            rate_limiter=services.rate_limiter,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check size and key, then let Strawberry answer. The GraphiQL page needs no key."""
        if scope["type"] == "websocket":
            await self._serve_socket(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        if self.should_render_graphql_ide(request):  # type: ignore[arg-type]
            await (await self.render_graphql_ide(request))(scope, receive, send)
            return
        settings = self.services.settings
        body = await read_body(
            receive,
            declared=request.headers.get("content-length"),
            limit=settings.max_body_bytes,
            seconds=settings.body_timeout_seconds,
        )
        if isinstance(body, Response):
            await body(scope, receive, send)
            return
        parsed = parse_graphql_body(request, body)
        if isinstance(parsed, Response):
            await parsed(scope, receive, send)
            return
        assert self.services.authenticator is not None
        try:
            principal = await self.services.authenticator.authenticate(
                request.headers.get("authorization")
            )
        except RequestError as e:
            await error_response(401, e.code, str(e))(scope, receive, send)
            return
        assert self.services.rate_limiter is not None
        verdict = await self.services.rate_limiter.hit(principal.key.id)
        headers = {
            "X-RateLimit-Limit": str(verdict.limit),
            "X-RateLimit-Remaining": str(verdict.remaining),
            "X-RateLimit-Reset": str(verdict.reset),
        }
        if not verdict.allowed:
            retry = max(1, verdict.reset - int(time.time()))
            limited = error_response(
                429, "RATE_LIMITED", f"Too many requests for this key; retry in {retry} s."
            )
            limited.headers.update({**headers, "Retry-After": str(retry)})
            await limited(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if request.method == "POST" and isinstance(parsed, dict):
            # Before the subscription check: the lean path leaves subscriptions to it.
            answer = await self.lean.answer(parsed, self._context(request, principal))
            if answer is not None:
                answer.raw_headers.extend(extra)
                await answer(scope, receive, send)
                return
        asked = parsed if request.method == "POST" else dict(request.query_params)
        if any_subscription(asked, max_tokens=self.services.settings.max_tokens):
            refused = subscription_refusal()
            refused.headers.update(headers)
            await refused(scope, receive, send)
            return
        _lower_media_type(scope)
        scope.setdefault("state", {})["principal"] = principal
        token = _checked_body.set((body, parsed))
        try:
            await super().__call__(scope, _replay(body), _with_headers(send, extra))
        finally:
            _checked_body.reset(token)


def _lower_media_type(scope: Scope) -> None:
    """Strawberry compares Content-Type case-sensitively; media types are not."""
    scope["headers"] = [
        (name, value.lower() if name == b"content-type" else value)
        for name, value in scope["headers"]
    ]


def subscription_refusal() -> JSONResponse:
    return error_response(
        400,
        "SUBSCRIPTION_NEEDS_WEBSOCKET",
        "Subscriptions run over a WebSocket on /graphql (graphql-transport-ws), not over HTTP.",
    )


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
