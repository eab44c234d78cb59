"""The catalog of event names a workspace has received, with counts and metadata key types.

Every ingest transaction adds to its names' entries, so one document per name would make all
concurrent traffic for a name conflict (WriteConflict, retried one after the other). The
counters are therefore split:

- `event_types`: one **name document** per (workspace, name), created with the first shard
  below (unique index `(workspace_id, name)`: "does this name exist?" and "how many names?" are
  one index lookup). It holds corrections (merges and deletions subtract there, rarely) and, on
  deployments from before the split, the counters it had then.
- `event_type_counts`: up to `SHARDS` **shard documents** per name, `(workspace_id, name,
  shard)`; each ingest writes the shard its (first) contact hashes to. Writes for one contact
  are serialised by the contact document anyway; writes for different contacts to one name
  conflict with probability 1/SHARDS.

A read sums them: `count` and `contactCount` are sums, `firstAt`/`lastAt` min and max, and each
metadata key's types are ordered by when each was first seen (`$min` of a sequence number made
from the time of receipt). All of it is exact; nothing moves out of the ingest transaction.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from app.domain.events import EventTypeDelta
from app.domain.models import EventType
from app.store.client import Doc
from app.store.database import Store

SHARDS = 16
_TYPES_PER_BATCH = 100  # sequence numbers: received-at milliseconds x this + position


def _shard_update(delta: EventTypeDelta, *, now: datetime) -> dict[str, Any]:
    update: dict[str, Any] = {
        "$inc": {"count": delta.summary.count, "contact_count": delta.new_contacts},
        "$min": {"first_at": delta.summary.first_at},
        "$max": {"last_at": delta.summary.last_at},
    }
    base = int(now.timestamp() * 1000) * _TYPES_PER_BATCH
    for key, types in delta.metadata_types.items():
        for position, kind in enumerate(types[:_TYPES_PER_BATCH]):
            update["$min"][f"metadata_seen.{key}.{kind}"] = base + position
    return update


async def record_event_types(
    store: Store,
    *,
    workspace_id: str,
    deltas: dict[str, EventTypeDelta],
    now: datetime,
    contact: str,
    new_keys: dict[str, list[str]] | None = None,
) -> None:
    """Add each delta to the shard of its name that `contact` hashes to; a name seen for the
    first time gets its name document in the same transaction, and a name's document notes
    the metadata keys it has not had before (`new_keys`, for the cap on them)."""
    if not deltas:
        return
    shard = zlib.crc32(contact.encode()) % SHARDS
    counts = store.collection("event_type_counts")
    names = list(deltas)
    writes = [
        ({"workspace_id": workspace_id, "name": name, "shard": shard}, _shard_update(d, now=now))
        for name, d in deltas.items()
    ]
    if len(writes) == 1:
        [(query, update)] = writes
        result = await counts.update_one(query, update, upsert=True)
        created = names if result.upserted_id is not None else []
    else:
        upserts = [UpdateOne(query, update, upsert=True) for query, update in writes]
        created = [names[i] for i in await counts.bulk_upsert(upserts)]
    # A new shard may be the name's first: make sure its name document exists. The write is a
    # real one ($inc), never a no-op, so that it conflicts with a deletion removing the name
    # in a concurrent transaction (`forget_contact`): one of the two then runs again and sees
    # the other. At most SHARDS times per name, and once per new metadata key, so steady
    # traffic never writes the name document.
    noted = new_keys or {}
    updates: dict[str, dict[str, Any]] = {}
    for name in created:
        updates[name] = {"$setOnInsert": {"count": 0, "contact_count": 0}, "$inc": {"shards": 1}}
    for name, keys in noted.items():
        if keys:
            update = updates.setdefault(name, {"$setOnInsert": {"count": 0, "contact_count": 0}})
            update["$addToSet"] = {"known_keys": {"$each": keys}}
    if updates:
        await store.collection("event_types").bulk_upsert(
            [
                UpdateOne({"workspace_id": workspace_id, "name": name}, update, upsert=True)
                for name, update in updates.items()
            ]
        )


def _merge(name_doc: Doc, shards: list[Doc]) -> EventType:
    parts = [name_doc, *shards]
    firsts = [d["first_at"] for d in parts if d.get("first_at") is not None]
    lasts = [d["last_at"] for d in parts if d.get("last_at") is not None]
    # Types from before the split come first (they were seen first), then by first sighting.
    keys: dict[str, list[str]] = {
        k: list(v) for k, v in (name_doc.get("metadata_keys") or {}).items()
    }
    seen: dict[str, dict[str, int]] = {}
    for shard in shards:
        for key, types in (shard.get("metadata_seen") or {}).items():
            for kind, order in types.items():
                mine = seen.setdefault(key, {})
                mine[kind] = min(order, mine.get(kind, order))
    for key, types in seen.items():
        listed = keys.setdefault(key, [])
        listed += [k for k in sorted(types, key=lambda k: (types[k], k)) if k not in listed]
    return EventType(
        name=name_doc["name"],
        count=sum(d.get("count", 0) for d in parts),
        contact_count=sum(d.get("contact_count", 0) for d in parts),
        first_at=min(firsts),
        last_at=max(lasts),
        metadata_keys=keys,
    )


async def list_event_types(store: Store, *, workspace_id: str) -> list[EventType]:
    names = await store.collection("event_types").find(
        {"workspace_id": workspace_id}, sort=[("name", 1)], limit=0
    )
    shards = await store.collection("event_type_counts").find(
        {"workspace_id": workspace_id}, sort=[("name", 1), ("shard", 1)], limit=0
    )
    by_name: dict[str, list[Doc]] = {}
    for shard in shards:
        by_name.setdefault(shard["name"], []).append(shard)
    found = []
    for doc in names:
        parts = by_name.get(doc["name"], [])
        if parts or doc.get("first_at") is not None:
            found.append(_merge(doc, parts))
    return found


async def forget_contact(store: Store, *, workspace_id: str, counts: dict[str, int]) -> None:
    """Take one deleted contact out of the catalog: its counts and itself; a name nobody has
    any more leaves the catalog. `firstAt`/`lastAt` stay: recomputing them would read every
    contact holding the name (docs/identity.md)."""
    if not counts:
        return
    collection = store.collection("event_types")
    await collection.bulk_write(
        [
            UpdateOne(
                {"workspace_id": workspace_id, "name": name},
                {"$inc": {"count": -count, "contact_count": -1}},
            )
            for name, count in counts.items()
        ],
        ordered=False,
    )
    gone = await _held_by_nobody(store, workspace_id=workspace_id, names=list(counts))
    if gone:
        for name in ("event_types", "event_type_counts"):
            await store.collection(name).delete_many(
                {"workspace_id": workspace_id, "name": {"$in": gone}}
            )


async def _held_by_nobody(store: Store, *, workspace_id: str, names: list[str]) -> list[str]:
    """Which of these names no contact has any more: their contactCount, summed over the name
    document and its shards, is down to 0."""
    held = dict.fromkeys(names, 0)
    for collection in ("event_types", "event_type_counts"):
        docs = await store.collection(collection).find(
            {"workspace_id": workspace_id, "name": {"$in": names}},
            projection={"name": 1, "contact_count": 1},
            limit=0,
        )
        for doc in docs:
            held[doc["name"]] += doc.get("contact_count", 0)
    return [name for name, count in held.items() if count <= 0]


async def existing_names(
    store: Store, *, workspace_id: str, names: list[str]
) -> dict[str, set[str]]:
    """Which of these names the catalog holds (each has one document per workspace), with the
    metadata keys each has had."""
    docs = await store.collection("event_types").find(
        {"workspace_id": workspace_id, "name": {"$in": names}},
        projection={"name": 1, "known_keys": 1},
        limit=0,
    )
    return {doc["name"]: set(doc.get("known_keys") or ()) for doc in docs}


async def count_names(store: Store, *, workspace_id: str) -> int:
    """How many names the catalog holds (a count over the (workspace_id, name) index)."""
    return await store.collection("event_types").count({"workspace_id": workspace_id})
