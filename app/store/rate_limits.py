"""Shared request counts per key and minute (several app instances on one MongoDB)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.store.database import Store


async def add(store: Store, *, key: str, count: int, window_end: int) -> int:
    """Add `count` to the window's total; the total after it."""
    doc = await store.collection("rate_limits").find_one_and_update(
        {"_id": key},
        {
            "$inc": {"n": count},
            "$setOnInsert": {"expires_at": datetime.fromtimestamp(window_end, UTC)},
        },
        upsert=True,
    )
    return int(doc["n"]) if doc else count
