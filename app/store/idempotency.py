"""Idempotency keys: a unique index decides which of two concurrent claims wins."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.store.client import Store


async def claim_key(
    store: Store, *, workspace_id: str, key: str, event_id: ObjectId, expires_at: datetime
) -> bool:
    """True when the key is new (now held for `event_id`); False when it was seen before."""
    try:
        await store.collection("idempotency_keys").insert_one(
            {
                "workspace_id": workspace_id,
                "key": key,
                "event_id": event_id,
                "expires_at": expires_at,
            }
        )
    except DuplicateKeyError:
        return False
    return True


async def release_key(store: Store, *, workspace_id: str, key: str) -> None:
    await store.collection("idempotency_keys").delete_one(
        {"workspace_id": workspace_id, "key": key}
    )


async def event_id_for_key(store: Store, *, workspace_id: str, key: str) -> str | None:
    doc = await store.collection("idempotency_keys").find_one(
        {"workspace_id": workspace_id, "key": key}
    )
    return str(doc["event_id"]) if doc else None
