"""DateTime as the contract says: ISO-8601 in UTC with "+00:00" on output."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition

from app.domain.timestamps import format_iso, to_utc_ms


def _parse(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime is an ISO-8601 string such as 2026-11-28T10:00:00Z.")
    try:
        return to_utc_ms(datetime.fromisoformat(value))
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO-8601 date-time such as 2026-11-28T10:00:00Z."
        ) from None


def _serialize(value: datetime) -> str:
    return format_iso(value)


DATE_TIME: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description='An instant, ISO-8601. Output is always UTC: "2026-11-28T10:00:00+00:00". '
    "Input without an offset is read as UTC.",
    serialize=_serialize,
    parse_value=_parse,
)
