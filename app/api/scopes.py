"""What a PUBLISHABLE key may ask for: the one list, checked before anything runs.

A publishable key is public (it ships in web pages), so it reports events and updates one
contact, and never reads personal data back (email, name, attributes, summaries, activity,
metadata). Every field it selects, on every type, through aliases, fragments and inline
fragments, must be in PUBLISHABLE_READS; anything else refuses the whole operation with
FORBIDDEN and nothing runs. To let publishable keys read something new (a message list, say),
add its root field and the fields of its types here: nothing else decides it.
"""

from __future__ import annotations

from collections.abc import Callable

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLObjectType

from app.api.documents import chosen_operation
from app.services.auth import Principal

# GraphQL type name -> the fields a publishable key may select on it (`__typename` always).
PUBLISHABLE_READS: dict[str, frozenset[str]] = {
    # Its own contact's sent in-app messages: whose is app/services/inbox.py's to say.
    "Query": frozenset({"messages"}),
    "MessageConnection": frozenset({"edges", "pageInfo", "totalCount"}),
    "MessageEdge": frozenset({"cursor", "node"}),
    "PageInfo": frozenset({"hasNextPage", "endCursor"}),
    "Mutation": frozenset({"trackEvent", "upsertContact"}),
    "Subscription": frozenset({"messages"}),
    "TrackEventPayload": frozenset({"event", "contact", "duplicate", "userErrors"}),
    "ContactPayload": frozenset({"contact", "userErrors"}),
    "UserError": frozenset({"field", "message", "code"}),
    # The event as sent, without its metadata (a duplicate's original may be another's).
    "Event": frozenset({"id", "name", "occurredAt", "receivedAt"}),
    # Which contact, never who: no userId, email, name, attributes, summaries or activity.
    "Contact": frozenset({"id"}),
    # An in-app message is the contact's own; the person and the rule behind it are not.
    "Message": frozenset({"id", "status", "subject", "body", "dueAt", "sentAt", "createdAt"}),
}


def forbidden_reads(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> list[str]:
    """`Type.field` of every selection of the chosen operation a publishable key may not make.

    Linear in the document: each fragment is read once, whatever the number of its spreads.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = chosen_operation(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation else None
    if operation is None or root is None:
        return []
    refused: set[str] = set()
    spread: set[str] = set()
    pending: list[tuple[GraphQLNamedType, SelectionSetNode]] = [(root, operation.selection_set)]
    while pending:
        parent, selections = pending.pop()
        allowed = PUBLISHABLE_READS.get(parent.name, frozenset())
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name == "__typename":
                    continue
                if name not in allowed:
                    refused.add(f"{parent.name}.{name}")
                elif selection.selection_set is not None:
                    child = _field_type(parent, name)
                    if child is not None:
                        pending.append((child, selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = schema.get_type(condition.name.value) if condition else parent
                if inner is not None:
                    pending.append((inner, selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in spread:
                    spread.add(fragment.name.value)
                    inner = schema.get_type(fragment.type_condition.name.value)
                    if inner is not None:
                        pending.append((inner, fragment.selection_set))
    return sorted(refused)


def _field_type(parent: GraphQLNamedType, name: str) -> GraphQLNamedType | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) and name in parent.fields:
        named: GraphQLNamedType = get_named_type(parent.fields[name].type)
        return named
    return None


def scope_error(auth: Principal | None, forbidden: Callable[[], list[str]]) -> GraphQLError | None:
    """FORBIDDEN when a publishable key asks for more than it may (`forbidden`: the
    operation's `forbidden_reads`, asked only for publishable keys). Checked before validation
    (app.api.checks), so that such a key gets no further with anything else."""
    if auth is None or auth.is_admin:
        return None
    refused = forbidden()
    if not refused:
        return None
    return GraphQLError(
        f"A publishable key may not read or use {', '.join(refused)}: it reports "
        "events and never reads personal data back.",
        extensions={"code": "FORBIDDEN"},
    )
