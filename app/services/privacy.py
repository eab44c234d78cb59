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
from app.services.pending import complete_merges
from app.store import contacts as store_contacts
from app.store import deletions
from app.store import events as store_events
from app.store import messages as store_messages
from app.store.database import Store

_MERGE_ROUNDS = 3  # a contact found mid-merge: finish the merge, look again


@dataclass(frozen=True)
class Deletion:
    contact_id: str | None = None
    event_count: int = 0
    errors: list[UserError] = field(default_factory=list)


class Privacy:
    def __init__(self, *, store: Store, workspace: Workspace) -> None:
        self._store = store
        self._workspace = workspace

    async def delete(self, key: ContactKey, *, now: datetime) -> Deletion:
        """The contact and its share of the catalog in one bounded transaction, then its raw
        events and messages a chunk at a time (app/store/deletions.py). A contact found in a
        merge under way: the merge is finished first, then the ref looked up again (a merged
        lead's anonymousId names its user)."""
        store, workspace_id = self._store, self._workspace.id
        for _ in range(_MERGE_ROUNDS):
            contact = await store_contacts.find_contact(store, workspace_id=workspace_id, key=key)
            if contact is None:
                break
            try:
                deletion = await self._delete(contact.id, now=now)
            except deletions.MergeUnderWay as e:
                await complete_merges(
                    store, workspace_id=workspace_id, lead_ids=e.lead_ids, now=now
                )
                continue
            if deletion is not None:
                return deletion
            break
        return Deletion(errors=[UserError("CONTACT_NOT_FOUND", "No such contact.", ("ref",))])

    async def _delete(self, contact_id: str, *, now: datetime) -> Deletion | None:
        store, workspace_id = self._store, self._workspace.id
        found = await store.in_transaction(
            lambda: deletions.begin(
                store, workspace_id=workspace_id, contact_id=contact_id, now=now
            )
        )
        if not found:
            return None
        events = await deletions.complete(store, workspace_id=workspace_id, contact_id=contact_id)
        return Deletion(contact_id=contact_id, event_count=events)

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
