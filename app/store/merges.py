"""The steps of merging a lead into a user: each touches a bounded number of documents, and
each is safe to repeat, so that a repeat (or the sweep, app/services/pending.py) completes an
interrupted merge.

1. `begin`, one transaction: the lead and the user are read inside it; the caps are checked
   before anything is written; the plan is fixed on the lead (`merging: {into, shared}`), and
   from then on the lead takes no new writes (`contacts.write_filter`: they go to the user,
   which holds its anonymousId as an alias); a pending job is recorded (`jobs`); the user takes
   the lead's summaries once (`merged_from`); each shared catalog entry loses one contact once
   (`merged_leads`); ONCE messages are settled so that no write can be refused.
2. `complete`: the lead's raw events, then its messages, move to the user `CHUNK` at a time
   (plain idempotent writes); then one transaction removes the lead, the markers and the job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from app.domain.errors import UserError
from app.domain.events import ContactDelta, SummaryDelta
from app.domain.models import ContactRole, MessageStatus
from app.store import jobs
from app.store.chunks import in_chunks
from app.store.client import Collection, Doc
from app.store.contacts import UniqueFieldTaken, object_id, summary_update, to_contact
from app.store.database import Store

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 500  # documents moved by one command
SUPERSEDED = "Merged into a contact that already has this rule's message."


@dataclass(frozen=True)
class MergeCaps:
    aliases: int
    attributes: int


class MergeRefused(Exception):
    def __init__(self, error: UserError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class Plan:
    lead_id: str
    into: str
    shared: list[str]


async def begin(
    store: Store,
    *,
    workspace_id: str,
    lead_id: str,
    user_id: str,
    caps: MergeCaps | None,
    now: datetime,
) -> Plan | None:
    """Step 1 (run it in a transaction). The plan, or None when there is no lead to merge any
    more. Raises MergeRefused, before writing anything, when the result would pass a cap.
    Without caps, only a merge planned before is continued (the sweep)."""
    contacts = store.collection("contacts")
    lead = await contacts.find_one({"workspace_id": workspace_id, "_id": object_id(lead_id)})
    if lead is None or lead["role"] != ContactRole.LEAD.value:
        return None
    merging: Mapping[str, Any] | None = lead.get("merging")
    into = merging["into"] if merging else user_id
    user = await contacts.find_one({"workspace_id": workspace_id, "_id": object_id(into)})
    if user is None or user["role"] != ContactRole.USER.value:
        return None
    if merging is None:
        if caps is None:
            return None
        _check_caps(lead, user, caps)
        shared = sorted(set(lead.get("events") or {}) & set(user.get("events") or {}))
        merging = {"into": into, "shared": shared}
        await contacts.update_one(
            {"workspace_id": workspace_id, "_id": lead["_id"], "merging": {"$exists": False}},
            {"$set": {"merging": merging}},
        )
    plan = Plan(lead_id=lead_id, into=into, shared=list(merging["shared"]))
    await jobs.record(
        store, kind="merge", workspace_id=workspace_id, contact_id=lead_id, now=now, into=into,
        shared=plan.shared,
    )  # fmt: skip
    await _fold_into_user(store, workspace_id=workspace_id, lead=lead, user=user)
    await _count_shared_once(store, workspace_id=workspace_id, plan=plan)
    await _settle_once_messages(store, workspace_id=workspace_id, lead=lead, user_id=into)
    return plan


async def planned(store: Store, *, workspace_id: str, lead_id: str) -> Doc | None:
    """The plan fixed on this lead (`{into, shared}`), if a merge of it is under way."""
    lead = await store.collection("contacts").find_one(
        {"workspace_id": workspace_id, "_id": object_id(lead_id)}
    )
    plan: Doc | None = lead.get("merging") if lead else None
    return plan


def _check_caps(lead: Doc, user: Doc, caps: MergeCaps) -> None:
    aliases = set(user.get("aliases") or ()) | set(lead.get("aliases") or ())
    if lead.get("anonymous_id") is not None:
        aliases.add(lead["anonymous_id"])
    if len(aliases) > caps.aliases:
        raise MergeRefused(
            UserError(
                "TOO_MANY_ALIASES",
                f"The user would have {len(aliases)} aliases; at most {caps.aliases}.",
                ("from",),
            )
        )
    attributes = set(user.get("attrs") or {}) | set(lead.get("attrs") or {})
    if len(attributes) > caps.attributes:
        raise MergeRefused(
            UserError(
                "TOO_MANY_CUSTOM_ATTRIBUTES",
                f"The user would have {len(attributes)} custom attributes; at most "
                f"{caps.attributes}.",
                ("from",),
            )
        )


async def _fold_into_user(store: Store, *, workspace_id: str, lead: Doc, user: Doc) -> None:
    """The lead's summaries (as read in this transaction), aliases, earlier creation, later
    last-seen and the attributes the user lacks, added to the user once."""
    lead_contact, user_contact = to_contact(lead), to_contact(user)
    delta = ContactDelta(
        names={
            name: SummaryDelta(s.count, s.first_at, s.last_at)
            for name, s in lead_contact.summaries.items()
        },
        last_seen_at=lead_contact.last_seen_at or _EPOCH,
    )
    update = summary_update(delta)
    if lead_contact.last_seen_at is None:
        del update["$max"]["last_seen_at"]
    update["$min"]["created_at"] = lead_contact.created_at
    aliases = [a for a in (lead_contact.anonymous_id, *lead_contact.aliases) if a is not None]
    update["$addToSet"] = {"aliases": {"$each": aliases}, "merged_from": lead_contact.id}
    if lead_contact.audience_done:
        update["$addToSet"]["audience_done"] = {"$each": list(lead_contact.audience_done)}
    kept = {
        f"attrs.{k}": v
        for k, v in lead_contact.custom_attributes.items()
        if k not in user_contact.custom_attributes
    }
    if user_contact.name is None and lead_contact.name is not None:
        kept["name"] = lead_contact.name
    if kept:
        update["$set"] = kept
    update = {op: fields for op, fields in update.items() if fields}
    await store.collection("contacts").update_one(
        {"workspace_id": workspace_id, "_id": user["_id"], "merged_from": {"$ne": lead_contact.id}},
        update,
    )


async def _count_shared_once(store: Store, *, workspace_id: str, plan: Plan) -> None:
    """Event names both had now have one contact less in the catalog."""
    if plan.shared:
        await store.collection("event_types").update_many(
            {
                "workspace_id": workspace_id,
                "name": {"$in": plan.shared},
                "merged_leads": {"$ne": plan.lead_id},
            },
            {"$inc": {"contact_count": -1}, "$addToSet": {"merged_leads": plan.lead_id}},
        )


async def _settle_once_messages(
    store: Store, *, workspace_id: str, lead: Doc, user_id: str
) -> None:
    """The lead's ONCE messages take the user's keys, decided from what the user holds (read
    here), so that no write is refused: a refused write would abort the transaction.

    When both have a message for a rule, one person has one: a message already SENT wins over
    a SCHEDULED one (which is cancelled, with the reason); otherwise the user's is kept and the
    lead's is cancelled if still scheduled, or kept as history without the key if sent."""
    messages = store.collection("messages")
    owned = await messages.find(
        {"workspace_id": workspace_id, "contact_id": lead["_id"], "once_key": {"$exists": True}},
        limit=0,
    )
    targets = {doc["_id"]: f"{doc['rule_id']}:{user_id}" for doc in owned}
    holders = {
        doc["once_key"]: doc
        for doc in await messages.find(
            {"workspace_id": workspace_id, "once_key": {"$in": sorted(set(targets.values()))}},
            limit=0,
        )
    }
    for doc in owned:
        target = targets[doc["_id"]]
        holder = holders.get(target)
        if holder is not None and holder["_id"] == doc["_id"]:
            continue  # settled by an earlier run
        sent = MessageStatus.SENT.value
        if holder is not None and (doc["status"] != sent or holder["status"] == sent):
            await _give_up_key(store, workspace_id=workspace_id, doc=doc)
            continue
        if holder is not None:
            await _give_up_key(store, workspace_id=workspace_id, doc=holder)
        await messages.update_one(
            {"workspace_id": workspace_id, "_id": doc["_id"]}, {"$set": {"once_key": target}}
        )


async def _give_up_key(store: Store, *, workspace_id: str, doc: Doc) -> None:
    update: dict[str, Any] = {"$unset": {"once_key": ""}}
    if doc["status"] == MessageStatus.SCHEDULED.value:
        update["$set"] = {"status": MessageStatus.CANCELLED.value, "last_error": SUPERSEDED}
    await store.collection("messages").update_one(
        {"workspace_id": workspace_id, "_id": doc["_id"]}, update
    )


async def complete(store: Store, *, workspace_id: str, plan: Plan) -> None:
    """Steps 2 and 3: move the raw events and messages a chunk at a time, then finish."""
    lead_oid = object_id(plan.lead_id)

    async def move(coll: Collection, ids: list[Any]) -> None:
        await coll.update_many(
            {"workspace_id": workspace_id, "_id": {"$in": ids}, "contact_id": lead_oid},
            {"$set": {"contact_id": object_id(plan.into)}},
        )

    for collection in ("events", "messages"):
        await in_chunks(
            store,
            collection,
            workspace_id=workspace_id,
            contact_id=plan.lead_id,
            size=CHUNK,
            step=move,
        )
    await store.in_transaction(lambda: _finish(store, workspace_id=workspace_id, plan=plan))


async def _finish(store: Store, *, workspace_id: str, plan: Plan) -> None:
    """Remove the lead and the markers that guarded the steps."""
    contacts = store.collection("contacts")
    await contacts.delete_one(
        {"workspace_id": workspace_id, "_id": object_id(plan.lead_id), "merging": {"$exists": True}}
    )
    await contacts.update_one(
        {"workspace_id": workspace_id, "_id": object_id(plan.into)},
        {"$pull": {"merged_from": plan.lead_id}},
    )
    if plan.shared:
        await store.collection("event_types").update_many(
            {"workspace_id": workspace_id, "name": {"$in": plan.shared}},
            {"$pull": {"merged_leads": plan.lead_id}},
        )
    await jobs.remove(store, kind="merge", workspace_id=workspace_id, contact_id=plan.lead_id)


async def convert_in_place(store: Store, *, workspace_id: str, lead_id: str, user_id: str) -> bool:
    """The lead becomes a user with this userId; False when it is not a lead any more.

    Raises UniqueFieldTaken when another contact took the userId meanwhile."""
    try:
        result = await store.collection("contacts").update_one(
            {
                "workspace_id": workspace_id,
                "_id": object_id(lead_id),
                "role": ContactRole.LEAD.value,
                "merging": {"$exists": False},
            },
            {"$set": {"role": ContactRole.USER.value, "user_id": user_id}},
        )
    except DuplicateKeyError as e:
        raise UniqueFieldTaken from e
    return result.matched_count == 1
