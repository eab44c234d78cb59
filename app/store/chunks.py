"""A contact's documents in one collection, a bounded chunk at a time: deleting a contact and
merging a lead remove or move its raw events and messages this way, so that no command touches
more than one chunk, whatever the length of the contact's history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.store.client import Collection
from app.store.contacts import object_id
from app.store.database import Store

Step = Callable[[Collection, list[Any]], Awaitable[object]]


async def in_chunks(
    store: Store, collection: str, *, workspace_id: str, contact_id: str, size: int, step: Step
) -> int:
    """Run `step` on the ids of the contact's documents in `collection`, `size` at a time, until
    a chunk comes back short; the number of documents. `step` takes the documents away from the
    contact (removes them, or gives them to another), so each chunk is the next one."""
    coll = store.collection(collection)
    total = 0
    while True:
        docs = await coll.find(
            {"workspace_id": workspace_id, "contact_id": object_id(contact_id)},
            projection={"_id": 1},
            limit=size,
        )
        if docs:
            await step(coll, [doc["_id"] for doc in docs])
        total += len(docs)
        if len(docs) < size:
            return total
