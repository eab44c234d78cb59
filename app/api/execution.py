"""The lean path: one JSON-POSTed operation of a cached document, run without Strawberry's
HTTP layer and its extension runner.

A single `trackEvent` is the request Tally answers most, and Strawberry spent ~150-190 us of
it around the work: `AsyncBaseHTTPView.run` (sub-response, context, a second look at the body,
its result -> dict -> JSON -> Response chain) and `Schema.execute` (an ExecutionContext, the
extension runner's context managers around OperationHooks and DocumentChecks, the operation
type checks). Here the same steps are plain calls, in Strawberry's order (strawberry 0.341,
`Schema.execute` and `_execute_operation`): the document from the cache, the operation
Strawberry would pick, `Checks.errors` (what DocumentChecks runs), graphql-core's `execute`
with the arguments Strawberry passes it (executor class, `optimized_is_awaitable`, the
operation's extensions), `process_errors` on any error, the operation's duration in
`tally_graphql_request_duration_seconds`, and the answer Strawberry's ASGI view writes (200,
`application/json`, compact JSON). In process a `trackEvent` went from ~1,230 to ~1,040 us
(docs/benchmarks.md, "The lean path").

The view takes this path only for a POST whose JSON body is one operation (no batch) of
type query or mutation, in a document already parsed and validated (the document cache,
app.api.documents) that passes its checks. Everything else — batches, GETs, documents met
for the first time, every refusal — is Strawberry's to answer, unchanged.

Where graphql-core's `execute` would run, an operation inside the subset of app.api.plans
runs its execution plan instead (made on the operation's first lean run, kept with the cached
document; app.api.planned runs it in the executor's steps, with the same answer): no fields
collected again, no resolve info for fields that do not read it, resolvers called as
Strawberry's wrapper calls them with its decisions made once (app.api.plan_calls). A
`trackEvent` with a canned outcome, `answer` in a loop: ~130 -> ~65 us. Other operations keep
`execute`, and so does every operation with a Strawberry or graphql-core release other than
those mirrored (app.api.plans.mirrored). `plans = False` turns plans off (the differential
tests).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from inspect import isawaitable
from typing import Any, TypeGuard, cast

from graphql import (
    ExecutionResult,
    GraphQLError,
    execute,
    specified_rules,
)
from prometheus_client import Histogram
from starlette.responses import Response
from strawberry.execution import optimized_is_awaitable
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType as StrawberryOperationType

from app.api.checks import DocumentChecks
from app.api.context import Context
from app.api.documents import Entry, chosen_operation
from app.api.extensions import OperationHooks
from app.api.planned import execute_plan
from app.api.plans import Plan, build_plan
from app.api.schema import TallySchema
from app.metrics import Metrics

RULES = tuple(specified_rules)  # Strawberry's default (only run for a document not yet validated)
# Strawberry's, typed as graphql-core's signature asks
_IS_AWAITABLE = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)
_ALLOWED = {StrawberryOperationType.QUERY.value, StrawberryOperationType.MUTATION.value}


class LeanPath:
    def __init__(
        self,
        schema: TallySchema,
        *,
        metrics: Metrics,
        encode_json: Callable[[object], str | bytes],
        http_streams: bool,
    ) -> None:
        self.schema = schema
        self.encode_json = encode_json
        self.metrics = metrics
        # tally_graphql_request_duration_seconds's children, looked up once (on first use, as
        # Strawberry's path does: a type never run is not shown)
        self.durations: dict[str, Histogram] = {}
        # What is mirrored here is Tally's pipeline as it is: the two extensions below, no
        # resolver middleware (an extension hooking `resolve`, schema directives), no
        # incremental execution, no HTTP stream transport (SSE, multipart subscriptions, which
        # read Accept). Anything else added to the schema turns the lean path off: every
        # request then goes through Strawberry, slower but with whatever was added.
        self.enabled = not (
            http_streams
            or schema.directives
            or schema.config.enable_experimental_incremental_execution
            or [type(e) for e in schema.get_extensions()] != [OperationHooks, DocumentChecks]
        )
        # Execution plans for the documents they cover (app.api.plans); off: graphql-core's
        # `execute` runs every operation (the differential tests compare the two)
        self.plans = True

    async def answer(self, operation: Mapping[str, Any], context: Context) -> Response | None:
        """The response to `operation` (a POST body's {"query", "variables", ...}, already
        shape-checked), or None when Strawberry is to answer it."""
        started = time.perf_counter()
        schema = self.schema
        entry = schema.documents.get(operation["query"]) if self.enabled else None
        if entry is None or entry.errors is None:
            return None
        name = operation.get("operationName")
        definition = chosen_operation(entry.document, name)
        if definition is None or definition.operation.value not in _ALLOWED:
            return None
        if name is None and definition.name is not None:
            name = definition.name.value  # as Strawberry's ExecutionContext.operation_name
        variables = operation.get("variables")
        graphql_schema = schema._schema
        try:
            refused = schema.checks.errors(
                entry,
                schema=graphql_schema,
                name=name,
                variables=variables,
                auth=context.auth,
                rules=RULES,
            )
        except Exception:  # Strawberry answers what the checks fail on, as it always did
            return None
        if refused:
            return None
        try:
            plan = self._plan(entry, name)
            if plan is not None:
                result = execute_plan(
                    plan,
                    schema=graphql_schema,
                    context=context,
                    variables=variables,
                    extensions=operation.get("extensions"),
                    is_awaitable=_IS_AWAITABLE,
                    executor_class=schema.execution_context_class,
                )
            else:
                result = execute(
                    graphql_schema,
                    entry.document,
                    context_value=context,
                    variable_values=variables,
                    operation_name=name,
                    is_awaitable=_IS_AWAITABLE,
                    executor_class=schema.execution_context_class,
                    operation_extensions=operation.get("extensions"),
                )
            if isawaitable(result):
                result = await result
        except Exception as exc:  # as Schema.execute: an error in the answer, not a 500
            error = (
                exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            )
            result = ExecutionResult(None, [error])
        assert isinstance(result, ExecutionResult)
        if result.errors:
            schema._process_errors(
                result.errors,
                ExecutionContext(
                    query=operation["query"],
                    schema=schema,
                    allowed_operations=StrawberryOperationType.from_http("POST"),
                    context=context,
                    variables=variables,
                    provided_operation_name=name,
                    graphql_document=entry.document,
                    pre_execution_errors=result.errors,
                ),
            )
        self._duration(definition.operation.value).observe(time.perf_counter() - started)
        data: dict[str, object] = {"data": result.data}
        if result.errors:
            data["errors"] = [error.formatted for error in result.errors]
        return Response(self.encode_json(data), media_type="application/json")

    def _plan(self, entry: Entry, name: str | None) -> Plan | None:
        """The operation's execution plan (app.api.plans), made on its first lean run."""
        if not self.plans:
            return None
        try:
            return entry.plans[name]
        except KeyError:
            plan = build_plan(self.schema, entry.document, name)
            self.schema.documents.keep_plan(entry, name, plan)
            return plan

    def _duration(self, kind: str) -> Histogram:
        child = self.durations.get(kind)
        if child is None:
            child = self.durations[kind] = self.metrics.request_duration.labels(operation_type=kind)
        return child
