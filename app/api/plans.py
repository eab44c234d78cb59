"""Execution plans: what graphql-core's executor works out again on every request for a cached
document (the operation, its fields grouped by response name, each field's definition, how
its value resolves and completes), worked out once per (document, operation name).

`build_plan` makes a plan for documents in a small subset and declines (None) anything else,
which keeps graphql-core's `execute` (app.api.execution): a query of one root field or a
mutation, whose selections are plain fields (aliases, arguments from literals or variables,
`__typename`) of object, list, non-null, scalar and enum types, each response name once. No
fragments, no directives, no abstract types, no `is_type_of`, no introspection other than
`__typename`, no async resolver below the root fields, no Strawberry field extensions
(permission classes included) and no schema exception handlers. app.api.planned runs a plan.

How a field resolves (`Field.kind`), from Strawberry's `GraphQLCoreConverter.from_resolver`
(strawberry/schema/schema_converter.py, 0.341): a field without a resolver or extensions
calls `field.get_result`, i.e. `field.default_resolver(source, python_name)`: ATTRIBUTE does
that call. A sync resolver without arguments nor info/root/parent parameters gets
`base_resolver(source)` (or `()` without self) from Strawberry's wrapper, once its Info is
built and its empty arguments converted: METHOD makes that call. Every other field (the root
fields, fields with arguments or info) is CALL: the resolve info graphql-core's executor would
build, the arguments graphql-core gives, and the resolver called as Strawberry's wrapper calls
it (app.api.plan_calls); a resolver a planned call does not cover declines the document.

Plans are built only with the versions mirrored here and in app.api.planned,
app.api.plan_calls and app.api.coercion (a plan's variables), strawberry-graphql 0.341.x and
graphql-core 3.3.x (`mirrored`): another version declines every document, with one warning,
and graphql-core's `execute` answers.
Strawberry internals relied on: the StrawberryField behind a GraphQLField
(`extensions[GraphQLCoreConverter.DEFINITION_BACKREF]`), its `base_resolver`,
`default_resolver`, `python_name`, `extensions`, `is_async` and `arguments`, the resolver's
`wrapped_func` and reserved parameters, `Schema.exception_handlers`, the converter's
`scalar_registry`, and the wrapper's behaviour described here and in app.api.plan_calls.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    TypeNameMetaFieldDef,
    is_leaf_type,
)
from strawberry.schema import Schema
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from app.api.coercion import Variables, compile_variables
from app.api.documents import chosen_operation
from app.api.plan_calls import planned_call

log = logging.getLogger("app.api")
# The release series whose executor and resolver wrapper the plans mirror (a final release:
# a pre-release of the series may differ)
MIRRORED = {"strawberry-graphql": "0.341", "graphql-core": "3.3"}
# Strawberry's resolver is `_resolver(_source, info, **arguments)`, given the arguments by
# their GraphQL names: an argument of either name is a collision graphql-core's executor
# answers with an error, which a plan would not reproduce.
RESERVED_ARGUMENTS = frozenset({"_source", "info"})
# A plan's size per planned field (its Field, completion, node list, call), charged to the
# document cache: tracemalloc measured 330-420 bytes on trackEvent and workspace documents
FIELD_BYTES = 400


class Kind(Enum):
    """How a field's value is had: its `__typename` (`Field.name`), the default resolver
    (`Field.call`) called with the Python name (`Field.name`), the resolver (`Field.call`)
    called with the source alone or nothing (`Field.with_self`), or a planned `Call`
    (`Field.call`)."""

    TYPENAME = "typename"
    ATTRIBUTE = "attribute"
    METHOD = "method"
    CALL = "call"


@dataclass(frozen=True, slots=True)
class Leaf:
    type: GraphQLLeafType


@dataclass(frozen=True, slots=True)
class NonNull:
    of: Completion


@dataclass(frozen=True, slots=True)
class ListOf:
    of: Completion
    type: GraphQLList[Any]  # its items' type is the one an item's error is handled with


@dataclass(frozen=True, slots=True)
class Object:
    type: GraphQLObjectType
    fields: tuple[Field, ...]


Completion = Leaf | NonNull | ListOf | Object


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    node: FieldNode
    nodes: list[FieldNode]  # [node], as graphql-core hands them to errors and resolve infos
    definition: GraphQLField
    parent: GraphQLObjectType
    kind: Kind
    completion: Completion
    call: Callable[..., Any] | None = None
    name: str = ""
    with_self: bool = False
    has_arguments: bool = False  # graphql-core's test for reading argument values


@dataclass(frozen=True, slots=True)
class Plan:
    operation: OperationDefinitionNode
    root: GraphQLObjectType
    fields: tuple[Field, ...]
    serially: bool = False  # mutations: root fields one after the other
    size_bytes: int = 0  # an estimate (its variables' coercion included), charged to the cache
    variables: Variables | None = None  # None: graphql-core coerces them


class _Schema:
    """What building reads of the Strawberry schema."""

    def __init__(self, schema: Schema) -> None:
        self.graphql = schema._schema
        self.config = schema.config
        self.registry = schema.schema_converter.scalar_registry


class Declined(Exception):
    """The document is outside the subset a plan covers."""


def build_plan(schema: Schema, document: DocumentNode, name: str | None) -> Plan | None:
    """The plan of the operation graphql-core's `execute` runs for `name`, or None when it
    is outside the subset (or would not run: graphql-core then answers with its error), or
    when the installed versions are not those mirrored."""
    if not mirrored():
        return None
    try:
        return _plan(schema, document, name)
    except Declined:
        return None
    except Exception:  # a bug, or Strawberry's internals moved: execute answers, a test fails
        log.warning("No execution plan for the operation %r", name, exc_info=True)
        return None


@cache
def mirrored() -> bool:
    """Whether the installed strawberry-graphql and graphql-core are releases of the series
    the plans mirror; the first call logs a warning when they are not."""
    installed = {name: _version(name) for name in MIRRORED}
    if all(re.fullmatch(rf"{re.escape(MIRRORED[n])}\.\d+", v) for n, v in installed.items()):
        return True
    log.warning(
        "No execution plans: they mirror strawberry-graphql %s.x and graphql-core %s.x, "
        "installed are strawberry-graphql %s and graphql-core %s; graphql-core's execute "
        "answers every operation",
        MIRRORED["strawberry-graphql"],
        MIRRORED["graphql-core"],
        installed["strawberry-graphql"],
        installed["graphql-core"],
    )
    return False


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # not installed as a distribution (vendored)
        return "unknown"


def _plan(strawberry_schema: Schema, document: DocumentNode, name: str | None) -> Plan:
    schema = _Schema(strawberry_schema)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if strawberry_schema.exception_handlers or len(operations) != len(document.definitions):
        raise Declined("fragment definitions or exception handlers")
    operation = _operation(document, operations, name)
    if operation.directives or operation.operation not in (
        OperationType.QUERY,
        OperationType.MUTATION,
    ):
        raise Declined("a subscription, or directives on the operation")
    root = schema.graphql.get_root_type(operation.operation)
    if root is None:
        raise Declined("no root type")
    fields = _selection(schema, root, operation.selection_set, root=True)
    serially = operation.operation == OperationType.MUTATION
    if not serially and len(fields) != 1:
        raise Declined("a query of several root fields (graphql-core runs them concurrently)")
    variables = compile_variables(schema.graphql, operation)
    size = FIELD_BYTES * _count(fields) + (variables.size_bytes if variables else 0)
    return Plan(operation, root, fields, serially, size, variables)


def _count(fields: tuple[Field, ...]) -> int:
    count = len(fields)
    for field in fields:
        completion = field.completion
        while not isinstance(completion, Leaf | Object):
            completion = completion.of
        if isinstance(completion, Object):
            count += _count(completion.fields)
    return count


def _operation(
    document: DocumentNode, operations: list[OperationDefinitionNode], name: str | None
) -> OperationDefinitionNode:
    """The operation as graphql-core's `Executor.build` picks it: Strawberry's pick, except
    that without a name graphql-core runs only a document's sole operation."""
    if name is None and len(operations) != 1:
        raise Declined("several operations and no name")
    operation = chosen_operation(document, name)
    if operation is None:
        raise Declined("unknown operation name")
    return operation


def _selection(
    schema: _Schema,
    parent: GraphQLObjectType,
    selection_set: SelectionSetNode | None,
    *,
    root: bool = False,
) -> tuple[Field, ...]:
    if selection_set is None:
        raise Declined("an object without a selection")
    fields: list[Field] = []
    keys: set[str] = set()
    for node in selection_set.selections:
        if not isinstance(node, FieldNode):
            raise Declined("a fragment")
        if node.directives:
            raise Declined("a directive")
        key = node.alias.value if node.alias else node.name.value
        if key in keys:
            raise Declined("a response name asked twice (graphql-core merges them)")
        keys.add(key)
        fields.append(_field(schema, parent, node, key, root=root))
    return tuple(fields)


def _field(
    schema: _Schema, parent: GraphQLObjectType, node: FieldNode, key: str, *, root: bool
) -> Field:
    name = node.name.value
    if name == "__typename":
        definition = TypeNameMetaFieldDef
        completion = _completion(schema, definition.type, node.selection_set)
        return Field(
            key, node, [node], definition, parent, Kind.TYPENAME, completion, name=parent.name
        )
    definition_ = parent.fields.get(name)
    if definition_ is None or name.startswith("__"):
        raise Declined("introspection")
    strawberry_field = (definition_.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    # exactly StrawberryField: a subclass may override get_result, which a plan does not call
    if type(strawberry_field) is not StrawberryField or strawberry_field.extensions:
        raise Declined("not a plain Strawberry field")
    if RESERVED_ARGUMENTS.intersection(definition_.args):
        raise Declined("an argument named as a parameter of Strawberry's resolver")
    if strawberry_field.is_async and not root:
        raise Declined("an async resolver below the root")
    completion = _completion(schema, definition_.type, node.selection_set)
    has_arguments = bool(definition_.args or node.arguments)
    common = (key, node, [node], definition_, parent)
    resolver = strawberry_field.base_resolver
    if not root and resolver is None:
        call = strawberry_field.default_resolver
        return Field(*common, Kind.ATTRIBUTE, completion, call, strawberry_field.python_name)
    if (
        not root
        and resolver is not None
        and not has_arguments
        and not strawberry_field.arguments
        and callable(resolver.wrapped_func)
        and resolver.info_parameter is None
        and resolver.root_parameter is None
        and resolver.parent_parameter is None
    ):
        with_self = resolver.self_parameter is not None
        return Field(*common, Kind.METHOD, completion, resolver.wrapped_func, with_self=with_self)
    planned = planned_call(strawberry_field, config=schema.config, registry=schema.registry)
    if planned is None:
        raise Declined("a resolver outside what a planned call covers")
    return Field(*common, Kind.CALL, completion, planned, has_arguments=has_arguments)


def _completion(
    schema: _Schema, type_: GraphQLOutputType, selection_set: SelectionSetNode | None
) -> Completion:
    if isinstance(type_, GraphQLNonNull):
        return NonNull(_completion(schema, type_.of_type, selection_set))
    if isinstance(type_, GraphQLList):
        return ListOf(_completion(schema, type_.of_type, selection_set), type_)
    if is_leaf_type(type_):
        if selection_set is not None:
            raise Declined("a selection on a leaf")
        return Leaf(type_)
    if isinstance(type_, GraphQLObjectType) and type_.is_type_of is None:
        return Object(type_, _selection(schema, type_, selection_set))
    raise Declined("an abstract type, or an object type with is_type_of")
