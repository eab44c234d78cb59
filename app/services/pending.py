"""Merges and deletions a crash interrupted, completed: by a repeat, or by this sweep, which
the server runs at start-up. Every step is idempotent, so two processes completing the same
job at once do no harm."""

from __future__ import annotations

import logging

from app.store import deletions, jobs, merges
from app.store.client import Store

log = logging.getLogger(__name__)
_BATCH = 100


async def complete_pending(store: Store) -> int:
    """Complete the jobs in flight (at most a batch); how many were completed."""
    done = 0
    for job in await jobs.pending(store, limit=_BATCH):
        workspace_id, contact_id = job["workspace_id"], job["contact_id"]
        if job["kind"] == "merge":
            plan = merges.Plan(lead_id=contact_id, into=job["into"], shared=list(job["shared"]))
            await merges.complete(store, workspace_id=workspace_id, plan=plan)
        elif job["kind"] == "delete":
            await deletions.complete(store, workspace_id=workspace_id, contact_id=contact_id)
        else:
            log.warning("Unknown pending job %s", job["_id"])
            continue
        done += 1
    if done:
        log.info("Completed %d interrupted merges or deletions", done)
    return done
