"""Workspaces and their API keys (stored as SHA-256 hashes, never in clear)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from app.domain.models import ApiKey, KeyScope, Workspace
from app.store.client import Doc
from app.store.database import Store

DEFAULT_WORKSPACE_ID = "default"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _workspace(doc: Doc) -> Workspace:
    return Workspace(
        id=doc["_id"],
        name=doc["name"],
        identity_verification=doc.get("identity_verification", False),
        retention_days=doc["retention_days"],
        identity_secret=doc["identity_secret"],
        webhook_secret=doc["webhook_secret"],
        created_at=doc["created_at"],
    )


def _api_key(doc: Doc) -> ApiKey:
    return ApiKey(
        id=doc["_id"],
        workspace_id=doc["workspace_id"],
        name=doc["name"],
        scope=KeyScope(doc["scope"]),
        created_at=doc["created_at"],
        last_used_at=doc.get("last_used_at"),
        operator=doc.get("operator", False),
    )


async def ensure_workspace(
    store: Store,
    *,
    workspace_id: str,
    name: str,
    retention_days: int,
    identity_secret: str,
    webhook_secret: str,
    now: datetime,
) -> Workspace:
    """The workspace with this id, created with these values when missing."""
    doc = await store.collection("workspaces").find_one_and_update(
        {"_id": workspace_id},
        {
            "$setOnInsert": {
                "name": name,
                "identity_verification": False,
                "retention_days": retention_days,
                "identity_secret": identity_secret,
                "webhook_secret": webhook_secret,
                "created_at": now,
            }
        },
        upsert=True,
    )
    assert doc is not None  # an upsert always returns the document
    return _workspace(doc)


async def get_workspace(store: Store, *, workspace_id: str) -> Workspace | None:
    doc = await store.collection("workspaces").find_one({"_id": workspace_id})
    return _workspace(doc) if doc else None


async def install_key(
    store: Store,
    *,
    key_id: str,
    workspace_id: str,
    secret: str,
    name: str,
    scope: KeyScope,
    operator: bool,
    now: datetime,
) -> None:
    """Create the key, or point an existing key with this id at this secret."""
    await store.collection("api_keys").update_one(
        {"_id": key_id},
        {
            "$set": {
                "key_hash": hash_key(secret),
                "workspace_id": workspace_id,
                "name": name,
                "scope": scope.value,
                "operator": operator,
            },
            "$setOnInsert": {"created_at": now},
            "$unset": {"revoked_at": ""},
        },
        upsert=True,
    )


async def use_key(store: Store, *, secret: str, now: datetime) -> ApiKey | None:
    """The live key with this secret, its lastUsedAt set to now; None when unknown or revoked."""
    doc = await store.collection("api_keys").find_one_and_update(
        {"key_hash": hash_key(secret), "revoked_at": {"$exists": False}},
        {"$set": {"last_used_at": now}},
    )
    return _api_key(doc) if doc else None


async def all_workspaces(store: Store) -> list[Workspace]:
    docs = await store.collection("workspaces").find({}, sort=[("_id", 1)], limit=0)
    return [_workspace(doc) for doc in docs]


async def update_workspace(
    store: Store, *, workspace_id: str, changes: dict[str, Any]
) -> Workspace | None:
    """Set these fields (identity_verification, retention_days, identity_secret, webhook_secret)."""
    doc = await store.collection("workspaces").find_one_and_update(
        {"_id": workspace_id}, {"$set": changes}
    )
    return _workspace(doc) if doc else None


async def list_keys(store: Store, *, workspace_id: str) -> list[ApiKey]:
    docs = await store.collection("api_keys").find(
        {"workspace_id": workspace_id, "revoked_at": {"$exists": False}},
        sort=[("created_at", 1), ("_id", 1)],
        limit=0,
    )
    return [_api_key(doc) for doc in docs]


async def revoke_key(
    store: Store, *, workspace_id: str, key_id: str, now: datetime
) -> ApiKey | None:
    doc = await store.collection("api_keys").find_one_and_update(
        {"workspace_id": workspace_id, "_id": key_id, "revoked_at": {"$exists": False}},
        {"$set": {"revoked_at": now}},
    )
    return _api_key(doc) if doc else None


async def note_new_event_names(store: Store, *, workspace_id: str) -> None:
    """Written by every transaction that adds names to the catalog: two such transactions
    then conflict (one is retried, seeing the other's names), so that the names' cap, read
    as a count inside them, holds exactly. New names are rare: this is no hot spot."""
    await store.collection("workspaces").update_one(
        {"_id": workspace_id}, {"$inc": {"event_names_added": 1}}
    )
