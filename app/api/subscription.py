"""Subscription root: in-app messages as they are sent, and the live feed of events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from app.api.context import Info
from app.api.inputs import ContactRef
from app.api.messages import Message
from app.api.types import Event, request_error
from app.domain import models
from app.domain.errors import InvalidInput, RequestError
from app.domain.refs import ContactKey
from app.messaging.broker import ref_topic
from app.services.contacts import event_names
from app.services.feed import live_events
from app.services.inbox import READABLE_CHANNEL, reader_problem


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="In-app delivery: the contact's in-app messages as they become SENT. Sent "
        "on this instance: at once; on another: within TALLY_SCHEDULER_INTERVAL_SECONDS. A "
        "contact not seen yet is waited for; a lead's subscription goes on after the lead is "
        "merged into a user. Publishable keys: see Query.messages."
    )
    async def messages(
        self, info: Info, contact: ContactRef, user_hash: str | None = None
    ) -> AsyncGenerator[Message, None]:
        ctx = info.context
        try:
            key = contact.ref().key("contact")
        except InvalidInput as e:
            raise request_error(e) from e
        since, seen = ctx.clock.now(), set[str]()
        # Listening before the first look at the store: what is sent meanwhile is queued.
        with ctx.broker.listen(ctx.principal.workspace_id, ref_topic(key)) as queue:
            found = await ctx.contacts.get(key)
            if problem := reader_problem(ctx.principal, key, user_hash, found):
                raise RequestError(problem.code, problem.message)
            while True:
                try:
                    fresh = [
                        await asyncio.wait_for(queue.get(), ctx.settings.scheduler_interval_seconds)
                    ]
                except TimeoutError:  # what other instances sent meanwhile
                    fresh = await _sent_since(info, key, since)
                for message in fresh:
                    if message.id not in seen:
                        seen.add(message.id)
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
        async for event in live_events(
            store=ctx.store,
            broker=ctx.broker,
            clock=ctx.clock,
            workspace_id=ctx.principal.workspace_id,
            names=None if wanted is None else frozenset(wanted),
            poll_seconds=ctx.settings.event_feed_poll_seconds,
        ):
            yield Event(model=event)


async def _sent_since(info: Info, key: ContactKey, since: datetime) -> list[models.Message]:
    """The in-app messages sent since `since` to whoever `key` names now (after a merge: the
    user that took the lead's anonymousId), oldest first."""
    ctx = info.context
    found = await ctx.contacts.get(key)
    if found is None:
        return []
    page = await ctx.messenger.page(
        contact_id=found.id, rule_id=None, status=models.MessageStatus.SENT, first=20,
        after=None, channel=READABLE_CHANNEL,
    )  # fmt: skip
    return [m for m, _ in reversed(page.items) if m.sent_at and m.sent_at >= since]
