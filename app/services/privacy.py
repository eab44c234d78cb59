"""What a person may ask of their data: a copy of everything stored (access), or deletion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.errors import UserError
from app.domain.models import Workspace
from app.domain.records import contact_record, event_record, message_record
from app.domain.refs import ContactKey
from app.domain.timestamps import days_before, format_iso
from app.store import contacts as store_contacts
from app.store import event_types as store_event_types
from app.store import events as store_events
from app.store import messages as store_messages
from app.store.client import Store


@dataclass(frozen=True)
class Deletion:
    contact_id: str | None = None
    event_count: int = 0
    errors: list[UserError] = field(default_factory=list)


class Privacy:
    def __init__(self, *, store: Store, workspace: Workspace) -> None:
        self._store = store
        self._workspace = workspace

    async def delete(self, key: ContactKey) -> Deletion:
        """The contact, its raw events, and its share of the catalog, all at once."""
        workspace_id = self._workspace.id
        contact = await store_contacts.find_contact(self._store, workspace_id=workspace_id, key=key)
        if contact is None:
            return Deletion(errors=[UserError("CONTACT_NOT_FOUND", "No such contact.", ("ref",))])

        async def work() -> int:
            events = await store_events.delete_events_of(
                self._store, workspace_id=workspace_id, contact_id=contact.id
            )
            await store_messages.delete_messages_of(
                self._store, workspace_id=workspace_id, contact_ids=[contact.id]
            )
            await store_contacts.delete_contact(
                self._store, workspace_id=workspace_id, contact_id=contact.id
            )
            names = list(contact.summaries)
            await store_event_types.forget_contact(
                self._store,
                workspace_id=workspace_id,
                counts={name: s.count for name, s in contact.summaries.items()},
                bounds=await store_contacts.bounds_of(
                    self._store, workspace_id=workspace_id, names=names
                ),
            )
            return events

        deleted = await self._store.in_transaction(work)
        return Deletion(contact_id=contact.id, event_count=deleted)

    async def export(self, key: ContactKey, *, now: datetime) -> dict[str, Any] | None:
        """Everything stored about one contact: attributes, summaries, raw events in the window."""
        workspace_id = self._workspace.id
        contact = await store_contacts.find_contact(self._store, workspace_id=workspace_id, key=key)
        if contact is None:
            return None
        events = await store_events.find_activity(
            self._store,
            workspace_id=workspace_id,
            contact_id=contact.id,
            visible_after=days_before(now, self._workspace.retention_days),
            names=None,
            since=None,
            until=None,
            before=None,
            limit=0,
        )
        messages = await store_messages.find_messages(
            self._store,
            workspace_id=workspace_id,
            contact_id=contact.id,
            rule_id=None,
            status=None,
            before=None,
            limit=0,
        )
        return {
            "exportedAt": format_iso(now),
            "workspace": workspace_id,
            "contact": contact_record(contact),
            "events": [event_record(event) for event in events],
            "messages": [message_record(message) for message in messages],
        }
