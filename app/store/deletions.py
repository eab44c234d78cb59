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
from typing import Any

from app.store import event_types, jobs
from app.store.chunks import in_chunks
from app.store.client import Collection
from app.store.contacts import object_id, to_contact
from app.store.database import Store

CHUNK = 1000  # documents removed by one command


class MergeUnderWay(Exception):
    """The contact is a lead being merged, or a user a lead is being merged into: complete
    those merges first (their steps would otherwise move data to, or from, a deleted contact)."""

    def __init__(self, lead_ids: list[str]) -> None:
        super().__init__(", ".join(lead_ids))
        self.lead_ids = lead_ids


async def begin(store: Store, *, workspace_id: str, contact_id: str, now: datetime) -> bool:
    """Step 1 (run it in a transaction); False when no such contact exists. Raises
    MergeUnderWay, before writing anything, when a merge involving the contact is under way."""
    oid = object_id(contact_id)
    if oid is None:
        return False
    contacts = store.collection("contacts")
    doc = await contacts.find_one({"workspace_id": workspace_id, "_id": oid})
    if doc is None:
        return False
    if "merging" in doc or doc.get("merged_from"):
        raise MergeUnderWay([contact_id] if "merging" in doc else list(doc["merged_from"]))
    await contacts.delete_one({"workspace_id": workspace_id, "_id": oid})
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


async def complete(store: Store, *, workspace_id: str, contact_id: str) -> int:
    """Step 2: the raw events and messages, a chunk at a time; the number of raw events."""

    async def remove(coll: Collection, ids: list[Any]) -> None:
        await coll.delete_many({"workspace_id": workspace_id, "_id": {"$in": ids}})

    removed = {"events": 0, "messages": 0}
    for collection in removed:
        removed[collection] = await in_chunks(
            store,
            collection,
            workspace_id=workspace_id,
            contact_id=contact_id,
            size=CHUNK,
            step=remove,
        )
    await jobs.remove(store, kind="delete", workspace_id=workspace_id, contact_id=contact_id)
    return removed["events"]
