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
from typing import Any

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
    looks = Looks(clock=clock, poll_seconds=poll_seconds)
    with broker.listen(workspace_id, EVENTS_TOPIC) as queue:
        while True:
            if not store.shared:  # one process: the broker hears everything
                event = await queue.get()
                if names is None or event.name in names:
                    yield event
                continue
            fresh: list[Event] = await looks.heard(queue)
            if (since := looks.due()) is not None:
                fresh += await store_events.received_since(
                    store, workspace_id=workspace_id, since=since, names=names, limit=PER_LOOK
                )
            for event in fresh:
                wanted = names is None or event.name in names
                if wanted and looks.first_time(event.id, event.received_at):
                    yield event


class Looks:
    """When a subscription that also hears the broker looks in the store, and since when: every
    `poll_seconds`, from the previous look less LOOK_BACK (never before the subscription began);
    and what it delivered, kept only as long as a look may return it again."""

    def __init__(self, *, clock: Clock, poll_seconds: float) -> None:
        self._clock, self._every = clock, poll_seconds
        self._loop = asyncio.get_running_loop()
        self.start = self._last = clock.now()
        self._next = self._loop.time() + poll_seconds
        self._seen: dict[str, datetime] = {}  # id -> received or sent

    async def heard(self, queue: asyncio.Queue[Any]) -> list[Any]:
        """What the broker brings before the next look is due (one item at most)."""
        with contextlib.suppress(TimeoutError):
            return [await asyncio.wait_for(queue.get(), self._next - self._loop.time())]
        return []

    def due(self) -> datetime | None:
        """When a look is due now: its lower bound (the next one is due in `poll_seconds`)."""
        if self._loop.time() < self._next:
            return None
        since = max(self.start, self._last - LOOK_BACK)
        self._last = self._clock.now()
        self._next = self._loop.time() + self._every
        _forget(self._seen, before=since)
        return since

    def first_time(self, item_id: str, at: datetime) -> bool:
        """Whether this item was not delivered yet (it is from now on)."""
        if item_id in self._seen:
            return False
        self._seen[item_id] = at
        return True


def _forget(seen: dict[str, datetime], *, before: datetime) -> None:
    """Drop what this look and the later ones cannot return (`seen`: id -> when received or
    sent, before this look's start); past _MAX_SEEN, the oldest heard (a look may then repeat
    one of them: only under a flood)."""
    for event_id, received_at in list(seen.items()):
        if received_at < before:
            del seen[event_id]
    while len(seen) > _MAX_SEEN:
        del seen[next(iter(seen))]
