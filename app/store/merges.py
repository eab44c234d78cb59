"""The steps of merging a lead into a user, each safe to repeat.

Run in one transaction on a replica set. Elsewhere each step is guarded so that repeating an
interrupted merge completes it exactly: the plan is fixed on the lead first; the user takes the
lead's summaries only if it has not already (`merged_from`); each shared catalog entry loses one
contact only once (`merged_leads`); moving events and deleting the lead repeat harmlessly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from app.domain.events import ContactDelta, SummaryDelta
from app.domain.models import Contact, ContactRole
from app.store.client import Store
from app.store.contacts import UniqueFieldTaken, object_id, summary_update

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def plan(
    store: Store, *, workspace_id: str, lead: Contact, user: Contact, shared: list[str]
) -> dict[str, Any] | None:
    """The merge this lead is in: the one just planned, or one planned before (to finish)."""
    contacts = store.collection("contacts")
    lead_id = object_id(lead.id)
    doc = await contacts.find_one_and_update(
        {"workspace_id": workspace_id, "_id": lead_id, "role": ContactRole.LEAD.value,
         "merging": {"$exists": False}},
        {"$set": {"merging": {"into": user.id, "shared": shared}}},
    )  # fmt: skip
    if doc is None:
        doc = await contacts.find_one({"workspace_id": workspace_id, "_id": lead_id})
    merging: dict[str, Any] | None = doc.get("merging") if doc else None
    return merging


async def fold_into_user(store: Store, *, workspace_id: str, lead: Contact, user: Contact) -> None:
    """The lead's summaries, aliases, earlier creation, later last-seen and the attributes the
    user lacks, added to the user once."""
    delta = ContactDelta(
        names={
            name: SummaryDelta(s.count, s.first_at, s.last_at) for name, s in lead.summaries.items()
        },
        last_seen_at=lead.last_seen_at or _EPOCH,
    )
    update = summary_update(delta)
    if lead.last_seen_at is None:
        del update["$max"]["last_seen_at"]
    update["$min"]["created_at"] = lead.created_at
    aliases = [a for a in (lead.anonymous_id, *lead.aliases) if a is not None]
    update["$addToSet"] = {"aliases": {"$each": aliases}, "merged_from": lead.id}
    kept = {
        f"attrs.{k}": v
        for k, v in lead.custom_attributes.items()
        if k not in user.custom_attributes
    }
    if user.name is None and lead.name is not None:
        kept["name"] = lead.name
    if kept:
        update["$set"] = kept
    update = {op: fields for op, fields in update.items() if fields}
    await store.collection("contacts").update_one(
        {"workspace_id": workspace_id, "_id": object_id(user.id), "merged_from": {"$ne": lead.id}},
        update,
    )


async def count_shared_once(
    store: Store, *, workspace_id: str, lead_id: str, shared: list[str]
) -> None:
    """Event names both had now have one contact less in the catalog."""
    if shared:
        await store.collection("event_types").update_many(
            {
                "workspace_id": workspace_id,
                "name": {"$in": shared},
                "merged_leads": {"$ne": lead_id},
            },
            {"$inc": {"contact_count": -1}, "$addToSet": {"merged_leads": lead_id}},
        )


async def move_events(store: Store, *, workspace_id: str, lead_id: str, user_id: str) -> None:
    await store.collection("events").update_many(
        {"workspace_id": workspace_id, "contact_id": object_id(lead_id)},
        {"$set": {"contact_id": object_id(user_id)}},
    )


async def move_messages(store: Store, *, workspace_id: str, lead: Contact, user_id: str) -> None:
    """The lead's messages become the user's, so that a ONCE rule does not fire twice for
    one person; when both already have one for a rule, the lead's stays as history only."""
    messages = store.collection("messages")
    lead_oid, user_oid = object_id(lead.id), object_id(user_id)
    for doc in await messages.find(
        {"workspace_id": workspace_id, "contact_id": lead_oid, "once_key": {"$type": "string"}},
        limit=0,
    ):
        moved = f"{doc['rule_id']}:{user_id}"
        try:
            await messages.update_one({"_id": doc["_id"]}, {"$set": {"once_key": moved}})
        except DuplicateKeyError:
            await messages.update_one({"_id": doc["_id"]}, {"$unset": {"once_key": ""}})
    await messages.update_many(
        {"workspace_id": workspace_id, "contact_id": lead_oid}, {"$set": {"contact_id": user_oid}}
    )
    if lead.audience_done:
        await store.collection("contacts").update_one(
            {"workspace_id": workspace_id, "_id": user_oid},
            {"$addToSet": {"audience_done": {"$each": list(lead.audience_done)}}},
        )


async def finish(store: Store, *, workspace_id: str, lead_id: str, user_id: str) -> None:
    """Remove the lead and the markers that guarded the steps."""
    await store.collection("contacts").delete_one(
        {"workspace_id": workspace_id, "_id": object_id(lead_id)}
    )
    await store.collection("contacts").update_one(
        {"workspace_id": workspace_id, "_id": object_id(user_id)},
        {"$pull": {"merged_from": lead_id}},
    )
    await store.collection("event_types").update_many(
        {"workspace_id": workspace_id, "merged_leads": lead_id},
        {"$pull": {"merged_leads": lead_id}},
    )


async def convert_in_place(store: Store, *, workspace_id: str, lead_id: str, user_id: str) -> bool:
    """The lead becomes a user with this userId; False when it is not a lead any more.

    Raises UniqueFieldTaken when another contact took the userId meanwhile."""
    try:
        result = await store.collection("contacts").update_one(
            {
                "workspace_id": workspace_id,
                "_id": object_id(lead_id),
                "role": ContactRole.LEAD.value,
            },
            {"$set": {"role": ContactRole.USER.value, "user_id": user_id}},
        )
    except DuplicateKeyError as e:
        raise UniqueFieldTaken from e
    return result.matched_count == 1
