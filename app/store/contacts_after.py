"""The contacts after a batch's deltas, from the contacts read before them in the same
transaction: what `contacts.summary_update` makes of each stored contact ($inc count, $min
firstAt, $max lastAt and lastSeenAt), without reading every contact back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from app.domain.events import ContactDelta
from app.domain.models import Contact, EventSummary
from app.domain.refs import ContactKey


def contacts_after(
    before: Mapping[ContactKey, Contact], deltas: Mapping[ContactKey, ContactDelta]
) -> dict[ContactKey, Contact]:
    """Each ref's contact with the deltas of every ref naming it added; a ref naming nobody
    before is left out (the update matched nothing)."""
    after: dict[str, Contact] = {}  # by contact id: two refs may name one contact
    for key, delta in deltas.items():
        contact = before.get(key)
        if contact is not None:
            after[contact.id] = _added(after.get(contact.id, contact), delta)
    return {key: after[before[key].id] for key in deltas if key in before}


def _added(contact: Contact, delta: ContactDelta) -> Contact:
    summaries = dict(contact.summaries)
    for name, added in delta.names.items():
        summary = summaries.get(name)
        summaries[name] = EventSummary(
            name=name,
            count=added.count if summary is None else summary.count + added.count,
            first_at=added.first_at if summary is None else min(summary.first_at, added.first_at),
            last_at=added.last_at if summary is None else max(summary.last_at, added.last_at),
        )
    seen = contact.last_seen_at  # null sorts before any date, as absent does
    last_seen_at = delta.last_seen_at if seen is None else max(seen, delta.last_seen_at)
    return replace(contact, summaries=summaries, last_seen_at=last_seen_at)
