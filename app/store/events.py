"""Raw events: visible for the workspace's retention window, removed by TTL on a real server."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId

from app.domain.metadata import from_stored, to_stored
from app.domain.models import Event
from app.store.client import Doc
from app.store.contacts import object_id
from app.store.database import Store


def to_event(doc: Doc) -> Event:
    return Event(
        id=str(doc["_id"]),
        workspace_id=doc["workspace_id"],
        contact_id=str(doc["contact_id"]),
        name=doc["name"],
        occurred_at=doc["occurred_at"],
        received_at=doc["received_at"],
        metadata={k: from_stored(v) for k, v in (doc.get("metadata") or {}).items()},
    )


def new_event_id() -> str:
    """An id for an event about to be stored (ids sort by creation time)."""
    return str(ObjectId())


def event_document(event: Event, *, expires_at: datetime) -> Doc:
    return {
        "_id": ObjectId(event.id),
        "workspace_id": event.workspace_id,
        "contact_id": ObjectId(event.contact_id),
        "name": event.name,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
        "metadata": {k: to_stored(v) for k, v in event.metadata.items()},
        "expires_at": expires_at,
    }


async def insert_events(store: Store, *, documents: list[Doc]) -> None:
    events = store.collection("events")
    if len(documents) == 1:
        await events.insert_one(documents[0])
    elif documents:
        await events.insert_many(documents, ordered=True)


async def find_events(
    store: Store, *, workspace_id: str, event_ids: Iterable[str], visible_after: datetime
) -> dict[str, Event]:
    """The events with these ids that are inside the retention window, by id."""
    oids = [oid for oid in map(object_id, event_ids) if oid is not None]
    docs = await store.collection("events").find(
        {
            "workspace_id": workspace_id,
            "_id": {"$in": oids},
            "occurred_at": {"$gte": visible_after},
        },
        limit=0,
    )
    return {str(doc["_id"]): to_event(doc) for doc in docs}


def _visible(
    workspace_id: str,
    contact: object,
    visible_after: datetime,
    names: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    """Raw events of a contact (None: the one a lookup gives) inside the retention window and
    the range."""
    occurred: dict[str, Any] = {"$gte": max(visible_after, since) if since else visible_after}
    if until is not None:
        occurred["$lt"] = until
    query: dict[str, Any] = {"workspace_id": workspace_id}
    if contact is not None:
        query["contact_id"] = contact
    query["occurred_at"] = occurred
    if names is not None:
        query["name"] = {"$in": list(names)}
    return query


async def find_activity(
    store: Store,
    *,
    workspace_id: str,
    contact_id: str,
    visible_after: datetime,
    names: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[Event]:
    """A contact's events newest first, (occurred_at, _id) descending, strictly after `before`."""
    query = _visible(workspace_id, ObjectId(contact_id), visible_after, names, since, until)
    if before is not None:
        at, last_id = before
        query["$or"] = [
            {"occurred_at": {"$lt": at}},
            {"occurred_at": at, "_id": {"$lt": ObjectId(last_id)}},
        ]
    docs = await store.collection("events").find(
        query, sort=[("occurred_at", -1), ("_id", -1)], limit=limit
    )
    return [to_event(doc) for doc in docs]


async def recent_events(
    store: Store,
    *,
    workspace_id: str,
    contact_ids: list[str],
    visible_after: datetime,
    names: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> dict[str, list[Event]]:
    """Each contact's newest events (at most `limit`), for a page of contacts: one aggregation
    over the page's contacts, each looking up its own newest events through the index
    `(workspace_id, contact_id, occurred_at, _id)`, so no document holds more than `limit`."""
    match = _visible(workspace_id, None, visible_after, names, since, until)
    page = {"workspace_id": workspace_id, "_id": {"$in": [ObjectId(c) for c in contact_ids]}}
    newest = [{"$match": match}, {"$sort": {"occurred_at": -1, "_id": -1}}, {"$limit": limit}]
    rows = await store.collection("contacts").aggregate(
        [
            {"$match": page},
            {
                "$lookup": {
                    "from": "events",
                    "localField": "_id",
                    "foreignField": "contact_id",
                    "pipeline": newest,
                    "as": "recent",
                }
            },
            {"$project": {"recent": 1}},
        ]
    )
    return {str(row["_id"]): [to_event(doc) for doc in row["recent"]] for row in rows}


async def received_since(
    store: Store,
    *,
    workspace_id: str,
    since: datetime,
    names: Collection[str] | None,
    limit: int,
) -> list[Event]:
    """The newest `limit` events received at or after `since` (of these names), oldest first:
    what the live feed finds that other instances tracked. Index (workspace_id, received_at,
    _id), newest first."""
    query: dict[str, Any] = {"workspace_id": workspace_id, "received_at": {"$gte": since}}
    if names is not None:
        query["name"] = {"$in": list(names)}
    docs = await store.collection("events").find(
        query, sort=[("received_at", -1), ("_id", -1)], limit=limit
    )
    return [to_event(doc) for doc in reversed(docs)]
