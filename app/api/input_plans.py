"""Input types converted from a plan made once, for inputs that come by the thousand.

For every input value, Strawberry works out again each field's GraphQL name and type: 90 µs of
a TrackEventInput, most of what `trackEvents` spends outside the store. `planned` gives an
input type Strawberry's own hook for types that build their value (`from_input`), which does
the same conversion from a list made on first use: (GraphQL name, Python name, type, whether the
value passes through as is).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any, TypeVar

from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
    get_object_definition,
)

T = TypeVar("T", bound=type)

_Plan = list[tuple[str, str, StrawberryType | type, bool]]


def planned(cls: T) -> T:
    definition = get_object_definition(cls, strict=True)
    plan: _Plan = []
    nones = {
        field.python_name: None
        for field in definition.fields
        if field.default_value is MISSING and field.default_factory is MISSING
    }

    def from_input(type_: type, value: Mapping[str, Any], context: InputContext) -> Any:
        if not plan:
            plan.extend(_plan(definition, context))
        kwargs: dict[str, Any] = dict(nones)
        for graphql_name, python_name, field_type, as_is in plan:
            if graphql_name in value:
                given = value[graphql_name]
                kwargs[python_name] = (
                    given if as_is else context.convert(given, field_type, graphql_name)
                )
        return type_(**kwargs)

    definition.from_input = from_input
    return cls


def _plan(definition: StrawberryObjectDefinition, context: InputContext) -> _Plan:
    plan = []
    for field in definition.fields:
        field_type = field.resolve_type(type_definition=definition)
        inner = field_type.of_type if isinstance(field_type, StrawberryOptional) else field_type
        as_is = inner is not GlobalID and is_scalar(inner, context.scalar_registry)
        name = context.config.name_converter.from_field(field)
        plan.append((name, field.python_name, field_type, as_is))
    return plan
