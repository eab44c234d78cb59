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


@strawberry.type(description="The outcome of one input of trackEvents.")
class TrackEventResult:
    index: int = strawberry.field(description="Position in the inputs list.")
    event: Event | None = strawberry.field(
        description="The event stored; for a duplicate, the first one sent with its key while "
        "it is inside the retention window."
    )
    duplicate: bool
    user_errors: list[UserError]


@strawberry.type
class TrackEventsPayload:
    results: list[TrackEventResult] = strawberry.field(description="One per input, in order.")
    accepted_count: int
    duplicate_count: int
    rejected_count: int


@strawberry.type
class ContactPayload:
    contact: Contact | None
    user_errors: list[UserError]


@strawberry.type(description="The outcome of one input of upsertContacts.")
class ContactResult:
    index: int = strawberry.field(description="Position in the inputs list.")
    contact: Contact | None
    user_errors: list[UserError]


@strawberry.type
class UpsertContactsPayload:
    results: list[ContactResult] = strawberry.field(description="One per input, in order.")
    upserted_count: int
    rejected_count: int


@strawberry.type
class DeleteContactPayload:
    deleted_contact_id: strawberry.ID | None
    deleted_event_count: int = strawberry.field(description="Raw events removed with it.")
    user_errors: list[UserError]
