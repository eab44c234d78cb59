"""Mutation root."""

from __future__ import annotations

import strawberry

from app.api.context import Info
from app.api.inputs import ContactInput, TrackEventInput
from app.api.payloads import ContactPayload, TrackEventPayload
from app.api.types import Contact, Event, EventSummary, user_errors
from app.domain.errors import InvalidInput


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Record one event for one contact (created if missing).")
    async def track_event(self, info: Info, input: TrackEventInput) -> TrackEventPayload:
        ctx = info.context
        outcome = await ctx.tracker.track(input.request(), now=ctx.clock.now())
        return TrackEventPayload(
            event=Event(model=outcome.event) if outcome.event else None,
            contact=Contact(model=outcome.contact) if outcome.contact else None,
            summary=EventSummary.from_model(outcome.summary) if outcome.summary else None,
            duplicate=outcome.duplicate,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Create or update a contact by ref.")
    async def upsert_contact(self, info: Info, input: ContactInput) -> ContactPayload:
        ctx = info.context
        try:
            key = input.ref.ref().key("ref")
        except InvalidInput as e:
            return ContactPayload(contact=None, user_errors=user_errors(e.errors))
        outcome = await ctx.contacts.upsert(key, input.changes(), now=ctx.clock.now())
        return ContactPayload(
            contact=Contact(model=outcome.contact) if outcome.contact else None,
            user_errors=user_errors(outcome.errors),
        )
