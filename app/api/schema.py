"""The Strawberry schema: roots, scalars, extensions."""

from __future__ import annotations

import logging
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.api.checks import Checks, DocumentChecks, Limits
from app.api.documents import DocumentCache
from app.api.extensions import (
    OperationHooks,
    code_in_place,
    hide_suggestions,
    is_unexpected,
)
from app.api.mutation import Mutation
from app.api.query import Query
from app.api.scalars import DATE_TIME
from app.api.subscription import Subscription
from app.settings import Settings

log = logging.getLogger("app.api")


class TallySchema(strawberry.Schema):
    documents: DocumentCache  # parsed and validated documents (app.api.checks)
    checks: Checks  # what a document must pass before it runs

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        hide_suggestions(errors, execution_context.context if execution_context else None)
        # Request faults are the client's to read; only our own faults go to the log, in full,
        # without the query text or variables (which may carry keys or user hashes).
        for error in errors:
            if is_unexpected(error):
                log.error(
                    "GraphQL resolver failed at %s", error.path, exc_info=error.original_error
                )
            code_in_place(error)


def build_schema(settings: Settings | None = None) -> TallySchema:
    settings = settings or Settings()
    # One cache of parsed and validated documents for the schema's lifetime: validation is
    # most of Strawberry's per-request cost (~2 ms a document).
    cache, checks = DocumentCache(), Checks(Limits.of(settings))
    schema = TallySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(
            scalar_map={datetime: DATE_TIME},
            batching_config={"max_operations": settings.max_http_batch_operations},
        ),
        extensions=[
            lambda: OperationHooks(settings.max_tokens),
            lambda: DocumentChecks(cache, checks),
        ],
    )
    schema.documents, schema.checks = cache, checks
    return schema
