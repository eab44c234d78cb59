"""Input types converted from a plan made once, for inputs that come by the thousand.

For every input value, Strawberry works out again each field's GraphQL name and type: 90 µs of
a TrackEventInput, most of what `trackEvents` spends outside the store. `planned` gives an
input type Strawberry's own hook for types that build their value (`from_input`), which does
the same conversion from a list made on first use: (GraphQL name, Python name, how the value
converts: as is for scalars, straight into the hook of a planned input type nested in it (a
trackEvent's ContactRef: Strawberry's dispatch on the type, ~5 us, skipped), else Strawberry's
own conversion).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from functools import partial
from typing import Any, TypeVar

from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
    get_object_definition,
)
from strawberry.types.unset import UNSET

T = TypeVar("T", bound=type)

_Convert = Callable[[Any, InputContext, str], Any]  # (value, context, GraphQL name)
_Plan = list[tuple[str, str, _Convert | None]]  # None: the value passes through as is
_HOOKS: dict[type, Callable[[type, Mapping[str, Any], InputContext], Any]] = {}


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
        for graphql_name, python_name, convert in plan:
            if graphql_name in value:
                given = value[graphql_name]
                kwargs[python_name] = (
                    given if convert is None else convert(given, context, graphql_name)
                )
        return type_(**kwargs)

    definition.from_input = _HOOKS[cls] = from_input
    return cls


def _plan(definition: StrawberryObjectDefinition, context: InputContext) -> _Plan:
    plan: _Plan = []
    for field in definition.fields:
        field_type = field.resolve_type(type_definition=definition)
        inner = field_type.of_type if isinstance(field_type, StrawberryOptional) else field_type
        convert: _Convert | None = None
        if isinstance(inner, type) and inner in _HOOKS:
            convert = partial(_nested, inner)
        elif inner is GlobalID or not is_scalar(inner, context.scalar_registry):
            convert = partial(_strawberrys, field_type)
        name = context.config.name_converter.from_field(field)
        plan.append((name, field.python_name, convert))
    return plan


def hooked(
    hook: Callable[[type, Mapping[str, Any], InputContext], Any],
    cls: type,
    value: Any,
    *,
    info: Any,
    config: StrawberryConfig,
    scalar_registry: Mapping[Any, Any],
    path: tuple[str | int, ...],
) -> Any:
    """What Strawberry's convert_argument does with a value of an input type that builds
    itself (`from_input`): None and UNSET as they are, else its hook's, at `path`."""
    if value is None or value is UNSET:
        return value
    context = InputContext(info=info, config=config, scalar_registry=scalar_registry, path=path)
    return hook(cls, value, context)


def _nested(cls: type, value: Any, context: InputContext, name: str) -> Any:
    return hooked(
        _HOOKS[cls],
        cls,
        value,
        info=context.info,
        config=context.config,
        scalar_registry=context.scalar_registry,
        path=(*context.path, name),
    )


def _strawberrys(
    field_type: StrawberryType | type, value: Any, context: InputContext, name: str
) -> Any:
    return context.convert(value, field_type, name)
