"""One linear pass over a GraphQL document: depth, fields and aliases once fragments are
expanded, requested nodes (cost) and batch widths, each fragment measured once.

Strawberry's depth and alias rules walk a fragment spread again on every path that reaches it: a
chain of fragments each spreading the next twice costs 2^N steps. Here a fragment's measure is
memoised and sizes add up as integers, so the chain costs N steps and its 2^N fields are a number
to compare with a limit. A fragment that spreads itself (graphql-core reports the cycle later)
counts as empty on the way round.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)


@dataclass(frozen=True)
class Bounds:
    """How many nodes a list may hold when its query does not say (`first`)."""

    page: int = 100  # the largest `first`
    lists: Mapping[str, int] = field(default_factory=dict)  # by field name; else `page`


@dataclass(frozen=True)
class Size:
    depth: int = 0  # nesting of fields with selections, introspection fields aside
    fields: int = 0  # fields once fragments are expanded
    aliases: int = 0
    cost: int = 0  # nodes requested under one instance of the parent
    # response names of a selection set's own fields (fragments expanded), and how often each
    names: Mapping[str, int] = field(default_factory=dict)

    def __add__(self, other: Size) -> Size:
        return Size(
            max(self.depth, other.depth),
            self.fields + other.fields,
            self.aliases + other.aliases,
            self.cost + other.cost,
        )


@dataclass(frozen=True)
class Measure:
    size: Size
    batch: int  # the longest `inputs` list of the operation's fields
    reads_variables: bool  # the cost or batch came from variable values: measure again
    # the most fields answering to one name in one selection set: graphql-core compares them
    # pairwise (1,200 copies of `workspace { id }` took a second to validate)
    repeats: int = 0


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, object] | None,
    bounds: Bounds,
) -> Measure:
    """Every operation's depth, fields and aliases (as validation sees the document); the cost
    and batch width of the one that runs."""
    walk = _Walk(schema, document, variables or {}, bounds)
    total, chosen = Size(), Size()
    chosen_batch = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        walk.batch = 0
        walk.defaults = {
            v.variable.name.value: v.default_value for v in definition.variable_definitions or ()
        }
        root = schema.get_root_type(definition.operation)
        size = walk.selections(definition.selection_set, root)
        total += size
        name = definition.name.value if definition.name else None
        if operation_name is None or name == operation_name:
            chosen, chosen_batch = size, walk.batch
    return Measure(
        Size(total.depth, total.fields, total.aliases, chosen.cost),
        chosen_batch,
        walk.reads_variables,
        walk.repeats,
    )


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, object],
        bounds: Bounds,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.defaults: dict[str, ValueNode | None] = {}  # the operation's variable defaults
        self.bounds = bounds
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.measured: dict[str, Size] = {}
        self.reads_variables = False
        self.batch = 0
        self.repeats = 0

    def selections(self, node: SelectionSetNode, parent: GraphQLNamedType | None) -> Size:
        total, names = Size(), Counter[str]()
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                part = self.field(selection, parent)
                names[(selection.alias or selection.name).value] += 1
            else:
                if isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    inner = self.schema.get_type(condition.name.value) if condition else parent
                    part = self.selections(selection.selection_set, inner)
                else:
                    assert isinstance(selection, FragmentSpreadNode)
                    part = self.fragment(selection.name.value)
                names.update(part.names)
            total += part
        self.repeats = max(self.repeats, max(names.values(), default=0))
        return replace(total, names=names)

    def fragment(self, name: str) -> Size:
        if name in self.measured:
            return self.measured[name]
        definition = self.fragments.get(name)
        if definition is None:
            return Size()
        self.measured[name] = Size()  # a cycle back here counts as empty
        size = self.selections(
            definition.selection_set, self.schema.get_type(definition.type_condition.name.value)
        )
        self.measured[name] = size
        return size

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Size:
        name = node.name.value
        definition = _field_definition(parent, name)
        self.batch = max(self.batch, self.width(node, "inputs"))
        own = Size(fields=1, aliases=1 if node.alias else 0)
        if node.selection_set is None:
            return own
        inner_type = get_named_type(definition.type) if definition else None
        inner = self.selections(node.selection_set, inner_type)
        depth = 0 if name.startswith("__") else 1 + inner.depth
        nodes = self.nodes(node, definition, parent)
        cost = inner.cost if nodes is None else nodes + nodes * inner.cost
        return Size(depth, own.fields + inner.fields, own.aliases + inner.aliases, cost)

    def nodes(
        self, node: FieldNode, definition: GraphQLField | None, parent: GraphQLNamedType | None
    ) -> int | None:
        """How many nodes the field answers with, or None for a single one."""
        if definition is None:
            return None
        if "first" in definition.args:
            given = self.argument(node, "first")
            default = definition.args["first"].default_value
            first = given if isinstance(given, int) else default
            if not isinstance(first, int) or isinstance(first, bool):
                return self.bounds.page
            return max(0, min(first, self.bounds.page))
        kind = definition.type.of_type if isinstance(definition.type, GraphQLNonNull) else None
        is_list = isinstance(kind or definition.type, GraphQLList)
        if not is_list or not is_composite_type(get_named_type(definition.type)):
            return None
        if parent is not None and parent.name.endswith("Connection"):
            return None  # the connection's page, counted on the connection
        bound = self.bounds.lists.get(node.name.value, self.bounds.page)
        names = self.argument(node, "names") if "names" in definition.args else None
        if isinstance(names, list | tuple):
            return min(len(names), bound)  # at most one item per name asked for
        return bound

    def argument(self, node: FieldNode, name: str) -> object:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self.value(argument.value)
        return None

    def value(self, node: ValueNode) -> object:
        if isinstance(node, VariableNode):
            self.reads_variables = True
            name = node.name.value
            if name in self.variables:
                return self.variables[name]
            default = self.defaults.get(name)
            return None if default is None else self.value(default)  # defaults are constants
        if isinstance(node, IntValueNode):
            return int(node.value) if len(node.value) < 19 else None  # past 64 bits: invalid
        if isinstance(node, ListValueNode):
            return node.values
        return None

    def width(self, node: FieldNode, name: str) -> int:
        given = self.argument(node, name)
        return len(given) if isinstance(given, list | tuple) else 0


def _field_definition(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    fields = getattr(parent, "fields", None)
    return fields.get(name) if isinstance(fields, Mapping) else None
