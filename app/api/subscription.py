"""Subscription root: in-app messages as they are sent, and the live feed of events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from app.api.context import Info
from app.api.inputs import ContactRef
from app.api.messages import Message
from app.api.types import Event, request_error
from app.domain import models
from app.domain.errors import InvalidInput, RequestError
from app.messaging.broker import ref_topic
from app.services.auth import named_contact
from app.services.contacts import event_names
from app.services.feed import LOOK_BACK, forget, live_events
from app.services.inbox import READABLE_CHANNEL, Reader


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
        workspace_id, reader = ctx.principal.workspace_id, Reader(ctx.principal, key, user_hash)
        loop, interval = asyncio.get_running_loop(), ctx.settings.scheduler_interval_seconds
        start = last_look = ctx.clock.now()
        next_look = loop.time() + interval
        seen: dict[str, datetime] = {}  # delivered messages a look may return again: id -> sent
        # Listening before the first look at the store: what is sent meanwhile is queued.
        with (
            ctx.broker.hold(ctx.principal.key.id, most=ctx.settings.max_subscriptions_per_key),
            ctx.broker.listen(workspace_id, ref_topic(key)) as queue,
        ):
            reader.check(await named_contact(ctx.store, workspace_id=workspace_id, key=key))
            while True:
                fresh: list[models.Message] = []
                with contextlib.suppress(TimeoutError):
                    fresh.append(await asyncio.wait_for(queue.get(), next_look - loop.time()))
                if loop.time() >= next_look:  # what other instances sent meanwhile
                    since = max(start, last_look - LOOK_BACK)
                    last_look = ctx.clock.now()
                    forget(seen, before=since)
                    named = await named_contact(ctx.store, workspace_id=workspace_id, key=key)
                    reader.check(named)
                    if named is not None:  # nobody yet: one lookup a look, no more
                        fresh += await _sent_since(info, named.id, since)
                    next_look = loop.time() + interval
                for message in fresh:
                    if message.contact_id != reader.contact_id:  # the ref names someone else
                        reader.check(
                            await named_contact(ctx.store, workspace_id=workspace_id, key=key)
                        )
                    if message.contact_id != reader.contact_id or message.id in seen:
                        continue
                    seen[message.id] = message.sent_at or start
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


async def _sent_since(info: Info, contact_id: str, since: datetime) -> list[models.Message]:
    """The contact's in-app messages sent since `since`, oldest first."""
    page = await info.context.messenger.page(
        contact_id=contact_id, rule_id=None, status=models.MessageStatus.SENT, first=20,
        after=None, channel=READABLE_CHANNEL,
    )  # fmt: skip
    return [m for m, _ in reversed(page.items) if m.sent_at and m.sent_at >= since]
