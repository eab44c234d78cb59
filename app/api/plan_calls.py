"""A Strawberry resolver called as Strawberry's resolver wrapper calls it, with the wrapper's
decisions made once: for a field without extensions (permission classes included) in a schema
without exception handlers, Strawberry 0.341's wrapper (`GraphQLCoreConverter.from_resolver`
and `get_arguments`, strawberry/schema/schema_converter.py) builds `config.info_class(
_raw_info=info, _field=field)`, converts each argument given (`convert_arguments`: by
`name_converter.from_argument`, with `convert_argument`), passes the source as `self` (and as
its root or parent parameter), the Info as its info parameter, calls the resolver and, for an
async one, awaits it. Each argument's conversion is picked once too: a value of an input type
that builds itself (`from_input`, app.api.input_plans), optional or not, goes straight into
its hook with the InputContext `convert_argument` would give it, skipping the type dispatch
that leads there; any other type goes through `convert_argument` as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from inspect import iscoroutinefunction
from typing import Any

from graphql import GraphQLResolveInfo
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryOptional, StrawberryType, has_object_definition
from strawberry.types.field import StrawberryField

from app.api.input_plans import hooked

# (value, Strawberry's Info, the argument's GraphQL name) -> the resolver's value
Convert = Callable[[Any, Any, str], Any]


@dataclass(frozen=True, slots=True)
class Call:
    field: StrawberryField
    resolver: Callable[..., Any]
    info_class: type
    arguments: tuple[tuple[str, str, Convert], ...]  # GraphQL name, Python name, conversion
    with_self: bool
    source_names: tuple[str, ...]  # the root and parent parameters, in Strawberry's order
    info_name: str | None

    def __call__(self, source: Any, raw_info: GraphQLResolveInfo[Any], args: dict[str, Any]) -> Any:
        info = self.info_class(_raw_info=raw_info, _field=self.field)
        kwargs: dict[str, Any] = {}
        for graphql_name, python_name, convert in self.arguments:
            if graphql_name in args:
                kwargs[python_name] = convert(args[graphql_name], info, graphql_name)
        for name in self.source_names:
            kwargs[name] = source
        if self.info_name is not None:
            kwargs[self.info_name] = info
        return self.resolver(source, **kwargs) if self.with_self else self.resolver(**kwargs)


def planned_call(
    field: StrawberryField,
    *,
    config: StrawberryConfig,
    registry: Mapping[Any, Any],
) -> Call | None:
    """The call, or None when the field's resolver is outside what `Call` covers (no resolver,
    field extensions, an async generator, an uncallable resolver)."""
    resolver = field.base_resolver
    if resolver is None or field.extensions or not callable(resolver.wrapped_func):
        return None
    if field.is_async and not iscoroutinefunction(resolver.wrapped_func):
        return None  # an async generator: Strawberry's wrapper hands it on un-awaited
    arguments = tuple(
        (
            config.name_converter.from_argument(argument),
            argument.python_name,
            _conversion(argument.type, config=config, registry=registry),
        )
        for argument in field.arguments
        if argument.python_name
    )
    if len(arguments) != len(field.arguments):
        return None
    sources = (resolver.parent_parameter, resolver.root_parameter)
    return Call(
        field=field,
        resolver=resolver.wrapped_func,
        info_class=config.info_class,
        arguments=arguments,
        with_self=resolver.self_parameter is not None,
        source_names=tuple(p.name for p in sources if p is not None),
        info_name=resolver.info_parameter.name if resolver.info_parameter else None,
    )


def _conversion(
    type_: StrawberryType | type, *, config: StrawberryConfig, registry: Mapping[Any, Any]
) -> Convert:
    # exactly StrawberryOptional: StrawberryMaybe, a subclass, converts otherwise
    inner = type_.of_type if type(type_) is StrawberryOptional else type_
    if isinstance(inner, type) and has_object_definition(inner):
        hook = inner.__strawberry_definition__.from_input
        if hook is not None:

            def from_input(value: Any, info: Any, name: str) -> Any:
                return hooked(
                    hook,
                    inner,
                    value,
                    info=info,
                    config=config,
                    scalar_registry=registry,
                    path=(name,),
                )

            return from_input

    def strawberrys(value: Any, info: Any, name: str) -> Any:
        return convert_argument(value, type_, registry, config, info, path=(name,))

    return strawberrys
