"""In-process fan-out of what happens now: sent in-app messages and tracked events.

Subscribers on this instance hear at once; subscriptions also poll the store, so that what
another instance sends (in-app messages) or tracks (events, `app/services/feed.py`) reaches
them too."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.domain.errors import RequestError
from app.domain.models import Contact, Message
from app.domain.refs import ContactKey, keys_of

QUEUE_SIZE = 100


class Broker:
    def __init__(self) -> None:
        self._queues: dict[tuple[str, str], set[asyncio.Queue[Any]]] = {}
        self._held: dict[str, int] = {}

    @contextmanager
    def hold(self, holder: str, *, most: int) -> Iterator[None]:
        """One subscription open on this instance for `holder` (an API key's id), refused
        past `most` of them: each polls the store, so an open one has a cost."""
        if self._held.get(holder, 0) >= most:
            raise RequestError(
                "TOO_MANY_SUBSCRIPTIONS",
                f"This API key has {most} subscriptions open on this instance "
                "(TALLY_MAX_SUBSCRIPTIONS_PER_KEY); end one first.",
            )
        self._held[holder] = self._held.get(holder, 0) + 1
        try:
            yield
        finally:
            self._held[holder] -= 1
            if not self._held[holder]:
                del self._held[holder]

    @contextmanager
    def listen(self, workspace_id: str, topic: str) -> Iterator[asyncio.Queue[Any]]:
        queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
        key = (workspace_id, topic)
        self._queues.setdefault(key, set()).add(queue)
        try:
            yield queue
        finally:
            self._queues[key].discard(queue)
            if not self._queues[key]:
                del self._queues[key]

    def publish(self, workspace_id: str, topic: str, item: Any) -> None:
        for queue in self._queues.get((workspace_id, topic), ()):
            if queue.full():  # a slow subscriber loses the oldest, never blocks the sender
                queue.get_nowait()
            queue.put_nowait(item)


def ref_topic(key: ContactKey) -> str:
    """What a subscription for `key` hears: a ref, not a contact id, so that it hears a
    contact not created yet, and a lead's messages after it was merged into a user."""
    return f"contact:{key.kind.value}:{key.value}"


def publish_message(broker: Broker, workspace_id: str, contact: Contact, message: Message) -> None:
    """A sent in-app message, to the subscriptions of every ref that names its contact."""
    for key in keys_of(contact):
        broker.publish(workspace_id, ref_topic(key), message)


EVENTS_TOPIC = "events"
