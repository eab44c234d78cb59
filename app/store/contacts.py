"""Contacts, each holding its per-event summaries (`events.<name>.{count,first_at,last_at}`).

Keeping summaries inside the contact document lets one atomic update record an event for a
contact (created if missing), and lets one query over contacts answer behavioural filters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from app.domain.attributes import AttributeValue
from app.domain.models import Contact, ContactRole, EventSummary
from app.domain.refs import ContactKey, RefKind
from app.store.client import Doc, Store

_REF_FIELDS = {
    RefKind.USER_ID: "user_id",
    RefKind.EMAIL: "email",
    RefKind.ANONYMOUS_ID: "anonymous_id",
}


class UniqueFieldTaken(Exception):
    """The email or userId being set belongs to another contact."""


def object_id(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def ref_filter(workspace_id: str, key: ContactKey) -> dict[str, Any] | None:
    """The query that finds the contact `key` names; None when it cannot name one."""
    if key.kind is RefKind.ID:
        oid = object_id(key.value)
        return None if oid is None else {"workspace_id": workspace_id, "_id": oid}
    query: dict[str, Any] = {"workspace_id": workspace_id, _REF_FIELDS[key.kind]: key.value}
    if key.kind is RefKind.EMAIL:
        # An email names a USER; leads may share emails.
        query["role"] = ContactRole.USER.value
    return query


def to_contact(doc: Doc) -> Contact:
    return Contact(
        id=str(doc["_id"]),
        workspace_id=doc["workspace_id"],
        role=ContactRole(doc["role"]),
        created_at=doc["created_at"],
        user_id=doc.get("user_id"),
        email=doc.get("email"),
        anonymous_id=doc.get("anonymous_id"),
        name=doc.get("name"),
        signed_up_at=doc.get("signed_up_at"),
        last_seen_at=doc.get("last_seen_at"),
        custom_attributes=dict(doc.get("attrs") or {}),
        summaries={
            name: EventSummary(
                name=name, count=s["count"], first_at=s["first_at"], last_at=s["last_at"]
            )
            for name, s in (doc.get("events") or {}).items()
        },
    )


async def _upsert(
    store: Store, *, query: dict[str, Any], update: dict[str, Any], key: ContactKey, now: datetime
) -> Doc | None:
    """find-and-modify by ref; creates the contact unless the ref is a server id."""
    create = key.kind is not RefKind.ID
    if create:
        # Fields the query names by equality are copied into a created document already.
        on_insert = {
            k: v for k, v in {"role": key.role.value, "created_at": now}.items() if k not in query
        }
        update = {**update, "$setOnInsert": on_insert}
    contacts = store.collection("contacts")
    try:
        return await contacts.find_one_and_update(query, update, upsert=create)
    except DuplicateKeyError:
        if store.in_session():
            raise  # the transaction is aborted; Store.in_transaction starts a new one
        # Another request created the same contact between our match and our insert: it
        # exists now, so the same update matches it.
        return await contacts.find_one_and_update(query, update, upsert=create)


async def record_event(
    store: Store,
    *,
    workspace_id: str,
    key: ContactKey,
    name: str,
    occurred_at: datetime,
    now: datetime,
) -> Contact | None:
    """Count one event in the contact's summary (created if missing), in one atomic update."""
    query = ref_filter(workspace_id, key)
    if query is None:
        return None
    path = f"events.{name}"
    update = {
        "$inc": {f"{path}.count": 1},
        "$min": {f"{path}.first_at": occurred_at},
        "$max": {f"{path}.last_at": occurred_at, "last_seen_at": occurred_at},
    }
    doc = await _upsert(store, query=query, update=update, key=key, now=now)
    return to_contact(doc) if doc else None


async def find_contact(store: Store, *, workspace_id: str, key: ContactKey) -> Contact | None:
    query = ref_filter(workspace_id, key)
    if query is None:
        return None
    doc = await store.collection("contacts").find_one(query)
    return to_contact(doc) if doc else None


async def find_contact_by_id(store: Store, *, workspace_id: str, contact_id: str) -> Contact | None:
    return await find_contact(
        store, workspace_id=workspace_id, key=ContactKey(RefKind.ID, contact_id)
    )


async def upsert_contact(
    store: Store,
    *,
    workspace_id: str,
    key: ContactKey,
    fields: dict[str, Any],
    attributes: dict[str, AttributeValue | None],
    last_seen_at: datetime | None,
    now: datetime,
) -> Contact | None:
    """Set fields and attributes (None removes one); lastSeenAt only moves forward.

    Raises UniqueFieldTaken when the email or userId belongs to another contact.
    """
    query = ref_filter(workspace_id, key)
    if query is None:
        return None
    set_ = dict(fields)
    set_.update({f"attrs.{k}": v for k, v in attributes.items() if v is not None})
    update: dict[str, Any] = {}
    if set_:
        update["$set"] = set_
    unset = {f"attrs.{k}": "" for k, v in attributes.items() if v is None}
    if unset:
        update["$unset"] = unset
    if last_seen_at is not None:
        update["$max"] = {"last_seen_at": last_seen_at}
    if not update and key.kind is RefKind.ID:
        doc = await store.collection("contacts").find_one(query)
    else:
        try:
            doc = await _upsert(store, query=query, update=update, key=key, now=now)
        except DuplicateKeyError as e:
            raise UniqueFieldTaken from e
    return to_contact(doc) if doc else None
