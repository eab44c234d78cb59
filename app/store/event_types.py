"""The catalog of event names a workspace has received, with counts and metadata key types."""

from __future__ import annotations

from typing import Any

from pymongo import UpdateOne

from app.domain.events import EventTypeDelta
from app.domain.models import EventType
from app.store.client import Doc, Store


def _event_type(doc: Doc) -> EventType:
    return EventType(
        name=doc["name"],
        count=doc["count"],
        contact_count=doc["contact_count"],
        first_at=doc["first_at"],
        last_at=doc["last_at"],
        metadata_keys={k: list(v) for k, v in (doc.get("metadata_keys") or {}).items()},
    )


def _update(delta: EventTypeDelta) -> dict[str, Any]:
    update: dict[str, Any] = {
        "$inc": {"count": delta.summary.count, "contact_count": delta.new_contacts},
        "$min": {"first_at": delta.summary.first_at},
        "$max": {"last_at": delta.summary.last_at},
    }
    if delta.metadata_types:
        update["$addToSet"] = {
            f"metadata_keys.{key}": {"$each": types} for key, types in delta.metadata_types.items()
        }
    return update


async def record_event_types(
    store: Store, *, workspace_id: str, deltas: dict[str, EventTypeDelta]
) -> None:
    """Add each delta to its catalog entry (created if missing): one update, or one bulk write."""
    collection = store.collection("event_types")
    if len(deltas) == 1:
        [(name, delta)] = deltas.items()
        query = {"workspace_id": workspace_id, "name": name}
        await collection.update_one(query, _update(delta), upsert=True)
        return
    await collection.bulk_upsert(
        [
            UpdateOne({"workspace_id": workspace_id, "name": name}, _update(delta), upsert=True)
            for name, delta in deltas.items()
        ]
    )


async def list_event_types(store: Store, *, workspace_id: str) -> list[EventType]:
    docs = await store.collection("event_types").find(
        {"workspace_id": workspace_id}, sort=[("name", 1)], limit=0
    )
    return [_event_type(doc) for doc in docs]


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
        await collection.delete_many({"workspace_id": workspace_id, "name": {"$in": gone}})


async def _held_by_nobody(store: Store, *, workspace_id: str, names: list[str]) -> list[str]:
    """Which of these names no contact has any more: their contactCount is down to 0."""
    docs = await store.collection("event_types").find(
        {"workspace_id": workspace_id, "name": {"$in": names}, "contact_count": {"$lte": 0}},
        projection={"name": 1},
        limit=0,
    )
    return [doc["name"] for doc in docs]


async def existing_names(store: Store, *, workspace_id: str, names: list[str]) -> set[str]:
    """Which of these names the catalog holds (each has one document per workspace)."""
    docs = await store.collection("event_types").find(
        {"workspace_id": workspace_id, "name": {"$in": names}}, projection={"name": 1}, limit=0
    )
    return {doc["name"] for doc in docs}


async def count_names(store: Store, *, workspace_id: str) -> int:
    """How many names the catalog holds (a count over the (workspace_id, name) index)."""
    return await store.collection("event_types").count({"workspace_id": workspace_id})
