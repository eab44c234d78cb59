"""Filter and ordering inputs. A ContactFilter travels on as JSON in these field names (what a
saved segment keeps); app/domain/filters.py compiles it."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from app.api.enums import ContactRole
from app.domain.timestamps import format_iso


@strawberry.input(description="Fields set together are ANDed.")
class IntFilter:
    eq: int | None = None
    ne: int | None = None
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None


@strawberry.input(description="Fields set together are ANDed.")
class FloatFilter:
    eq: float | None = None
    ne: float | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


@strawberry.input(
    description="Fields set together are ANDed. contains and startsWith ignore case; ne and "
    "exists: false also match contacts without a value."
)
class StringFilter:
    eq: str | None = None
    ne: str | None = None
    in_: list[str] | None = strawberry.field(default=None, name="in")
    contains: str | None = None
    starts_with: str | None = None
    exists: bool | None = None


@strawberry.input(
    description="Relative fields count whole days back from the server clock's now: "
    "moreThanDaysAgo: N = before now - N days; lessThanDaysAgo: N = after now - N days; "
    "exactlyDaysAgo: N = on the UTC calendar day N days before today. before/after are "
    "exclusive instants; on is a UTC calendar day (2026-11-28); exists: false = unknown. "
    "A contact without the value matches none of them but exists: false."
)
class DateFilter:
    before: datetime | None = None
    after: datetime | None = None
    on: str | None = None
    more_than_days_ago: int | None = None
    less_than_days_ago: int | None = None
    exactly_days_ago: int | None = None
    exists: bool | None = None


@strawberry.input(description="A custom attribute, compared with the filter of its type.")
class AttributeFilter:
    name: str
    string: StringFilter | None = None
    number: FloatFilter | None = None
    boolean: bool | None = None
    date: DateFilter | None = None
    exists: bool | None = None


@strawberry.input(
    description="A condition on an event's metadata value. number also compares a money "
    "value's amount (minor units)."
)
class MetadataCondition:
    key: str
    string: StringFilter | None = None
    number: FloatFilter | None = None
    boolean: bool | None = None


@strawberry.input(
    description="Counts raw events of the last lastDays days (1 to the retention window)."
)
class EventWindowFilter:
    last_days: int
    count: IntFilter
    metadata: list[MetadataCondition] | None = None


@strawberry.input(
    description="Predicates about one event name, ANDed. count treats never performed as 0; "
    "firstAt/lastAt never match a contact that never performed it (wrap in not to include "
    "them). With no predicate: performed."
)
class EventFilter:
    name: str
    performed: bool | None = None
    count: IntFilter | None = None
    first_at: DateFilter | None = None
    last_at: DateFilter | None = None
    within: EventWindowFilter | None = None


@strawberry.input(
    description="Fields set together are ANDed; and / or / not nest up to 8 levels, 100 "
    "predicates in all (saved segments included)."
)
class ContactFilter:
    and_: list[ContactFilter] | None = strawberry.field(default=None, name="and")
    or_: list[ContactFilter] | None = strawberry.field(default=None, name="or")
    not_: ContactFilter | None = strawberry.field(default=None, name="not")
    role: ContactRole | None = None
    user_id: StringFilter | None = None
    email: StringFilter | None = None
    name: StringFilter | None = None
    created_at: DateFilter | None = None
    signed_up_at: DateFilter | None = None
    last_seen_at: DateFilter | None = None
    attribute: AttributeFilter | None = None
    event: EventFilter | None = None
    in_segment: strawberry.ID | None = None


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum
class ContactOrderField(Enum):
    CREATED_AT = "CREATED_AT"
    LAST_SEEN_AT = "LAST_SEEN_AT"
    SIGNED_UP_AT = "SIGNED_UP_AT"
    EVENT_COUNT = "EVENT_COUNT"
    EVENT_LAST_AT = "EVENT_LAST_AT"


@strawberry.input(
    description="Contacts without a value come last descending, first ascending; ties by id."
)
class ContactOrder:
    field: ContactOrderField
    direction: SortDirection = SortDirection.DESC
    event_name: str | None = strawberry.field(
        default=None, description="Required with EVENT_COUNT / EVENT_LAST_AT."
    )


@strawberry.input
class SegmentInput:
    name: str
    filter: ContactFilter


def as_json(value: Any) -> Any:
    """An input object as JSON in its GraphQL field names, unset fields left out."""
    definition = get_object_definition(value)
    if definition is not None:
        result = {}
        for field in definition.fields:
            item = getattr(value, field.python_name)
            if item is None or item is strawberry.UNSET:
                continue
            result[field.graphql_name or to_camel_case(field.python_name)] = as_json(item)
        return result
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return format_iso(value)
    return value
