"""What the wire adds to Strawberry: every WebSocket error coded, and subscriptions sent over
HTTP recognised (the view answers them 400 SUBSCRIPTION_NEEDS_WEBSOCKET)."""

from __future__ import annotations

import re
from typing import Any, cast

import graphql
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message as WSMessage

from app.api.context import Context


class CodedTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, with extensions.code on the errors Strawberry's handler makes
    itself (past the subscriptions limit, for one): every WebSocket error is coded."""

    async def send_message(self, message: WSMessage) -> None:
        await super().send_message(cast("WSMessage", with_codes(dict(message))))


def with_codes(message: dict[str, Any]) -> dict[str, Any]:
    """The message, its errors (an `error` payload or `next` errors) coded where they are not."""
    payload = message.get("payload")
    if message.get("type") == "error" and isinstance(payload, list):
        return {**message, "payload": [_coded(e) for e in payload]}
    if message.get("type") == "next" and isinstance(payload, dict) and payload.get("errors"):
        return {**message, "payload": {**payload, "errors": [_coded(e) for e in payload["errors"]]}}
    return message


def _coded(error: dict[str, Any]) -> dict[str, Any]:
    extensions = error.get("extensions") or {}
    if "code" in extensions:
        return error
    code = "TOO_MANY_SUBSCRIPTIONS" if "limit" in str(error.get("message")) else "BAD_REQUEST"
    return {**error, "extensions": {**extensions, "code": code}}


def any_subscription(parsed: object, *, max_tokens: int) -> bool:
    """Whether a request over HTTP asks for a subscription (GraphiQL sends one when Ctrl-Enter
    comes before its socket is open; curl may). GET queries are checked too."""
    operations = parsed if isinstance(parsed, list) else [parsed]
    return any(
        isinstance(op, dict)
        and isinstance(op.get("query"), str)
        and _SUBSCRIPTION_WORD.search(op["query"]) is not None  # most requests: no parse
        and _operation_type(op["query"], op.get("operationName"), max_tokens) == "subscription"
        for op in operations
    )


_SUBSCRIPTION_WORD = re.compile(r"\bsubscription\b")


def _operation_type(query: str, operation_name: object, max_tokens: int) -> str | None:
    try:
        document = graphql.parse(query, no_location=True, max_tokens=max_tokens)
    except graphql.GraphQLError:  # Strawberry answers syntax errors and long documents
        return None
    name = operation_name if isinstance(operation_name, str) else None
    operation = graphql.get_operation_ast(document, name)
    return operation.operation.value if operation is not None else None
