"""Idempotency keys: the database decides which of two concurrent claims wins.

Claims are upserts rather than inserts: a key seen before is then an answer, not a write
error, which would abort the transaction the claim runs in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bson import ObjectId
from pymongo import UpdateOne

from app.store.client import Store


def _claim(workspace_id: str, key: str, event_id: str, expires_at: datetime) -> UpdateOne:
    return UpdateOne(
        {"workspace_id": workspace_id, "key": key},
        {"$setOnInsert": {"event_id": ObjectId(event_id), "expires_at": expires_at}},
        upsert=True,
    )


async def claim_keys(
    store: Store, *, workspace_id: str, claims: dict[str, str], expires_at: datetime
) -> set[str]:
    """Claim each key (key -> event id) in one bulk write; the keys that were new."""
    if not claims:
        return set()
    keys = list(claims)
    requests = [_claim(workspace_id, key, claims[key], expires_at) for key in keys]
    upserted = await store.collection("idempotency_keys").bulk_upsert(requests)
    return {keys[index] for index in upserted}


async def release_keys(store: Store, *, workspace_id: str, keys: Iterable[str]) -> None:
    await store.collection("idempotency_keys").delete_many(
        {"workspace_id": workspace_id, "key": {"$in": list(keys)}}
    )


async def event_ids_for_keys(
    store: Store, *, workspace_id: str, keys: Iterable[str]
) -> dict[str, str]:
    docs = await store.collection("idempotency_keys").find(
        {"workspace_id": workspace_id, "key": {"$in": list(keys)}}, limit=0
    )
    return {doc["key"]: str(doc["event_id"]) for doc in docs}
