"""`python -m app export`: a workspace's contacts with their summaries, one JSON object a line."""

from __future__ import annotations

import json
from typing import IO, Any

from app.domain.metadata import to_json
from app.domain.models import Contact
from app.domain.timestamps import format_iso
from app.store.client import Store
from app.store.contacts import stream_contacts


def _iso(value: Any) -> str | None:
    return format_iso(value) if value is not None else None


def contact_record(contact: Contact) -> dict[str, Any]:
    """A contact as the API shows it (field names and formats of the Contact type)."""
    return {
        "id": contact.id,
        "role": contact.role.value,
        "userId": contact.user_id,
        "email": contact.email,
        "anonymousId": contact.anonymous_id,
        "name": contact.name,
        "createdAt": _iso(contact.created_at),
        "signedUpAt": _iso(contact.signed_up_at),
        "lastSeenAt": _iso(contact.last_seen_at),
        "customAttributes": {k: to_json(v) for k, v in contact.custom_attributes.items()},
        "eventSummaries": [
            {
                "name": s.name,
                "count": s.count,
                "firstAt": _iso(s.first_at),
                "lastAt": _iso(s.last_at),
            }
            for _, s in sorted(contact.summaries.items())
        ],
    }


async def export_contacts(store: Store, *, workspace_id: str, out: IO[str]) -> int:
    """Write every contact of the workspace; how many were written."""
    written = 0
    async for contact in stream_contacts(store, workspace_id=workspace_id):
        out.write(json.dumps(contact_record(contact), ensure_ascii=False) + "\n")
        written += 1
    return written
