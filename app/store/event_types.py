"""The catalog of event names a workspace has received, with counts and metadata key types."""

from __future__ import annotations

from datetime import datetime

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


async def record_event_type(
    store: Store,
    *,
    workspace_id: str,
    name: str,
    occurred_at: datetime,
    new_contact: bool,
    metadata_types: dict[str, str],
) -> None:
    update: dict[str, dict[str, object]] = {
        "$inc": {"count": 1, "contact_count": 1 if new_contact else 0},
        "$min": {"first_at": occurred_at},
        "$max": {"last_at": occurred_at},
    }
    if metadata_types:
        update["$addToSet"] = {f"metadata_keys.{k}": t for k, t in metadata_types.items()}
    await store.collection("event_types").update_one(
        {"workspace_id": workspace_id, "name": name}, update, upsert=True
    )


async def list_event_types(store: Store, *, workspace_id: str) -> list[EventType]:
    docs = await store.collection("event_types").find(
        {"workspace_id": workspace_id}, sort=[("name", 1)], limit=0
    )
    return [_event_type(doc) for doc in docs]
