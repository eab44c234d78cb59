"""DateTime as the contract says: ISO-8601 in UTC with "+00:00" on output."""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition

from app.domain.timestamps import format_iso, parse_instant


def _parse(value: object) -> datetime:
    instant = parse_instant(value) if isinstance(value, str) else None
    if instant is None:
        # A GraphQLError: graphql-core shows it as the client's mistake (any other exception
        # would be taken for a fault of ours and masked).
        raise GraphQLError(f"{value!r} is not an ISO-8601 date-time such as 2026-11-28T10:00:00Z.")
    return instant


def _serialize(value: datetime) -> str:
    return format_iso(value)


DATE_TIME: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description='An instant, ISO-8601. Output is always UTC: "2026-11-28T10:00:00+00:00". '
    "Input without an offset is read as UTC.",
    serialize=_serialize,
    parse_value=_parse,
)
