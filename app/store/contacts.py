"""Contacts, each holding its per-event summaries (`events.<name>.{count,first_at,last_at}`).

Keeping summaries inside the contact document lets one atomic update record an event for a
contact (created if missing), and lets one query over contacts answer behavioural filters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from app.domain.attributes import AttributeValue
from app.domain.events import ContactDelta
from app.domain.models import Contact, ContactRole, EventSummary
from app.domain.refs import ContactKey, RefKind, keys_of
from app.memo import remember
from app.store.client import Doc
from app.store.contacts_after import contacts_after
from app.store.database import Store

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
    if key.kind is RefKind.ANONYMOUS_ID:
        # A lead's own id, or the alias a user kept from a lead merged into it.
        return {
            "workspace_id": workspace_id,
            "$or": [{"anonymous_id": key.value}, {"aliases": key.value}],
        }
    query: dict[str, Any] = {"workspace_id": workspace_id, _REF_FIELDS[key.kind]: key.value}
    if key.kind is RefKind.EMAIL:
        # An email names a USER; leads may share emails.
        query["role"] = ContactRole.USER.value
    return query


def write_filter(workspace_id: str, key: ContactKey) -> dict[str, Any] | None:
    """The query a write by `key` uses: as `ref_filter`, except that a lead being merged
    (`merging`, app/store/merges.py) takes no new writes. Its anonymousId then names exactly
    one contact, the user holding it as an alias (both are changed in one transaction), and a
    write by its server id finds nobody: its summaries stay as they were folded."""
    query = ref_filter(workspace_id, key)
    if query is None or key.kind is RefKind.ID:
        return query if query is None else {**query, "merging": {"$exists": False}}
    if key.kind is RefKind.ANONYMOUS_ID:
        return {
            "workspace_id": workspace_id,
            "$or": [
                {"aliases": key.value},
                {"anonymous_id": key.value, "merging": {"$exists": False}},
            ],
        }
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
        aliases=tuple(doc.get("aliases") or ()),
        audience_done=tuple(doc.get("audience_done") or ()),
        summaries={name: _summary(name, s) for name, s in (doc.get("events") or {}).items()},
    )


# A contact is read on every event it gets, and all its summaries but the event's own are as
# they were: equal summaries (immutable) are built once (~1 us each; a contact with 30 names
# cost ~30 us a read). At most 20,000 of them, emptied when full.
_summaries: dict[tuple[str, int, datetime, datetime], EventSummary] = {}


def _summary(name: str, stored: Doc) -> EventSummary:
    key = (name, stored["count"], stored["first_at"], stored["last_at"])
    summary = _summaries.get(key)
    if summary is None:
        made = EventSummary(name=name, count=key[1], first_at=key[2], last_at=key[3])
        summary = remember(_summaries, key, made, most=20_000)
    return summary


async def _upsert(
    store: Store, *, query: dict[str, Any], update: dict[str, Any], key: ContactKey, now: datetime
) -> Doc | None:
    """find-and-modify by ref; creates the contact unless the ref is a server id."""
    create = key.kind is not RefKind.ID
    update = _with_insert_fields(update, query=query, key=key, now=now)
    contacts = store.collection("contacts")
    try:
        return await contacts.find_one_and_update(query, update, upsert=create)
    except DuplicateKeyError:
        if store.in_session():
            raise  # the transaction is aborted; Store.in_transaction starts a new one
        # Another request created the same contact between our match and our insert: it
        # exists now, so the same update matches it.
        return await contacts.find_one_and_update(query, update, upsert=create)


def summary_update(delta: ContactDelta) -> dict[str, Any]:
    """One atomic update adding `delta` to a contact's summaries: exact in any order."""
    inc: dict[str, Any] = {}
    min_: dict[str, Any] = {}
    max_: dict[str, Any] = {"last_seen_at": delta.last_seen_at}
    for name, summary in delta.names.items():
        inc[f"events.{name}.count"] = summary.count
        min_[f"events.{name}.first_at"] = summary.first_at
        max_[f"events.{name}.last_at"] = summary.last_at
    return {"$inc": inc, "$min": min_, "$max": max_}


def _with_insert_fields(
    update: dict[str, Any], *, query: dict[str, Any], key: ContactKey, now: datetime
) -> dict[str, Any]:
    """`update`, creating the contact when the ref names nobody (except a ref by server id)."""
    if key.kind is RefKind.ID:
        return update
    # Fields the query names by equality are copied into a created document already.
    fields = {"role": key.role.value, "created_at": now, _REF_FIELDS[key.kind]: key.value}
    on_insert = {k: v for k, v in fields.items() if k not in query}
    return {**update, "$setOnInsert": on_insert}


async def find_contacts(
    store: Store, *, workspace_id: str, keys: Iterable[ContactKey]
) -> dict[ContactKey, Contact]:
    """The contacts these refs name as writes see them (`write_filter`), in one query (refs
    naming nobody are left out)."""
    by_kind: dict[RefKind, dict[str, None]] = {}  # the values asked, in order, as a set
    for key in keys:
        by_kind.setdefault(key.kind, {})[key.value] = None
    clauses: list[dict[str, Any]] = []
    for kind, values in by_kind.items():
        if kind is RefKind.ID:
            ids = [oid for oid in map(object_id, values) if oid is not None]
            if ids:
                clauses.append({"_id": {"$in": ids}})
        elif kind is RefKind.ANONYMOUS_ID:
            clauses += [{"anonymous_id": {"$in": [*values]}}, {"aliases": {"$in": [*values]}}]
        else:
            clause: dict[str, Any] = {_REF_FIELDS[kind]: {"$in": [*values]}}
            if kind is RefKind.EMAIL:
                clause["role"] = ContactRole.USER.value
            clauses.append(clause)
    if not clauses:
        return {}
    docs = await store.collection("contacts").find(
        {"workspace_id": workspace_id, "$or": clauses}, limit=0
    )
    found: dict[ContactKey, Contact] = {}
    for doc in docs:
        if "merging" in doc:  # a lead being merged: writes by these refs went elsewhere
            continue
        contact = to_contact(doc)
        for key in keys_of(contact):
            if key.value in by_kind.get(key.kind, ()):
                found[key] = contact
    return found


async def record_events(
    store: Store,
    *,
    workspace_id: str,
    deltas: dict[ContactKey, ContactDelta],
    now: datetime,
    before: Mapping[ContactKey, Contact] | None = None,
) -> dict[ContactKey, Contact]:
    """Add each contact's events to its summaries, creating missing contacts (not by server id).

    The contacts after the update, by ref; a ref by server id that names nobody is left out.
    One contact: one atomic find-and-modify. Several: one bulk write, then one query, or none
    when the caller read these refs' contacts (`find_contacts`) in the same transaction
    (`before`) and the write created none: they are those with the deltas added. (Outside a
    transaction another write may come in between: the contacts are read again.)
    """
    queries = {key: write_filter(workspace_id, key) for key in deltas}
    keys = [key for key, query in queries.items() if query is not None]
    if len(keys) == 1:
        [key] = keys
        query = queries[key]
        assert query is not None
        doc = await _upsert(
            store, query=query, update=summary_update(deltas[key]), key=key, now=now
        )
        return {key: to_contact(doc)} if doc else {}
    requests = []
    for key in keys:
        query = queries[key]
        assert query is not None
        update = _with_insert_fields(summary_update(deltas[key]), query=query, key=key, now=now)
        requests.append(UpdateOne(query, update, upsert=key.kind is not RefKind.ID))
    created = await store.collection("contacts").bulk_upsert(requests)
    if before is not None and not created and store.in_session():
        return contacts_after(before, {key: deltas[key] for key in keys})
    return await find_contacts(store, workspace_id=workspace_id, keys=keys)


async def find_contact(store: Store, *, workspace_id: str, key: ContactKey) -> Contact | None:
    query = ref_filter(workspace_id, key)
    if query is None:
        return None
    if key.kind is RefKind.ANONYMOUS_ID:
        # Halfway through a merge both the lead and the user answer to its anonymousId: the
        # lead comes first, so that a repeat of the merge finds it and finishes it.
        docs = await store.collection("contacts").find(query, sort=[("role", 1)], limit=1)
        return to_contact(docs[0]) if docs else None
    doc = await store.collection("contacts").find_one(query)
    return to_contact(doc) if doc else None


async def find_write_target(store: Store, *, workspace_id: str, key: ContactKey) -> Contact | None:
    """The contact a write by `key` reaches (`write_filter`): halfway through a merge, the user
    for the lead's anonymousId, where `find_contact` shows the lead."""
    query = write_filter(workspace_id, key)
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
    query = write_filter(workspace_id, key)
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


async def stream_contacts(store: Store, *, workspace_id: str) -> AsyncIterator[Contact]:
    async for doc in store.collection("contacts").stream(
        {"workspace_id": workspace_id}, sort=[("_id", 1)], batch_size=500
    ):
        yield to_contact(doc)


async def mark_audience_done(
    store: Store, *, workspace_id: str, contact_ids: list[str], rule_id: str
) -> None:
    """These contacts had their message from an AUDIENCE rule: the rule skips them from now on."""
    await store.collection("contacts").update_many(
        {"workspace_id": workspace_id, "_id": {"$in": [ObjectId(c) for c in contact_ids]}},
        {"$addToSet": {"audience_done": rule_id}},
    )


async def forget_audience_rule(store: Store, *, workspace_id: str, rule_id: str) -> None:
    """A deleted (or no longer AUDIENCE) rule leaves every contact's `audience_done`, which
    therefore holds at most one id per AUDIENCE rule (a capped number). An admin operation,
    outside any transaction: one multi-document update."""
    await store.collection("contacts").update_many(
        {"workspace_id": workspace_id, "audience_done": rule_id},
        {"$pull": {"audience_done": rule_id}},
    )


async def span_end(
    store: Store, *, workspace_id: str, after: ObjectId | None, size: int
) -> str | None:
    """The id of the `size`-th contact after `after` in id order (index `(workspace_id, _id)`),
    or None when fewer remain."""
    query: dict[str, Any] = {"workspace_id": workspace_id}
    if after is not None:
        query["_id"] = {"$gt": after}
    docs = await store.collection("contacts").find(
        query, sort=[("_id", 1)], limit=size, projection={"_id": 1}
    )
    return str(docs[-1]["_id"]) if len(docs) == size else None
