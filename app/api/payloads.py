"""Mutation payloads: the result, or userErrors saying what to fix."""

from __future__ import annotations

import strawberry

from app.api.types import Contact, Event, EventSummary, UserError


@strawberry.type
class TrackEventPayload:
    event: Event | None = strawberry.field(
        description="The event stored; for a duplicate, the first one sent with the key while "
        "it is inside the retention window. Null when userErrors is not empty."
    )
    contact: Contact | None
    summary: EventSummary | None = strawberry.field(
        description="The contact's summary for this event name, after this event."
    )
    duplicate: bool = strawberry.field(
        description="True when the idempotencyKey was already seen: nothing was counted."
    )
    user_errors: list[UserError]


@strawberry.type
class ContactPayload:
    contact: Contact | None
    user_errors: list[UserError]
