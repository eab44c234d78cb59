"""Merges and deletions a crash interrupted, completed: by a repeat, or by this sweep, which
the server runs at start-up and the scheduler after each round. Every step is idempotent, so
two processes completing the same job at once do no harm."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app.store import deletions, jobs, merges
from app.store.client import Doc
from app.store.database import Store

log = logging.getLogger(__name__)
_BATCH = 100
_GRACE = timedelta(minutes=1)


async def complete_pending(store: Store, *, now: datetime) -> int:
    """Complete the jobs started more than a minute ago (the request that started a younger one
    is probably still at it), at most a batch; how many were completed. A job that fails again
    is logged and left for the next sweep."""
    done = 0
    for job in await jobs.pending(store, started_before=now - _GRACE, limit=_BATCH):
        workspace_id, contact_id = job["workspace_id"], job["contact_id"]
        try:
            if job["kind"] == "merge":
                await _complete_merge(store, job=job, now=now)
            else:
                await deletions.complete(store, workspace_id=workspace_id, contact_id=contact_id)
        except Exception:
            log.exception("Could not complete the pending job %s", job["_id"])
            continue
        done += 1
    if done:
        log.info("Completed %d interrupted merges or deletions", done)
    return done


async def complete_merges(
    store: Store, *, workspace_id: str, lead_ids: list[str], now: datetime
) -> None:
    """These leads' merges, completed now (whatever their age)."""
    for lead_id in lead_ids:
        job = await jobs.find(store, kind="merge", workspace_id=workspace_id, contact_id=lead_id)
        if job is None:  # planned on the lead, the job not yet recorded (no transactions)
            planned = await merges.planned(store, workspace_id=workspace_id, lead_id=lead_id)
            if planned is None:
                continue
            job = {"workspace_id": workspace_id, "contact_id": lead_id, **planned}
        await _complete_merge(store, job=job, now=now)


async def _complete_merge(store: Store, *, job: Doc, now: datetime) -> None:
    """Step 1 again (each of its writes is guarded), unless the lead is gone already (the last
    step was under way), then the rest."""
    workspace_id, lead_id, into = job["workspace_id"], job["contact_id"], job["into"]

    async def begin() -> merges.Plan | None:
        return await merges.begin(
            store, workspace_id=workspace_id, lead_id=lead_id, user_id=into, caps=None, now=now
        )

    plan = await store.in_transaction(begin) or merges.Plan(
        lead_id=lead_id, into=into, shared=list(job["shared"])
    )
    await merges.complete(store, workspace_id=workspace_id, plan=plan)
