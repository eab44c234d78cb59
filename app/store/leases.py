"""Leases: which instance may run a singleton job (the scheduler) for a while."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from app.store.database import Store


async def acquire(store: Store, *, name: str, holder: str, now: datetime, seconds: float) -> bool:
    """True when `holder` holds the lease until now + seconds (taken, renewed, or expired)."""
    try:
        doc = await store.collection("leases").find_one_and_update(
            {"_id": name, "$or": [{"holder": holder}, {"until": {"$lt": now}}]},
            {"$set": {"holder": holder, "until": now + timedelta(seconds=seconds)}},
            upsert=True,
        )
    except DuplicateKeyError:  # held by another: the upsert tried to create it again
        return False
    return doc is not None and doc.get("holder") == holder
