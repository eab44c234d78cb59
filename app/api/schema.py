"""The Strawberry schema: roots, scalars, extensions."""

from __future__ import annotations

import logging
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.api.extensions import CodedErrors, OperationTiming, is_unexpected
from app.api.mutation import Mutation
from app.api.query import Query
from app.api.scalars import DATE_TIME
from app.api.scopes import KeyScopes
from app.api.subscription import Subscription

log = logging.getLogger("app.api")


class TallySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Request faults are the client's to read; only our own faults go to the log, in full,
        # without the query text or variables (which may carry keys or user hashes).
        for error in errors:
            if is_unexpected(error):
                log.error(
                    "GraphQL resolver failed at %s", error.path, exc_info=error.original_error
                )


def build_schema(*, max_http_batch_operations: int = 20) -> strawberry.Schema:
    return TallySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(
            scalar_map={datetime: DATE_TIME},
            batching_config={"max_operations": max_http_batch_operations},
        ),
        extensions=[
            lambda: ParserCache(maxsize=1000),
            lambda: ValidationCache(maxsize=1000),
            CodedErrors,
            OperationTiming,
            KeyScopes,
        ],
    )
