"""What a PUBLISHABLE key may do: trackEvent and upsertContact for one contact, and subscribe
to that contact's messages. Everything else is FORBIDDEN, checked before anything runs."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

PUBLISHABLE = {
    OperationType.MUTATION: {"trackEvent", "upsertContact"},
    OperationType.SUBSCRIPTION: {"messages"},
}


def root_fields(document: DocumentNode, operation_name: str | None) -> set[str]:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    names: set[str] = set()

    def walk(selections: SelectionSetNode, seen: frozenset[str]) -> Iterator[str]:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                yield selection.name.value
            elif isinstance(selection, InlineFragmentNode):
                yield from walk(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    yield from walk(fragments[name].selection_set, seen | {name})

    for operation in chosen[:1]:
        names.update(walk(operation.selection_set, frozenset()))
    return names


class KeyScopes(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        auth = getattr(context.context, "auth", None)
        document = context.graphql_document
        if auth is not None and not auth.is_admin and document is not None:
            allowed = PUBLISHABLE.get(context.operation_type, set()) | {"__typename"}
            forbidden = sorted(root_fields(document, context.operation_name) - allowed)
            if forbidden:
                context.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            f"A publishable key may not use {', '.join(forbidden)}.",
                            extensions={"code": "FORBIDDEN"},
                        )
                    ],
                )
        yield
