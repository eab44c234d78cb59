"""Variable coercion compiled once per operation: what graphql-core's `get_variable_values`
answers when it finds no error, for the regular case only, with ANY doubt handed back.

graphql-core 3.3 (graphql/execution/values.py `coerce_variable_values`,
graphql/utilities/coerce_input_value.py) walks every variable's value against its type on
every request. `compile_variables` turns an operation's variable definitions into closures
made for their types, and `Variables.coerce` runs them. It answers `VariableValues` equal to
graphql-core's or None, "don't know": the caller then runs `get_variable_values`, so every
error and every odd value gets graphql-core's own answer.

Mirrored exactly: null (and `Undefined`) in nullable positions; lists (a list, or a single
value coerced as a list of one); input objects given as a plain dict, their fields in
definition order, absent ones given their default (`coerce_default_value`, computed once:
graphql-core memoizes it on the field) or left out, `out_name`, `out_type` and
`is_one_of`; leaves by their own `coerce_input_value` (built-in scalars, enums, custom
scalars such as Strawberry's JSON and DateTime), called once as graphql-core calls it.
Declined (None): an absent variable that has a default or is non-null, null in a non-null
position, a dict subclass or other mapping, a tuple or other iterable, an unknown or
`Undefined` field, a failing leaf or `out_type`, a value nested near graphql-core's
`input_is_nested_too_deeply` bound, and inputs that are not a dict. An operation whose
variables graphql-core would refuse to read (a type not in the schema, not an input type,
a variable defined twice, a field default that does not coerce) gets no compiled coercer.

Leaves are called with the value as graphql-core calls them: a leaf that had side effects
would see a value twice when a later field declines (Tally's scalars have none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    is_leaf_type,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import Undefined
from graphql.type.definition import is_required_input_field
from graphql.utilities.coerce_input_value import coerce_default_value

Coerce = Callable[[Any, int], Any]  # (value, depth of the value) -> the coerced value
# A value graphql-core would take as a list of one: not iterable for its `is_iterable`, and
# not a list or tuple for `input_is_nested_too_deeply`
_SINGLE: Final = frozenset({str, int, float, bool, dict})
_REQUIRED: Final = object()  # an absent field is an error
# The compiled coercion's size, charged with its plan to the document cache: tracemalloc
# measured 180-310 bytes a closure or field and 4-20 KB for Tally's operations
PART_BYTES: Final = 200
VARIABLE_BYTES: Final = 400


class Doubt(Exception):
    """The compiled coercion does not know: graphql-core answers."""


class Unsupported(Exception):
    """The operation's variables are not compiled."""


class Variables:
    """The compiled coercion of one operation's variables."""

    __slots__ = ("size_bytes", "variables")

    def __init__(
        self, variables: tuple[tuple[str, Any, Coerce, bool], ...], *, size_bytes: int
    ) -> None:
        self.variables = variables  # (name, signature, coerce, whether it must be given)
        self.size_bytes = size_bytes  # an estimate

    def coerce(self, inputs: object) -> VariableValues | None:
        """graphql-core's `VariableValues` for `inputs`, or None when in doubt."""
        if type(inputs) is not dict:
            return None
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        try:
            for name, signature, coerce, must_be_given in self.variables:
                value = inputs.get(name, Undefined)
                if value is Undefined:
                    if must_be_given:  # an error, or a default to apply: graphql-core's
                        return None
                    sources[name] = VariableValueSource(signature)
                else:
                    sources[name] = VariableValueSource(signature, value)
                    coerced[name] = coerce(value, 0)
        except Doubt:
            return None
        return VariableValues(sources, coerced)


def compile_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> Variables | None:
    """The compiled coercion of the operation's variables, or None when not compiled."""
    try:
        return _Compiler().variables(schema, operation)
    except Unsupported:
        return None


class _Compiler:
    def __init__(self) -> None:
        self.objects: dict[GraphQLInputObjectType, Coerce] = {}
        self.non_null: dict[GraphQLInputObjectType, Coerce] = {}
        self.leaves: dict[tuple[object, bool], Coerce] = {}
        self.parts = 0  # closures and fields made, for the size estimate
        self.lists = 0  # the longest chain of list types met
        # a cell the closures read, set once all types are compiled
        self.bound = [MAX_NESTING_DEPTH]

    def variables(self, schema: GraphQLSchema, operation: OperationDefinitionNode) -> Variables:
        compiled = []
        names: set[str] = set()
        for node in operation.variable_definitions or ():
            signature = get_variable_signature(schema, node)
            if isinstance(signature, GraphQLError) or signature.name in names:
                raise Unsupported("a variable graphql-core answers with an error, or twice")
            names.add(signature.name)
            must_be_given = node.default_value is not None or isinstance(
                signature.type, GraphQLNonNull
            )
            compiled.append((signature.name, signature, self.coerce(signature.type), must_be_given))
        # A container at depth d has its items at d + 1, and graphql-core's depth check
        # descends further through list types for a single value or null (`[value]`): a
        # container declines from the depth where a depth it counts could exceed its bound.
        self.bound[0] = MAX_NESTING_DEPTH - self.lists
        if self.bound[0] <= 0:
            raise Unsupported("list types nested beyond graphql-core's bound")
        size = PART_BYTES * self.parts + VARIABLE_BYTES * len(compiled)
        return Variables(tuple(compiled), size_bytes=size)

    def coerce(self, type_: GraphQLInputType, lists: int = 0) -> Coerce:
        non_null = isinstance(type_, GraphQLNonNull)
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            self.lists = max(self.lists, lists + 1)
            return self.list_of(self.coerce(type_.of_type, lists + 1), non_null)
        if isinstance(type_, GraphQLInputObjectType):
            return self.input_object(type_, non_null)
        if is_leaf_type(type_):
            key = (type_, non_null)
            if key not in self.leaves:
                self.parts += 1
                self.leaves[key] = _leaf(type_.coerce_input_value, non_null)
            return self.leaves[key]
        raise Unsupported(f"the input type {type_}")

    def list_of(self, item: Coerce, non_null: bool) -> Coerce:
        bound = self.bound
        self.parts += 1

        def coerce(value: Any, depth: int) -> Any:
            if value is None or value is Undefined:
                if non_null:
                    raise Doubt
                return None
            if depth >= bound[0]:
                raise Doubt
            if type(value) is list:
                return [item(v, depth + 1) for v in value]
            if type(value) in _SINGLE:
                return [item(value, depth + 1)]
            raise Doubt

        return coerce

    def input_object(self, type_: GraphQLInputObjectType, non_null: bool) -> Coerce:
        # one closure per (type, nullability) and compiled fields shared, for recursive types
        shared = self.objects.get(type_) or self.object_fields(type_)
        if not non_null:
            return shared
        if type_ in self.non_null:
            return self.non_null[type_]
        self.parts += 1
        nullable = shared

        def coerce(value: Any, depth: int) -> Any:
            if value is None or value is Undefined:
                raise Doubt
            return nullable(value, depth)

        self.non_null[type_] = coerce
        return coerce

    def object_fields(self, type_: GraphQLInputObjectType) -> Coerce:
        fields: list[tuple[str, str, Coerce, Any]] = []
        out_type = type_.out_type
        plain = out_type is GraphQLInputObjectType.out_type
        one_of = type_.is_one_of
        bound = self.bound

        def coerce(value: Any, depth: int) -> Any:
            if value is None or value is Undefined:
                return None
            if type(value) is not dict or depth >= bound[0]:
                raise Doubt
            coerced: dict[str, Any] = {}
            given = 0
            for name, out_name, field, absent in fields:
                field_value = value.get(name, Undefined)
                if field_value is Undefined:
                    if absent is _REQUIRED:
                        raise Doubt
                    if absent is not Undefined:
                        coerced[out_name] = absent
                else:
                    given += 1
                    coerced[out_name] = field(field_value, depth + 1)
            if given != len(value):  # an unknown field, or one given as Undefined
                raise Doubt
            if one_of and (given != 1 or len(coerced) != 1 or _first(coerced) is None):
                raise Doubt
            return coerced if plain else _sure(out_type, coerced)

        self.objects[type_] = coerce  # before the fields: they may refer to this type
        for name, definition in type_.fields.items():
            field = self.coerce(definition.type)
            if is_required_input_field(definition):
                absent = _REQUIRED
            else:
                try:
                    absent = coerce_default_value(definition)
                except Exception as error:  # graphql-core raises it on every request
                    raise Unsupported(f"the default of {type_}.{name}") from error
            fields.append((name, definition.out_name or name, field, absent))
        self.parts += 1 + len(fields)
        return coerce


def _first(values: dict[str, Any]) -> Any:
    return next(iter(values.values()))


def _leaf(parse: Callable[[Any], Any], non_null: bool) -> Coerce:
    def coerce(value: Any, depth: int) -> Any:
        if value is None or value is Undefined:
            if non_null:
                raise Doubt
            return None
        return _sure(parse, value)

    return coerce


def _sure(call: Callable[[Any], Any], value: Any) -> Any:
    """`call(value)`, or Doubt when it raises or answers graphql-core's "invalid" (Undefined)."""
    try:
        result = call(value)
    except Exception:
        raise Doubt from None
    if result is Undefined:
        raise Doubt
    return result
