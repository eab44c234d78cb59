"""Multi-step work in flight (merges, deletions): recorded by its first step, removed by its
last, so that work a crash interrupted is found and completed (`app/services/pending.py`).

A job's `_id` names it (`kind:workspace:contact`), so recording it again changes nothing.
The collection holds only work in flight: a few documents, read oldest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.store.client import Doc
from app.store.database import Store


def _job_id(kind: str, workspace_id: str, contact_id: str) -> str:
    return f"{kind}:{workspace_id}:{contact_id}"


async def record(
    store: Store, *, kind: str, workspace_id: str, contact_id: str, now: datetime, **fields: Any
) -> None:
    """An upsert, never a refused insert: it runs inside transactions."""
    await store.collection("jobs").update_one(
        {"_id": _job_id(kind, workspace_id, contact_id)},
        {
            "$setOnInsert": {
                "kind": kind,
                "workspace_id": workspace_id,
                "contact_id": contact_id,
                "started_at": now,
                **fields,
            }
        },
        upsert=True,
    )


async def find(store: Store, *, kind: str, workspace_id: str, contact_id: str) -> Doc | None:
    return await store.collection("jobs").find_one({"_id": _job_id(kind, workspace_id, contact_id)})


async def remove(store: Store, *, kind: str, workspace_id: str, contact_id: str) -> None:
    await store.collection("jobs").delete_one({"_id": _job_id(kind, workspace_id, contact_id)})


async def pending(store: Store, *, started_before: datetime, limit: int) -> list[Doc]:
    return await store.collection("jobs").find(
        {"started_at": {"$lt": started_before}}, sort=[("started_at", 1)], limit=limit
    )
