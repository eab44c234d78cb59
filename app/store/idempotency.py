"""Idempotency keys: a unique index decides which of two concurrent claims wins."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.store.client import Store


async def claim_key(
    store: Store, *, workspace_id: str, key: str, event_id: str, expires_at: datetime
) -> bool:
    """True when the key is new (now held for `event_id`); False when it was seen before.

    An upsert rather than an insert: a key seen before is then an answer, not a write error,
    which would abort the transaction the claim runs in.
    """
    try:
        result = await store.collection("idempotency_keys").update_one(
            {"workspace_id": workspace_id, "key": key},
            {"$setOnInsert": {"event_id": ObjectId(event_id), "expires_at": expires_at}},
            upsert=True,
        )
    except DuplicateKeyError:  # two concurrent upserts outside a transaction: one loses
        return False
    return result.upserted_id is not None


async def release_key(store: Store, *, workspace_id: str, key: str) -> None:
    await store.collection("idempotency_keys").delete_one(
        {"workspace_id": workspace_id, "key": key}
    )


async def event_id_for_key(store: Store, *, workspace_id: str, key: str) -> str | None:
    doc = await store.collection("idempotency_keys").find_one(
        {"workspace_id": workspace_id, "key": key}
    )
    return str(doc["event_id"]) if doc else None
