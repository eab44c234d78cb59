"""What a document must pass before anything runs, cheapest first, each in linear time:

1. its size — depth, fields once fragments are expanded, aliases (`measure`, one pass);
2. the key's scope (a publishable key reaches nothing else first);
3. GraphQL validation (cached with the parsed document);
4. its cost — the nodes it asks for — and the width of its batches.

Replaces Strawberry's ParserCache, ValidationCache, QueryDepthLimiter and MaxAliasesLimiter.
Suggestions ("Did you mean …?") are shown to admin keys only: they would spell out the schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from graphql import ASTValidationRule, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from app.api.documents import DocumentCache, Entry, operation_names
from app.api.extensions import without_suggestions
from app.api.measure import Bounds, Measure, measure
from app.api.scopes import forbidden_reads, scope_error
from app.domain.errors import RequestError, check_batch_size
from app.services.auth import Principal
from app.settings import Settings

MAX_FIELDS = 10_000  # fields once fragments are expanded
MAX_REPEATS = 50  # fields answering to one name in one selection set


@dataclass(frozen=True)
class Limits:
    depth: int
    aliases: int
    cost: int
    batch: int
    bounds: Bounds

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        lists = {
            "results": settings.max_batch_size,
            "metadata": settings.max_metadata_keys,
            "userErrors": 10,
            "eventSummaries": settings.max_event_names,
            "eventTypes": settings.max_event_names,
            "metadataKeys": settings.max_metadata_keys_per_name,
        }
        return cls(
            depth=settings.max_query_depth,
            aliases=settings.max_aliases,
            cost=settings.max_query_cost,
            batch=settings.max_batch_size,
            bounds=Bounds(lists=lists),
        )


class DocumentChecks(SchemaExtension):
    """Pass as a factory sharing one cache: `lambda: DocumentChecks(cache, checks)`."""

    def __init__(self, cache: DocumentCache, checks: Checks) -> None:
        self.cache = cache
        self.checks = checks
        self.entry: Entry | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            self.entry = self.cache.get(context.query)
        if self.entry is not None:
            context.graphql_document = self.entry.document
        yield
        if self.entry is None and context.query and context.graphql_document is not None:
            self.entry = self.cache.add(context.query, context.graphql_document)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self.entry is None:  # a document given without text: nothing to cache
            yield
            return
        context.pre_execution_errors = self.checks.errors(
            self.entry,
            schema=context.schema._schema,
            name=context.operation_name,
            variables=context.variables,
            auth=getattr(context.context, "auth", None),
            rules=context.validation_rules,
        )
        yield


@dataclass(frozen=True)
class Checks:
    """The checks of a cached document's operation, as plain calls: `DocumentChecks` runs them
    inside Strawberry, the view's lean path (app.api.execution) without it."""

    limits: Limits

    def errors(
        self,
        entry: Entry,
        *,
        schema: GraphQLSchema,
        name: str | None,
        variables: object,
        auth: Principal | None,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        """What refuses the operation `name` (the operation Strawberry picks: the one named, or
        the first), none when it may run."""
        measured = self._measure(entry, schema, name, variables)
        errors = self._size_errors(measured)
        if not errors and (refused := scope_error(auth, lambda: _forbidden(entry, schema, name))):
            errors = [refused]
        if not errors:
            if entry.errors is None:
                entry.errors = validate_document(schema, entry.document, rules)
            admin = auth is not None and auth.is_admin
            # copies: the cached errors must keep their suggestions for admin keys
            errors = [e if admin else without_suggestions(e) for e in entry.errors]
        if not errors:
            errors = self._cost_errors(measured)
        return errors

    def _measure(
        self, entry: Entry, schema: GraphQLSchema, name: str | None, variables: object
    ) -> Measure:
        if name in entry.measures:
            return entry.measures[name]
        values = variables if isinstance(variables, Mapping) else None
        measured = measure(schema, entry.document, name, values, self.limits.bounds)
        if not measured.reads_variables and (name is None or name in operation_names(entry)):
            entry.measures[name] = measured
        return measured

    def _size_errors(self, measured: Measure) -> list[GraphQLError]:
        size, limits = measured.size, self.limits
        if size.fields > MAX_FIELDS:
            return [
                _error(
                    "QUERY_TOO_LARGE",
                    f"This document has {size.fields} fields once its fragments are expanded; "
                    f"at most {MAX_FIELDS}.",
                )
            ]
        if measured.repeats > MAX_REPEATS:
            return [
                _error(
                    "QUERY_TOO_LARGE",
                    f"One selection asks for the same field {measured.repeats} times; at most "
                    f"{MAX_REPEATS}.",
                )
            ]
        if size.depth > limits.depth:
            return [
                _error(
                    "QUERY_TOO_DEEP",
                    f"This document nests fields {size.depth} deep; at most {limits.depth}.",
                )
            ]
        if size.aliases > limits.aliases:
            return [
                _error(
                    "TOO_MANY_ALIASES",
                    f"{size.aliases} aliases found (fragments expanded); at most {limits.aliases}.",
                )
            ]
        return []

    def _cost_errors(self, measured: Measure) -> list[GraphQLError]:
        try:
            check_batch_size(measured.batch, self.limits.batch)
        except RequestError as e:
            return [_error(e.code, str(e))]
        cost, limit = measured.size.cost, self.limits.cost
        if cost > limit:
            return [
                GraphQLError(
                    f"This operation asks for up to {cost} nodes (the product of page sizes "
                    f"along each path, summed); at most {limit}. Ask for smaller pages.",
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": limit},
                )
            ]
        return []


def _forbidden(entry: Entry, schema: GraphQLSchema, name: str | None) -> list[str]:
    """What a publishable key may not read in the operation: by document, like measures."""
    if name in entry.forbidden:
        return entry.forbidden[name]
    found = forbidden_reads(schema, entry.document, name)
    if name is None or name in operation_names(entry):
        entry.forbidden[name] = found
    return found


def _error(code: str, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})
