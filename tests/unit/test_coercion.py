"""Compiled variable coercion against graphql-core's `get_variable_values`, differentially:
for Tally's operations and generated values (right and wrong types, extra and missing keys,
nulls, big numbers, nested metadata and filters), the compiled answer, when it gives one, is
graphql-core's, and it never answers where graphql-core reports errors."""

from __future__ import annotations

import gc
import math
import tracemalloc
from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    is_input_type,
    parse,
    type_from_ast,
    validate,
)
from graphql import (
    build_schema as build_sdl,
)
from graphql.execution.values import VariableValues, get_variable_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import Undefined
from hypothesis import event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.api.coercion import compile_variables
from app.api.schema import build_schema

SCHEMA = build_schema()._schema
OPERATIONS = {
    "track": "mutation T($input: TrackEventInput!) { trackEvent(input: $input) { duplicate } }",
    "many": "mutation M($inputs: [TrackEventInput!]!) { trackEvents(inputs: $inputs) "
    "{ acceptedCount } }",
    "upsert": "mutation U($input: ContactInput!) { upsertContact(input: $input) "
    "{ contact { id } } }",
    "upserts": "mutation V($inputs: [ContactInput!]!) { upsertContacts(inputs: $inputs) "
    "{ __typename } }",
    "contacts": "query C($filter: ContactFilter, $order: ContactOrder, $first: Int, "
    "$after: String) { contacts(filter: $filter, orderBy: $order, first: $first, after: $after) "
    "{ totalCount } }",
    "segment": "mutation S($input: SegmentInput!) { createSegment(input: $input) { __typename } }",
    "rule": "mutation R($id: ID!, $input: MessageRuleInput!) { updateMessageRule(id: $id, "
    "input: $input) { __typename } }",
    "messages": "query Q($c: ContactRef, $s: MessageStatus, $f: Int, $h: String) "
    "{ messages(contact: $c, status: $s, first: $f, userHash: $h) { __typename } }",
    "defaults": "query D($f: Int = 5, $filter: ContactFilter = {role: USER}, $ids: [ID!]) "
    "{ contacts(first: $f, filter: $filter, after: $ids) { totalCount } }",
}
OPERATION_NODES: dict[str, OperationDefinitionNode] = {}
for _name, _text in OPERATIONS.items():
    _document = parse(_text)
    if _name != "defaults":  # `after: $ids` is ill-typed on purpose: coercion does not check it
        assert validate(SCHEMA, _document) == [], _name
    [_operation] = _document.definitions
    assert isinstance(_operation, OperationDefinitionNode)
    OPERATION_NODES[_name] = _operation


def coerced(name: str, variables: Any) -> tuple[VariableValues | None, Any]:
    """The compiled answer and graphql-core's for one of Tally's operations."""
    return compare(SCHEMA, OPERATION_NODES[name], variables)


def compare(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Any
) -> tuple[VariableValues | None, Any]:
    """The compiled answer and graphql-core's, checked against each other."""
    compiled = compile_variables(schema, operation)
    assert compiled is not None
    mine = compiled.coerce(variables)
    theirs = get_variable_values(
        schema, operation.variable_definitions or (), variables, max_errors=50
    )
    if isinstance(theirs, list):
        assert mine is None, (variables, theirs)
    elif mine is not None:
        assert_same(mine.coerced, theirs.coerced)
        assert list(mine.sources) == list(theirs.sources)
        for key, source in mine.sources.items():
            other = theirs.sources[key]
            assert source.value is other.value
            assert source.signature.name == other.signature.name == key
            assert str(source.signature.type) == str(other.signature.type)
            assert source.signature.default_value is other.signature.default_value
    return mine, theirs


def assert_same(mine: Any, theirs: Any) -> None:
    """Equal values of the same types, dicts with their keys in the same order."""
    assert type(mine) is type(theirs), (mine, theirs)
    if isinstance(mine, dict):
        assert list(mine) == list(theirs), (mine, theirs)
        for key in mine:
            assert_same(mine[key], theirs[key])
    elif isinstance(mine, list):
        assert len(mine) == len(theirs)
        for a, b in zip(mine, theirs, strict=True):
            assert_same(a, b)
    elif isinstance(mine, float) and math.isnan(mine):
        assert math.isnan(theirs)
    else:
        assert mine == theirs, (mine, theirs)


def answered(name: str, variables: Any) -> bool:
    mine, _ = coerced(name, variables)
    return mine is not None


EVENT = {
    "name": "viewed-pricing",
    "contact": {"userId": "u1"},
    "metadata": {"path": "/pricing", "price": {"amount": 4900, "currency": "EUR"}, "n": [1.5]},
    "idempotencyKey": "k1",
}


def test_the_regular_cases_are_answered_as_graphql_core_answers_them() -> None:
    regular = [
        ("track", {"input": EVENT}),
        ("track", {"input": {**EVENT, "occurredAt": "2026-11-28T10:00:00Z", "userHash": None}}),
        ("track", {"input": {**EVENT, "contact": {"id": 12}, "metadata": None}, "extra": 1}),
        ("many", {"inputs": [EVENT, {**EVENT, "contact": {"anonymousId": "a"}}]}),
        ("many", {"inputs": EVENT}),  # a single value is a list of one
        ("many", {"inputs": []}),
        ("upsert", {"input": {"ref": {"email": "a@b.c"}, "customAttributes": {"plan": "pro"}}}),
        ("upserts", {"inputs": [{"ref": {"userId": "u"}, "signedUpAt": "2026-01-01"}]}),
        ("contacts", {}),
        ("contacts", {"filter": None, "first": 3.0, "order": {"field": "EVENT_COUNT"}}),
        ("contacts", {"order": {"field": "CREATED_AT", "direction": "ASC"}, "after": "x"}),
        (
            "contacts",
            {
                "filter": {
                    "and": [{"role": "LEAD"}, {"not": {"email": {"in": "a@b.c"}}}],
                    "attribute": {"name": "n", "number": {"gt": 2, "lte": 2.5}},
                    "event": {
                        "name": "e",
                        "count": {"gte": 1},
                        "within": {
                            "lastDays": 7,
                            "count": {"eq": 2},
                            "metadata": [{"key": "k", "boolean": True}],
                        },
                    },
                    "createdAt": {"before": "2026-11-28T10:00:00+02:00", "exists": False},
                    "inSegment": 7,
                }
            },
        ),
        ("segment", {"input": {"name": "s", "filter": {"userId": {"startsWith": "u"}}}}),
        (
            "rule",
            {
                "id": "r1",
                "input": {
                    "name": "r",
                    "trigger": {"kind": "EVENT", "eventName": "e"},
                    "content": {"channel": "IN_APP", "body": "hi"},
                },
            },
        ),
        ("messages", {"c": {"anonymousId": "a"}, "s": "SENT", "f": -1, "h": None}),
        ("defaults", {"f": 1, "filter": None, "ids": [1, "2"]}),
    ]
    for name, variables in regular:
        mine, _ = coerced(name, variables)
        assert mine is not None, (name, variables)
    mine, _ = coerced("track", {"input": EVENT})
    assert mine is not None
    value = mine.coerced["input"]
    assert value["metadata"] is EVENT["metadata"]  # the JSON scalar's value, as given
    assert (value["occurredAt"], value["userHash"]) == (None, None)  # defaults of absent fields
    mine, _ = coerced("contacts", {"order": {"field": "EVENT_COUNT"}})
    assert mine is not None
    order = mine.coerced["order"]
    assert isinstance(order["field"], Enum)  # Strawberry's enum, as its enum type gives it
    assert order["direction"].name == "DESC"  # the field's default
    mine, _ = coerced("upsert", {"input": {"ref": {"userId": "u"}, "lastSeenAt": "2026-11-28"}})
    assert mine is not None
    assert mine.coerced["input"]["lastSeenAt"] == datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("track", {}),  # a non-null variable absent
        ("track", {"input": None}),  # null where a non-null is required
        ("track", {"input": {"name": "a"}}),  # a required field absent
        ("track", {"input": {**EVENT, "nme": "a"}}),  # an unknown field
        ("track", {"input": {**EVENT, "userHash": Undefined}}),  # a field given as Undefined
        ("track", {"input": {**EVENT, "name": None}}),
        ("track", {"input": {**EVENT, "name": 3}}),  # String refuses non-strings
        ("track", {"input": {**EVENT, "contact": {"userId": "u", "email": "e"}}}),  # one of
        ("track", {"input": {**EVENT, "contact": {}}}),
        ("track", {"input": {**EVENT, "contact": {"userId": None}}}),
        ("track", {"input": {**EVENT, "contact": {"id": 1.5}}}),  # ID refuses fractions
        ("track", {"input": {**EVENT, "contact": {"id": True}}}),
        ("track", {"input": {**EVENT, "occurredAt": "yesterday"}}),  # the scalar raises
        ("track", {"input": OrderedDict(EVENT)}),  # a dict subclass (graphql-core takes it)
        ("track", {"input": [EVENT]}),
        ("many", {"inputs": (EVENT,)}),  # a tuple (graphql-core takes it)
        ("many", {"inputs": [EVENT, None]}),
        ("contacts", {"first": 1.5}),  # Int refuses fractions, bools, 33-bit values
        ("contacts", {"first": True}),
        ("contacts", {"first": 2**31}),
        ("contacts", {"first": Decimal(3)}),  # graphql-core refuses it, for variables
        ("contacts", {"filter": {"attribute": {"name": "n", "number": {"gt": True}}}}),
        ("contacts", {"filter": {"attribute": {"name": "n", "number": {"gt": 2**1024}}}}),
        ("contacts", {"filter": {"attribute": {"name": "n", "number": {"gt": math.inf}}}}),
        ("contacts", {"order": {"field": "NOPE"}}),  # not a value of the enum
        ("contacts", {"order": {"field": "EVENT_COUNT", "direction": None}}),
        ("defaults", {}),  # variable defaults are graphql-core's to apply
        ("defaults", {"f": 1}),
        ("rule", {"id": "r", "input": {"name": "r"}}),
    ],
)
def test_doubts_are_handed_to_graphql_core(name: str, variables: Any) -> None:
    assert not answered(name, variables)


def test_inputs_that_are_not_a_dict_are_declined() -> None:
    compiled = compile_variables(SCHEMA, OPERATION_NODES["contacts"])
    assert compiled is not None
    inputs: object
    for inputs in ([], None, "x", OrderedDict()):
        assert compiled.coerce(inputs) is None


def nested(levels: int, *, through: str) -> dict[str, Any]:
    """A filter nested through `not`, `and` lists, or `and` given a single value."""
    value: dict[str, Any] = {"role": "USER"}
    for _ in range(levels):
        if through == "not":
            value = {"not": value}
        else:
            value = {"and": [value] if through == "and" else value}
    return value


@pytest.mark.parametrize("through", ["not", "and", "single and"])
def test_nesting_is_declined_before_graphql_core_finds_it_too_deep(through: str) -> None:
    deep = {"filter": nested(MAX_NESTING_DEPTH, through=through)}
    _, theirs = coerced("contacts", deep)
    assert isinstance(theirs, list)
    assert [e.message for e in theirs] == ["Variable values are nested too deeply."]
    answers = [answered("contacts", {"filter": nested(n, through=through)}) for n in range(100)]
    assert all(answers)
    for levels in range(MAX_NESTING_DEPTH // 2 - 5, MAX_NESTING_DEPTH + 3):
        coerced("contacts", {"filter": nested(levels, through=through)})  # checked alike


def test_operations_graphql_core_cannot_read_are_not_compiled() -> None:
    for text in (
        "query ($x: Nope) { contacts { totalCount } }",
        "query ($x: Contact) { contacts { totalCount } }",  # an output type
        "query ($x: Int, $x: Int) { contacts { totalCount } }",
    ):
        [operation] = parse(text).definitions
        assert isinstance(operation, OperationDefinitionNode)
        assert compile_variables(SCHEMA, operation) is None


# What Tally's schema does not have: graphql-core's own @oneOf, lists of lists, of JSON, a
# scalar and an out_type that answer graphql-core's "invalid" (Undefined) or raise
OTHER = build_sdl("""
scalar JSON
scalar Odd
input One @oneOf { a: String, b: Int }
input Out { x: Int }
input Shapes { lists: [[Int]], json: [JSON], one: One, name: String = "n", out: Out, odd: Odd }
type Query { f(s: Shapes, j: [JSON], o: One): Int }
""")
[OTHER_OPERATION] = parse(
    "query ($s: Shapes, $j: [JSON], $o: One) { f(s: $s, j: $j, o: $o) }"
).definitions


def _odd(value: Any) -> Any:
    if value == "raise":
        raise ValueError(value)
    return Undefined if value == "undefined" else ("odd", value)


def _out(value: dict[str, Any]) -> Any:
    if value["x"] == 1:  # graphql-core reports it (another exception would propagate)
        raise GraphQLError("x is 1")
    return Undefined if value["x"] == 0 else ("out", value)


_odd_type = OTHER.type_map["Odd"]
assert isinstance(_odd_type, GraphQLScalarType)
_odd_type.coerce_input_value = _odd
_out_type = OTHER.type_map["Out"]
assert isinstance(_out_type, GraphQLInputObjectType)
_out_type.out_type = _out  # type: ignore[method-assign]


@pytest.mark.parametrize(
    ("variables", "answer"),
    [
        ({"o": {"a": "x"}}, True),
        ({"o": {"b": 1}, "s": {"one": {"a": "y"}}}, True),
        ({"o": {"a": None}}, False),
        ({"o": {"a": "x", "b": 1}}, False),
        ({"o": {}}, False),
        ({"s": {"lists": 5}}, True),  # [[5]]
        ({"s": {"lists": [5, None, [6, None]]}}, True),
        ({"s": {"lists": None}, "j": None}, True),
        ({"s": {"lists": [[1.5]]}}, False),
        ({"s": {"json": {"k": 1}}, "j": "single"}, True),
        ({"s": {"name": None}}, True),
        ({"s": {}}, True),  # the default "n"
        ({"j": ("a", 1)}, False),  # a tuple is a list to graphql-core
        ({"j": {"a", 1}}, False),
        ({"j": [Undefined]}, True),  # [None]
        ({"s": {"odd": 3, "out": {"x": 2}}}, True),
        ({"s": {"odd": "undefined"}}, False),
        ({"s": {"odd": "raise"}}, False),
        ({"s": {"out": {"x": 0}}}, False),
        ({"s": {"out": {"x": 1}}}, False),
    ],
)
def test_other_shapes_are_coerced_as_graphql_core_coerces_them(
    variables: dict[str, Any], answer: bool
) -> None:
    assert isinstance(OTHER_OPERATION, OperationDefinitionNode)
    mine, _ = compare(OTHER, OTHER_OPERATION, variables)
    assert (mine is not None) is answer


ODD = st.sampled_from(
    [
        Undefined,
        (),
        ("a",),
        b"x",
        Decimal("1.5"),
        float("nan"),
        float("inf"),
        2**31,
        -(2**31) - 1,
        2**53 + 1,
        2**1100,
        OrderedDict(a=1),
        object(),
    ]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
LEAVES: dict[str, st.SearchStrategy[Any]] = {  # values graphql-core takes
    "Int": st.integers(-(2**31), 2**31 - 1) | st.sampled_from([1.0, -0.0, 2**31 - 1, -(2**31)]),
    "Float": st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53),
    "String": st.text(max_size=8),
    "Boolean": st.booleans(),
    "ID": st.text(max_size=5) | st.integers() | st.sampled_from([3.0, -0.0]),
    "DateTime": st.sampled_from(["2026-11-28T10:00:00Z", "2026-11-28", "2026-11-28T10:00+02:00"]),
    "JSON": JSON,
}
WRONG: dict[str, st.SearchStrategy[Any]] = {  # and values near them
    "Int": st.sampled_from([2**31, -(2**31) - 1, 2.5, True, "1", math.nan]),
    "Float": st.sampled_from([2**1100, 2**53 + 1, True, "1.5", math.inf, math.nan]),
    "String": st.sampled_from([1, True, b"x"]),
    "Boolean": st.sampled_from([0, 1, "true"]),
    "ID": st.sampled_from([1.5, True, math.inf]),
    "DateTime": st.sampled_from(["soon", "", 17, "2026-13-01"]),
    "JSON": st.sampled_from([Undefined]),
}


def values(type_: GraphQLInputType, *, noisy: bool, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of the type; noisy: with wrong ones (nulls, other types, odd objects) anywhere."""
    non_null = isinstance(type_, GraphQLNonNull)
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    base: st.SearchStrategy[Any]
    if isinstance(type_, GraphQLList):
        item = values(type_.of_type, noisy=noisy, depth=depth + 1)
        base = st.lists(item, max_size=3) | item
    elif isinstance(type_, GraphQLInputObjectType):
        base = objects(type_, noisy=noisy, depth=depth)
    elif isinstance(type_, GraphQLEnumType):
        base = st.sampled_from(list(type_.values))
    else:
        assert isinstance(type_, GraphQLScalarType)
        base = LEAVES[type_.name] | WRONG[type_.name] if noisy else LEAVES[type_.name]
    if noisy:
        return base | st.none() | JSON | ODD
    return base if non_null else base | st.none()


def objects(type_: GraphQLInputObjectType, *, noisy: bool, depth: int) -> st.SearchStrategy[Any]:
    fields = type_.fields
    if depth > 3:
        return st.just(smallest(type_))
    strategies = {name: values(f.type, noisy=noisy, depth=depth + 1) for name, f in fields.items()}
    if type_.out_type is not GraphQLInputObjectType.out_type:  # Strawberry's one-of check
        members = {n: values(GraphQLNonNull(f.type), noisy=noisy) for n, f in fields.items()}
        one = st.sampled_from(list(fields)).flatmap(
            lambda name: st.fixed_dictionaries({name: members[name]})
        )
        return one | st.dictionaries(st.sampled_from(list(fields)), JSON) if noisy else one
    required = {n: s for n, s in strategies.items() if isinstance(fields[n].type, GraphQLNonNull)}
    optional = {n: s for n, s in strategies.items() if n not in required}
    shaped = st.fixed_dictionaries(required, optional=optional)
    if not noisy:
        return shaped
    extra = st.fixed_dictionaries({}, optional={"extra": JSON, **strategies})
    return (
        shaped | extra | st.builds(lambda d, k, v: {**d, k: v}, shaped, st.text(max_size=3), JSON)
    )


SMALLEST = {"Int": 1, "Float": 0.5, "String": "x", "Boolean": True, "ID": "1", "JSON": {}}
SMALLEST["DateTime"] = "2026-11-28"


def smallest(type_: GraphQLInputType) -> Any:
    """The least value of a non-null type: required fields only, lists empty."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return []
    if isinstance(type_, GraphQLInputObjectType):
        fields = type_.fields.items()
        return {n: smallest(f.type) for n, f in fields if isinstance(f.type, GraphQLNonNull)}
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    return SMALLEST[str(type_)]


def operation_values(name: str, *, noisy: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Values of the operation's variables; not noisy: non-null ones always given."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {"unused": JSON}
    for node in OPERATION_NODES[name].variable_definitions or ():
        type_ = type_from_ast(SCHEMA, node.type)
        assert is_input_type(type_)
        given = required if isinstance(type_, GraphQLNonNull) and not noisy else optional
        given[node.variable.name.value] = values(type_, noisy=noisy)
    return st.fixed_dictionaries(required, optional=optional)


@hypothesis_settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_generated_variables_are_coerced_as_graphql_core_coerces_them(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(OPERATIONS)))
    variables = data.draw(operation_values(name, noisy=data.draw(st.booleans())))
    mine, _ = coerced(name, variables)
    event(f"{name}: {'declined' if mine is None else 'answered'}")


def test_the_size_charged_for_a_compiled_coercion_is_near_what_it_takes() -> None:
    for name in ("track", "contacts", "messages"):
        compile_variables(SCHEMA, OPERATION_NODES[name])  # caches of graphql-core's warm
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            compiled = compile_variables(SCHEMA, OPERATION_NODES[name])
            taken = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert compiled is not None
        assert taken / 2 < compiled.size_bytes < taken * 2, (name, taken, compiled.size_bytes)
