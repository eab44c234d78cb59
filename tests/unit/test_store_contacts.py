"""A contact document read into the domain's Contact (app/store/contacts.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bson import ObjectId

from app.domain.events import ContactDelta, SummaryDelta
from app.domain.models import Contact, EventSummary
from app.domain.refs import ContactKey, RefKind
from app.metrics import Metrics
from app.settings import Settings
from app.store.contacts import find_contacts, record_events, to_contact, upsert_contact
from app.store.database import Store, open_store
from app.store.indexes import create_indexes

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _document(**events: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "workspace_id": "w",
        "role": "USER",
        "created_at": AT,
        "user_id": "u1",
        "events": events,
    }


def test_each_summary_is_read_from_its_own_values() -> None:
    """Equal summaries are built once (a cache): each field of one still tells it apart."""
    later = AT + timedelta(seconds=1)
    base: dict[str, Any] = {"count": 1, "first_at": AT, "last_at": AT}
    variants = [base, {**base, "count": 2}, {**base, "first_at": later}, {**base, "last_at": later}]
    for stored in [*variants, *variants]:
        contact = to_contact(_document(signup=stored, other=base))
        assert contact.summaries == {
            "signup": EventSummary(name="signup", **stored),
            "other": EventSummary(name="other", **base),
        }


async def _stores() -> list[Store]:
    """Two embedded stores with the same contacts: a lead, two users (one of them known by
    userId and by email), none of them seen yet."""
    stores = []
    for _ in range(2):
        store = await open_store(Settings(), Metrics())
        await create_indexes(store)
        for key, fields in [
            (ContactKey(RefKind.ANONYMOUS_ID, "anon-1"), {}),
            (ContactKey(RefKind.USER_ID, "u1"), {"email": "u1@x.io"}),
            (ContactKey(RefKind.USER_ID, "u2"), {}),
        ]:
            await upsert_contact(
                store,
                workspace_id="w",
                key=key,
                fields=fields,
                attributes={},
                last_seen_at=None,
                now=AT,
            )
        stores.append(store)
    return stores


async def _record(
    store: Store, deltas: dict[ContactKey, ContactDelta], with_before: bool
) -> dict[ContactKey, Contact]:
    """A batch's contacts recorded, in a transaction that read them first (as tracking does)."""
    before = await find_contacts(store, workspace_id="w", keys=deltas)
    return await record_events(
        store, workspace_id="w", deltas=deltas, now=AT, before=before if with_before else None
    )


def _delta(*names: str, at: int) -> ContactDelta:
    instant = AT + timedelta(minutes=at)
    return ContactDelta(
        names={name: SummaryDelta(2, instant, instant + timedelta(seconds=1)) for name in names},
        last_seen_at=instant,
    )


async def test_the_contacts_after_a_write_are_the_ones_read_before_with_the_deltas_added() -> None:
    """`record_events` with the contacts read in its transaction answers what reading them
    again answers: new names, older and newer events, two refs of one contact, a ref by id
    naming nobody; and a batch creating a contact reads them all again."""
    batches = [
        {
            ContactKey(RefKind.ANONYMOUS_ID, "anon-1"): _delta("signup", at=5),
            ContactKey(RefKind.USER_ID, "u1"): _delta("signup", "paid", at=3),
            ContactKey(RefKind.EMAIL, "u1@x.io"): _delta("paid", at=1),
            ContactKey(RefKind.ID, str(ObjectId())): _delta("signup", at=2),
        },
        {
            ContactKey(RefKind.USER_ID, "u1"): _delta("paid", at=-10),
            ContactKey(RefKind.USER_ID, "u2"): _delta("signup", at=20),
        },
        {
            ContactKey(RefKind.USER_ID, "u2"): _delta("signup", at=0),
            ContactKey(RefKind.USER_ID, "u3"): _delta("signup", at=0),  # created
        },
    ]
    read_again, added = await _stores()
    for deltas in batches:
        answers = []
        for store, with_before in ((read_again, False), (added, True)):
            found = await store.in_transaction(partial(_record, store, deltas, with_before))
            answers.append({key: replace(c, id="") for key, c in found.items()})  # two stores
        assert answers[1] == answers[0]
        named = [key for key in deltas if key.kind is not RefKind.ID]
        assert set(answers[0]) == set(named)  # the ref by id names nobody
