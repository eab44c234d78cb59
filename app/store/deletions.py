"""The steps of deleting a contact (right to be forgotten), each touching a bounded number of
documents, so that no transaction grows with the contact's history.

1. `begin`, one transaction: the contact is removed (read by the same command that removes
   it), its share of the catalog taken out, and a pending job recorded (`jobs`). From then on
   nothing names the contact: refs find nobody, a new event with its userId starts a new one.
2. `complete`: its raw events, then its messages, removed `CHUNK` at a time (plain idempotent
   deletes), then the job. A crash in between leaves the job: the start-up sweep completes it.
"""

from __future__ import annotations

from datetime import datetime

from app.store import event_types, jobs
from app.store.client import Store
from app.store.contacts import object_id, to_contact

CHUNK = 1000  # documents removed by one command


async def begin(store: Store, *, workspace_id: str, contact_id: str, now: datetime) -> bool:
    """Step 1 (run it in a transaction); False when no such contact exists."""
    oid = object_id(contact_id)
    if oid is None:
        return False
    doc = await store.collection("contacts").find_one_and_delete(
        {"workspace_id": workspace_id, "_id": oid}
    )
    if doc is None:
        return False
    contact = to_contact(doc)
    await event_types.forget_contact(
        store,
        workspace_id=workspace_id,
        counts={name: s.count for name, s in contact.summaries.items()},
    )
    await jobs.record(
        store, kind="delete", workspace_id=workspace_id, contact_id=contact_id, now=now
    )
    return True


async def _delete_chunk(
    store: Store, collection: str, *, workspace_id: str, contact_id: str, limit: int
) -> int:
    coll = store.collection(collection)
    docs = await coll.find(
        {"workspace_id": workspace_id, "contact_id": object_id(contact_id)},
        projection={"_id": 1},
        limit=limit,
    )
    if not docs:
        return 0
    await coll.delete_many({"workspace_id": workspace_id, "_id": {"$in": [d["_id"] for d in docs]}})
    return len(docs)


async def complete(store: Store, *, workspace_id: str, contact_id: str) -> int:
    """Step 2: the raw events and messages, a chunk at a time; the number of raw events."""
    chunk = CHUNK
    removed = {"events": 0, "messages": 0}
    for collection in removed:
        while True:
            n = await _delete_chunk(
                store, collection, workspace_id=workspace_id, contact_id=contact_id, limit=chunk
            )
            removed[collection] += n
            if n < chunk:
                break
    await jobs.remove(store, kind="delete", workspace_id=workspace_id, contact_id=contact_id)
    return removed["events"]
