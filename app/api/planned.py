"""Running an execution plan (app.api.plans): graphql-core's `Executor` steps for the plan's
subset, without collecting fields, building a resolve info for fields that do not read it,
or asking whether every value is awaitable.

The steps mirror the executor's methods of the same names (graphql-core 3.3.2,
graphql/execution/executor.py), re-implemented here: the root fields run serially, the
values completed (a null in a non-null position, lists, objects), errors handled and
bubbled (a field's error nulls the nearest nullable position on its path, an error reaching
the root makes `data` null) with the executor's messages. For the rest it calls
graphql-core: `get_variable_values` (variable coercion, when the plan's compiled coercion,
app.api.coercion, is in doubt or absent), `get_argument_values`, `located_error`, its
internal `CollectedErrors` (an error inside a nulled position is dropped), the executor
class's `complete_leaf_value` and `build_resolve_info` (Strawberry's info, with the coerced
variables and the operation's extensions), the latter given a `Run` that stands in for the
executor. What is mirrored, and these internals' signatures, hold for
the release series app.api.plans.mirrored checks: plans are not built with another.

Resolvers below the root return values, never awaitables (docs/design.md): graphql-core
would await one from a plain `def`, a plan answers the field's error instead (`_unplanned`).
"""

from __future__ import annotations

from asyncio import gather
from collections.abc import Awaitable, Callable, Sequence
from inspect import isawaitable, iscoroutine
from typing import Any, TypeGuard, cast

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    is_non_null_type,
    located_error,
)
from graphql.execution import Executor
from graphql.execution.executor import CollectedErrors
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.pyutils import Path, Undefined, gather_with_cancel, is_iterable
from graphql.pyutils.is_awaitable import is_async_iterable
from graphql.type.definition import GraphQLResolveInfoHelpers

from app.api.plans import Field, Kind, Leaf, ListOf, NonNull, Object, Plan

IsAwaitable = Callable[[Any], TypeGuard[Awaitable[Any]]]
_background: set[Awaitable[Any]] = set()


def _track(values: Sequence[Any]) -> None:
    """`info.async_helpers.track`: settles awaitables in the background, as the executor."""
    awaitables = [value for value in values if isawaitable(value)]
    if awaitables:
        future = gather(*awaitables, return_exceptions=True)
        _background.add(future)
        future.add_done_callback(_background.discard)


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)


HELPERS = GraphQLResolveInfoHelpers(gather=_gather, track=_track)


class Run:
    """One execution of a plan. Its attributes are those the executor class's
    `build_resolve_info` reads from the executor."""

    root_value = None
    abort_signal = None
    async_helpers = HELPERS

    def __init__(
        self,
        plan: Plan,
        *,
        schema: GraphQLSchema,
        context: object,
        variable_values: VariableValues,
        extensions: object,
        is_awaitable: IsAwaitable,
        executor_class: type[Executor[Any]],
    ) -> None:
        self.plan = plan
        self.schema = schema
        self.operation = plan.operation
        self.context_value = context
        self.variable_values = variable_values
        self.operation_extensions = extensions
        self.is_awaitable = is_awaitable
        self.executor_class = executor_class
        self.collected_errors = CollectedErrors()
        self.fragment_definitions: dict[str, Any] = {}  # a plan has no fragments

    def execute_operation(self) -> ExecutionResult | Awaitable[ExecutionResult]:
        try:
            result = self.execute_root_fields()
            if self.is_awaitable(result):
                return self._await_operation(result)
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        assert isinstance(result, dict)
        return self.build_response(result)

    async def _await_operation(self, result: Awaitable[dict[str, Any]]) -> ExecutionResult:
        try:
            data = await result
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        return self.build_response(data)

    def build_response(self, data: dict[str, Any] | None) -> ExecutionResult:
        return ExecutionResult(data, self.collected_errors.errors or None)

    def execute_root_fields(self) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """One after the other (a query's plan has one root field): `execute_fields_serially`."""
        results: dict[str, Any] = {}
        fields = self.plan.fields
        for index, field in enumerate(fields):
            result = self.execute_field(field, None, Path(None, field.key, field.parent.name))
            if self.is_awaitable(result):
                return self._continue_serially(results, result, index)
            results[field.key] = result
        return results

    async def _continue_serially(
        self, results: dict[str, Any], pending: Awaitable[Any], index: int
    ) -> dict[str, Any]:
        fields = self.plan.fields
        results[fields[index].key] = await pending
        for field in fields[index + 1 :]:
            result = self.execute_field(field, None, Path(None, field.key, field.parent.name))
            results[field.key] = await result if self.is_awaitable(result) else result
        return results

    def execute_fields(self, fields: tuple[Field, ...], source: Any, path: Path) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for field in fields:
            results[field.key] = self.execute_field(
                field, source, Path(path, field.key, field.parent.name)
            )
        return results

    def execute_field(self, field: Field, source: Any, path: Path) -> Any:
        kind = field.kind
        try:
            call = field.call
            if call is None:  # Kind.TYPENAME
                result = field.name
            elif kind is Kind.ATTRIBUTE:
                result = call(source, field.name)
            elif kind is Kind.METHOD:
                result = call(source) if field.with_self else call()
            else:
                info = self.build_resolve_info(field, path)
                definition = field.definition
                args = (
                    get_argument_values(definition, field.node, self.variable_values)
                    if field.has_arguments
                    else {}
                )
                result = call(source, info, args)
            if self.is_awaitable(result):
                if path.prev is None:  # a root field
                    return self.complete_awaitable_value(field, path, result)
                raise _unplanned(field, result)
            return self.complete_value(field.completion, field, path, result)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.definition.type, field, path)
            return None

    def build_resolve_info(self, field: Field, path: Path) -> GraphQLResolveInfo[Any]:
        # a Run has the attributes the method reads of an executor
        executor = cast("Executor[Any]", self)
        return self.executor_class.build_resolve_info(
            executor, field.definition, field.nodes, field.parent, path
        )

    async def complete_awaitable_value(self, field: Field, path: Path, result: Any) -> Any:
        try:
            return self.complete_value(field.completion, field, path, await result)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.definition.type, field, path)
            return None

    def handle_field_error(
        self, raw_error: Exception, return_type: GraphQLOutputType, field: Field, path: Path
    ) -> None:
        error = located_error(raw_error, field.nodes, path.as_list())
        if is_non_null_type(return_type):
            raise error
        self.collected_errors.add(error, path)

    def complete_value(
        self, completion: Leaf | NonNull | ListOf | Object, field: Field, path: Path, result: Any
    ) -> Any:
        if isinstance(result, Exception):
            raise result
        if type(completion) is NonNull:
            completed = self.complete_value(completion.of, field, path, result)
            if completed is None:
                raise TypeError(
                    "Cannot return null for non-nullable field"
                    f" {field.parent}.{field.node.name.value}."
                )
            return completed
        if result is None or result is Undefined:
            return None
        if type(completion) is Leaf:
            return self.executor_class.complete_leaf_value(completion.type, result)
        if type(completion) is Object:
            return self.execute_fields(completion.fields, result, path)
        assert type(completion) is ListOf
        return self.complete_list_value(completion, field, path, result)

    def complete_list_value(self, completion: ListOf, field: Field, path: Path, result: Any) -> Any:
        if is_async_iterable(result):
            raise _unplanned(field, result)
        if not is_iterable(result):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{field.parent}.{field.node.name.value}'."
            )
        item_type = completion.type.of_type
        completed: list[Any] = []
        for index, item in enumerate(result):
            item_path = path.add_key(index, None)
            try:
                if self.is_awaitable(item):
                    raise _unplanned(field, item)
                completed.append(self.complete_value(completion.of, field, item_path, item))
            except Exception as raw_error:
                self.handle_field_error(raw_error, item_type, field, item_path)
                completed.append(None)
        return completed


def _unplanned(field: Field, value: object) -> TypeError:
    """A value the plan's builder could not rule out: a resolver below the root (a plain
    `def`, as an async one declines the plan) that gave an awaitable, which graphql-core
    would await. An error of this field, a fault of the resolver: it breaks the rule."""
    if iscoroutine(value):
        value.close()
    return TypeError(
        f"{field.parent.name}.{field.node.name.value} gave an awaitable or async iterable: "
        "resolvers below the root fields must return values (docs/design.md, execution plans)."
    )


def execute_plan(
    plan: Plan,
    *,
    schema: GraphQLSchema,
    context: object,
    variables: Any,
    extensions: object,
    is_awaitable: IsAwaitable,
    executor_class: type[Executor[Any]],
) -> ExecutionResult | Awaitable[ExecutionResult]:
    """What graphql-core's `execute` answers for the plan's operation: variables coerced as
    `Executor.build` does (by the plan's compiled coercion when it is sure, app.api.coercion;
    an errors-only result when they fail), then the fields."""
    inputs = variables or {}
    values = plan.variables.coerce(inputs) if plan.variables is not None else None
    if values is None:  # not compiled, or in doubt: graphql-core's answer
        coerced = get_variable_values(
            schema, plan.operation.variable_definitions or (), inputs, max_errors=50
        )
        if isinstance(coerced, list):
            return ExecutionResult(None, errors=coerced)
        values = coerced
    run = Run(
        plan,
        schema=schema,
        context=context,
        variable_values=values,
        extensions=extensions,
        is_awaitable=is_awaitable,
        executor_class=executor_class,
    )
    return run.execute_operation()
