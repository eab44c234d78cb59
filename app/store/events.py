"""Raw events: visible for the workspace's retention window, removed by TTL on a real server."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId

from app.domain.metadata import from_stored, to_stored
from app.domain.models import Event
from app.store.client import Doc, Store
from app.store.contacts import object_id


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
    """Raw events of a contact (or `$in` contacts) inside the retention window and the range."""
    occurred: dict[str, Any] = {"$gte": max(visible_after, since) if since else visible_after}
    if until is not None:
        occurred["$lt"] = until
    query: dict[str, Any] = {
        "workspace_id": workspace_id,
        "contact_id": contact,
        "occurred_at": occurred,
    }
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


async def count_per_contact(
    store: Store, *, workspace_id: str, names: list[str], matches: dict[str, dict[str, Any]]
) -> dict[str, dict[str, int]]:
    """For each named match, the number of raw events per contact id: one aggregation over
    the events of these names."""
    if not matches:
        return {}
    facets = {
        name: [{"$match": match}, {"$group": {"_id": "$contact_id", "n": {"$sum": 1}}}]
        for name, match in matches.items()
    }
    narrow = {"workspace_id": workspace_id, "name": {"$in": sorted(set(names))}}
    [result] = await store.collection("events").aggregate([{"$match": narrow}, {"$facet": facets}])
    return {name: {str(row["_id"]): row["n"] for row in result[name]} for name in matches}


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
    """Each contact's newest events (at most `limit`), for a page of contacts: one aggregation."""
    contacts = {"$in": [ObjectId(c) for c in contact_ids]}
    match = _visible(workspace_id, contacts, visible_after, names, since, until)
    rows = await store.collection("events").aggregate(
        [
            {"$match": match},
            {"$sort": {"contact_id": 1, "occurred_at": -1, "_id": -1}},
            {"$group": {"_id": "$contact_id", "events": {"$push": "$$ROOT"}}},
            {"$project": {"events": {"$slice": ["$events", limit]}}},
        ]
    )
    return {str(row["_id"]): [to_event(doc) for doc in row["events"]] for row in rows}
