"""Schema extensions: coded and masked errors, operation timing, the token limit."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from app.domain.errors import RequestError
from app.domain.storable import printable

log = logging.getLogger("app.api")


def is_unexpected(error: GraphQLError) -> bool:
    """A fault of ours (a bug, the database), not of the request."""
    original = error.original_error
    return original is not None and not isinstance(
        original,
        # Strawberry's words for a request naming no operation, or one of a kind this transport
        # does not run (a query over legacy graphql-ws): the client's, not ours.
        RequestError | GraphQLError | CannotGetOperationTypeError | InvalidOperationTypeError,
    )


def code_of(error: GraphQLError) -> str:
    """The stable code a client reads in extensions.code, whatever the transport."""
    original = error.original_error
    if isinstance(original, RequestError):
        return original.code
    if is_unexpected(error):
        return "INTERNAL_SERVER_ERROR"
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable '$") and any(  # graphql-core's variable coercion
        words in error.message
        for words in ("invalid value", "was not provided", "must not be null")
    ):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def code_in_place(error: GraphQLError) -> GraphQLError:
    """Gives the error its extensions.code and masks server faults. In place, because the
    WebSocket transports format the very errors that Schema.process_errors is shown."""
    code = code_of(error)
    if code == "INTERNAL_SERVER_ERROR":
        error.message = "Internal server error."
    elif isinstance(error.original_error, RequestError):
        error.message = printable(str(error.original_error))
    error.extensions = {**(error.extensions or {}), "code": code}
    return error


_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")  # names hold no "?"


def hide_suggestions(errors: list[GraphQLError], context: object) -> None:
    """Suggestions answer admin keys only: they would spell out the schema. In place, as
    Strawberry hands the errors to `process_errors` just before sending them (over a WebSocket
    too, where no extension sees them in time)."""
    auth = getattr(context, "auth", None)
    if auth is None or not auth.is_admin:
        for error in errors:
            error.message = _SUGGESTION.sub("", error.message)


def without_suggestions(error: GraphQLError) -> GraphQLError:
    """The error without "Did you mean …?": suggestions would spell out the schema to keys
    that may not see it."""
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


class OperationHooks(SchemaExtension):
    """What every operation gets, in one hook (each hook costs a context manager a request):
    the token limit on parsing and tally_graphql_request_duration_seconds{operation_type}.
    (Errors get their extensions.code in `TallySchema.process_errors`, which sees every error
    of every transport.)

    Pass as a factory: `lambda: OperationHooks(max_tokens)`."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        yield
        try:
            kind = context.operation_type.value
        except Exception:  # the document did not parse: no operation type to name
            kind = "invalid"
        context.context.metrics.request_duration.labels(operation_type=kind).observe(
            time.perf_counter() - started
        )
