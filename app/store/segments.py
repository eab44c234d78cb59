"""Saved segments: a name and a ContactFilter as given (JSON in the API's field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.domain.models import Segment
from app.store.client import Doc
from app.store.contacts import object_id
from app.store.database import Store


class SegmentNameTaken(Exception):
    pass


def _view(doc: Doc) -> Segment:
    return Segment(
        id=str(doc["_id"]), name=doc["name"], filter=doc["filter"], created_at=doc["created_at"]
    )


async def all_segments(store: Store, *, workspace_id: str) -> list[Segment]:
    docs = await store.collection("segments").find(
        {"workspace_id": workspace_id}, sort=[("name", 1), ("_id", 1)], limit=0
    )
    return [_view(doc) for doc in docs]


async def insert_segment(
    store: Store, *, workspace_id: str, name: str, filter: dict[str, Any], now: datetime
) -> Segment:
    doc = {
        "_id": ObjectId(),
        "workspace_id": workspace_id,
        "name": name,
        "filter": filter,
        "created_at": now,
    }
    try:
        await store.collection("segments").insert_one(doc)
    except DuplicateKeyError as e:
        raise SegmentNameTaken from e
    return _view(doc)


async def update_segment(
    store: Store, *, workspace_id: str, segment_id: str, name: str, filter: dict[str, Any]
) -> Segment | None:
    oid = object_id(segment_id)
    if oid is None:
        return None
    try:
        doc = await store.collection("segments").find_one_and_update(
            {"workspace_id": workspace_id, "_id": oid}, {"$set": {"name": name, "filter": filter}}
        )
    except DuplicateKeyError as e:
        raise SegmentNameTaken from e
    return _view(doc) if doc else None


async def delete_segment(store: Store, *, workspace_id: str, segment_id: str) -> Segment | None:
    oid = object_id(segment_id)
    if oid is None:
        return None
    doc = await store.collection("segments").find_one_and_delete(
        {"workspace_id": workspace_id, "_id": oid}
    )
    return _view(doc) if doc else None
