"""Idempotency keys: the database decides which of two concurrent claims wins.

A claim is an insert, and the unique index on (workspace_id, key) refuses a key claimed before:
that refusal, not a read, is what makes the key a duplicate. Inside a transaction a refusal
would abort the transaction, so the caller reads the keys already stored first
(`event_ids_for_keys`) and claims only the others; a key claimed by a concurrent request in
between still aborts it, and the work is run again (see `Store.in_transaction`), then seeing
that key.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bson import ObjectId

from app.store.database import Store


async def claim_keys(
    store: Store, *, workspace_id: str, claims: dict[str, str], expires_at: datetime
) -> set[str]:
    """Claim each key (key -> event id), none of them read as taken; the keys that were new."""
    if not claims:
        return set()
    collection = store.collection("idempotency_keys")
    keys = list(claims)
    documents = [
        {
            "workspace_id": workspace_id,
            "key": key,
            "event_id": ObjectId(claims[key]),
            "expires_at": expires_at,
        }
        for key in keys
    ]
    refused = await collection.insert_new(documents)
    return {key for index, key in enumerate(keys) if index not in refused}


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
