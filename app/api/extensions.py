"""Schema extensions: coded and masked errors, operation timing."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app.domain.errors import RequestError
from app.domain.storable import printable

log = logging.getLogger("app.api")


def is_unexpected(error: GraphQLError) -> bool:
    """A fault of ours (a bug, the database), not of the request."""
    original = error.original_error
    return original is not None and not isinstance(original, RequestError | GraphQLError)


def coded(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it: with extensions.code, server faults masked."""
    original = error.original_error
    if isinstance(original, RequestError):
        code, message = original.code, printable(str(original))
    elif is_unexpected(error):
        code, message = "INTERNAL_SERVER_ERROR", "Internal server error."
    else:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )


class CodedErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [coded(error) for error in errors]


class OperationTiming(SchemaExtension):
    """Feeds tally_graphql_request_duration_seconds{operation_type}."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        try:
            kind = self.execution_context.operation_type.value
        except Exception:  # the document did not parse: no operation type to name
            kind = "invalid"
        context = self.execution_context.context
        context.metrics.request_duration.labels(operation_type=kind).observe(
            time.perf_counter() - started
        )
