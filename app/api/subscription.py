"""Subscription root: in-app messages as they are sent, and the live feed of events."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from app.api.context import Info
from app.api.inputs import ContactRef
from app.api.messages import Message
from app.api.types import Event, request_error
from app.domain.errors import InvalidInput, RequestError
from app.services.contacts import event_names
from app.services.feed import live_events
from app.services.inbox import Reader, live_messages


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="In-app delivery: the contact's in-app messages as they become SENT. Sent "
        "on this instance: at once; on another: within TALLY_SCHEDULER_INTERVAL_SECONDS. A "
        "contact not seen yet is waited for; a lead's subscription goes on after the lead is "
        "merged into a user where the key may read that user's messages (Query.messages), "
        "and ends with the coded refusal otherwise."
    )
    async def messages(
        self, info: Info, contact: ContactRef, user_hash: str | None = None
    ) -> AsyncGenerator[Message, None]:
        ctx = info.context
        try:
            key = contact.ref().key("contact")
        except InvalidInput as e:
            raise request_error(e) from e
        reader = Reader(ctx.principal, key, user_hash)
        with ctx.broker.hold(ctx.principal.key.id, most=ctx.settings.max_subscriptions_per_key):
            async for message in live_messages(
                store=ctx.store,
                broker=ctx.broker,
                clock=ctx.clock,
                messenger=ctx.messenger,
                reader=reader,
                key=key,
                poll_seconds=ctx.settings.scheduler_interval_seconds,
            ):
                yield Message(model=message)

    @strawberry.subscription(
        description="Live feed of the events tracked from now on: on this instance at once; "
        "on another instance over the same MongoDB (other workers or servers) within "
        "TALLY_EVENT_FEED_POLL_SECONDS, at most 100 of them a look (the newest)."
    )
    async def event_tracked(
        self, info: Info, names: list[str] | None = None
    ) -> AsyncGenerator[Event, None]:
        ctx = info.context
        if not ctx.principal.is_admin:
            raise RequestError("FORBIDDEN", "The live event feed needs an admin key.")
        wanted = event_names(names)
        with ctx.broker.hold(ctx.principal.key.id, most=ctx.settings.max_subscriptions_per_key):
            async for event in live_events(
                store=ctx.store,
                broker=ctx.broker,
                clock=ctx.clock,
                workspace_id=ctx.principal.workspace_id,
                names=None if wanted is None else frozenset(wanted),
                poll_seconds=ctx.settings.event_feed_poll_seconds,
            ):
                yield Event(model=event)
