"""`python -m app export`: a workspace's contacts with their summaries, one JSON object a line."""

from __future__ import annotations

import json
from typing import IO

from app.domain.records import contact_record
from app.store.contacts import stream_contacts
from app.store.database import Store


async def export_contacts(store: Store, *, workspace_id: str, out: IO[str]) -> int:
    """Write every contact of the workspace; how many were written."""
    written = 0
    async for contact in stream_contacts(store, workspace_id=workspace_id):
        out.write(json.dumps(contact_record(contact), ensure_ascii=False) + "\n")
        written += 1
    return written
