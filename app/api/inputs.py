"""GraphQL input types, and their conversion into what the services take."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import strawberry
from strawberry.scalars import JSON

from app.api.input_plans import planned
from app.domain.events import TrackRequest
from app.domain.refs import RefInput
from app.services.contacts import ContactChanges

T = TypeVar("T")


def _given(value: T | None) -> T | None:
    return None if value is strawberry.UNSET else value


@planned
@strawberry.input(
    one_of=True,
    description="Exactly one field. userId/email name a USER, anonymousId a LEAD (a visitor), "
    "id the server-assigned contact id.",
)
class ContactRef:
    id: strawberry.ID | None = strawberry.UNSET
    user_id: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    anonymous_id: str | None = strawberry.UNSET

    def ref(self) -> RefInput:
        return RefInput(
            id=_given(self.id),
            user_id=_given(self.user_id),
            email=_given(self.email),
            anonymous_id=_given(self.anonymous_id),
        )


@planned
@strawberry.input
class TrackEventInput:
    name: str = strawberry.field(
        description="Trimmed, case-insensitive: letters, digits, space, - _ : /; 1..150 chars. "
        "Convention: past-tense verb-noun, e.g. upgraded-plan."
    )
    contact: ContactRef
    occurred_at: datetime | None = strawberry.field(
        default=None, description="Default: now. At most 5 minutes in the future."
    )
    metadata: JSON | None = strawberry.field(
        default=None,
        description="Flat object, at most 20 keys by default. Values: string, number, boolean, "
        'date (ISO string, or Unix seconds under a key ending in _date/_at), link ("https://…" '
        'or {"url", "value"}), money ({"amount": minor units, "currency": "EUR"}).',
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Seen before in this workspace (within retention): a duplicate, not counted.",
    )
    user_hash: str | None = strawberry.field(
        default=None,
        description="Publishable keys with identity verification on: hex HMAC-SHA256 of the "
        "userId (or email) keyed with the identity secret.",
    )

    def request(self) -> TrackRequest:
        return TrackRequest(
            name=self.name,
            contact=self.contact.ref(),
            occurred_at=self.occurred_at,
            metadata=self.metadata,
            idempotency_key=self.idempotency_key,
        )


@planned
@strawberry.input
class ContactInput:
    ref: ContactRef = strawberry.field(description="Who; created when missing (unless by id).")
    email: str | None = None
    user_id: str | None = strawberry.field(
        default=None,
        description="On a LEAD: converts it into the user with this userId (or email) when "
        "there is one (a merge), else in place. On a user: names one that has none yet; a "
        "user's userId never changes (USER_ID_IMMUTABLE).",
    )
    name: str | None = None
    signed_up_at: datetime | None = None
    last_seen_at: datetime | None = strawberry.field(
        default=None, description="Only moves forward: an older value is ignored."
    )
    custom_attributes: JSON | None = strawberry.field(
        default=None,
        description="Flat: string | number | boolean | ISO date-time string; null removes a key.",
    )
    user_hash: str | None = None

    def changes(self) -> ContactChanges:
        return ContactChanges(
            email=self.email,
            user_id=self.user_id,
            name=self.name,
            signed_up_at=self.signed_up_at,
            last_seen_at=self.last_seen_at,
            custom_attributes=self.custom_attributes,
        )
