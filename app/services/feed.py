"""The live event feed (`Subscription.eventTracked`) of one subscriber.

Events tracked by this instance come through the in-process broker at once. When other
instances use the same store (several workers or servers over one MongoDB), the feed also looks
in the store every `poll_seconds` for the events received since the previous look (less
LOOK_BACK, the time an event may take to become visible to other instances: its write, clocks
that differ), and hears each event once. A look reads at most PER_LOOK events, the newest: a
workspace tracking more than that per look is sampled, as a slow subscriber's queue keeps the
newest. The store's index on (workspace_id, received_at, _id) serves each look.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection
from datetime import datetime, timedelta

from app.clock import Clock
from app.domain.models import Event
from app.messaging.broker import EVENTS_TOPIC, Broker
from app.store import events as store_events
from app.store.database import Store

LOOK_BACK = timedelta(seconds=10)
PER_LOOK = 100
_MAX_SEEN = 10_000


async def live_events(
    *,
    store: Store,
    broker: Broker,
    clock: Clock,
    workspace_id: str,
    names: Collection[str] | None,
    poll_seconds: float,
) -> AsyncIterator[Event]:
    """The events of the workspace (of these names) received from now on, as they come."""
    loop = asyncio.get_running_loop()
    start = last_look = clock.now()
    next_look = loop.time() + poll_seconds
    seen: dict[str, datetime] = {}  # heard events that a look may return again: id -> received
    with broker.listen(workspace_id, EVENTS_TOPIC) as queue:
        while True:
            if not store.shared:  # one process: the broker hears everything
                event = await queue.get()
                if names is None or event.name in names:
                    yield event
                continue
            fresh: list[Event] = []
            with contextlib.suppress(TimeoutError):
                fresh.append(await asyncio.wait_for(queue.get(), next_look - loop.time()))
            if loop.time() >= next_look:
                since = max(start, last_look - LOOK_BACK)
                last_look = clock.now()
                forget(seen, before=since)
                fresh += await store_events.received_since(
                    store, workspace_id=workspace_id, since=since, names=names, limit=PER_LOOK
                )
                next_look = loop.time() + poll_seconds
            for event in fresh:
                if event.id in seen or (names is not None and event.name not in names):
                    continue
                seen[event.id] = event.received_at
                yield event


def forget(seen: dict[str, datetime], *, before: datetime) -> None:
    """Drop what this look and the later ones cannot return (`seen`: id -> when received or
    sent, before this look's start); past _MAX_SEEN, the oldest heard (a look may then repeat
    one of them: only under a flood)."""
    for event_id, received_at in list(seen.items()):
        if received_at < before:
            del seen[event_id]
    while len(seen) > _MAX_SEEN:
        del seen[next(iter(seen))]
