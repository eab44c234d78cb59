"""Every index, as data: created idempotently at start-up, listed in docs/operations.md, and read
by the suite's index-use check (tests/index_use.py). Each compound index starts with
workspace_id; a sort index ends with `_id`, the tie-break of every page.

Partial filters use only what MongoDB's planner can prove from a query (`$exists: true`, which
equality, `$in` without null and ranges imply; an equality the query repeats). A `$type` filter
is implied by nothing but the same `$type`, so a lookup `{workspace_id, user_id: "u1"}` would
not use such an index and would scan the workspace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo.errors import OperationFailure

from app.store.database import Store

log = logging.getLogger(__name__)
_PRESENT = {"$exists": True}
_INDEX_NOT_FOUND = 27
_CONFLICTS = (85, 86)  # IndexOptionsConflict, IndexKeySpecsConflict


@dataclass(frozen=True)
class Index:
    collection: str
    keys: tuple[tuple[str, int], ...]
    serves: str  # the queries it serves, for docs/operations.md
    name: str | None = None  # None: MongoDB's default name (field_direction_...)
    unique: bool = False
    partial: Mapping[str, Any] | None = None
    ttl: bool = False  # expires at `expires_at`; real server only (see below)
    replaces: tuple[str, ...] = field(default=())  # older indexes dropped once this one exists

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.name:
            options["name"] = self.name
        if self.unique:
            options["unique"] = True
        if self.partial is not None:
            options["partialFilterExpression"] = dict(self.partial)
        if self.ttl:
            options["expireAfterSeconds"] = 0
        return options


def _ws(*keys: tuple[str, int]) -> tuple[tuple[str, int], ...]:
    return (("workspace_id", 1), *keys)


_NEWEST = (("created_at", -1), ("_id", -1))

INDEXES: tuple[Index, ...] = (
    # contacts
    Index("contacts", _ws(("user_id", 1)), "ref lookups by userId; one contact per userId",
          name="contacts_user_id", unique=True, partial={"user_id": _PRESENT},
          replaces=("workspace_id_1_user_id_1",)),
    Index("contacts", _ws(("email", 1)), "ref lookups by email; one USER per email",
          name="contacts_user_email", unique=True, partial={"role": "USER", "email": _PRESENT},
          replaces=("workspace_id_1_email_1",)),
    Index("contacts", _ws(("anonymous_id", 1)),
          "ref lookups by anonymousId; one lead per anonymousId",
          name="contacts_anonymous_id", unique=True, partial={"anonymous_id": _PRESENT},
          replaces=("workspace_id_1_anonymous_id_1",)),
    Index("contacts", _ws(("aliases", 1)), "anonymousId lookups of leads merged into a user"),
    Index("contacts", _ws(*_NEWEST), "contact pages by createdAt (and unfiltered totalCount)",
          replaces=("workspace_id_1_created_at_-1",)),
    Index("contacts", _ws(("last_seen_at", -1), ("_id", -1)), "contact pages by lastSeenAt",
          replaces=("workspace_id_1_last_seen_at_-1",)),
    Index("contacts", _ws(("signed_up_at", -1), ("_id", -1)), "contact pages by signedUpAt"),
    Index("contacts", _ws(("_id", 1)), "exports and AUDIENCE rules: contacts in _id order"),
    # events
    Index("events", _ws(("contact_id", 1), ("occurred_at", -1), ("_id", -1)),
          "a contact's activity, newest first; a contact's events (deletion, merges)"),
    Index("events", _ws(("name", 1), ("occurred_at", -1)),
          "events of some names in a time window (`within` filters)"),
    Index("events", _ws(("received_at", -1), ("_id", -1)),
          "the live event feed across instances: events received since a time, newest first"),
    Index("events", (("expires_at", 1),), "retention (TTL)", ttl=True),
    # idempotency keys
    Index("idempotency_keys", _ws(("key", 1)), "claiming and reading idempotency keys",
          unique=True),
    Index("idempotency_keys", (("expires_at", 1),), "retention (TTL)", ttl=True),
    # the catalog, segments, rules, keys
    Index("event_types", _ws(("name", 1)), "the catalog by name; one entry per name",
          unique=True),
    Index("event_type_counts", _ws(("name", 1), ("shard", 1)),
          "the catalog's counters, split in shards; one document per name and shard",
          unique=True),
    Index("segments", _ws(("name", 1)), "segments by name; one segment per name", unique=True),
    Index("message_rules", _ws(("created_at", 1), ("_id", 1)), "a workspace's rules in order"),
    Index("api_keys", (("key_hash", 1),), "authenticating a key", unique=True),
    Index("api_keys", _ws(("created_at", 1), ("_id", 1)), "a workspace's keys in order"),
    # messages
    Index("messages", _ws(("once_key", 1)), "ONCE rules: one live message per rule and contact",
          name="messages_once_key", unique=True, partial={"once_key": _PRESENT},
          replaces=("workspace_id_1_once_key_1",)),
    Index("messages", _ws(("contact_id", 1), *_NEWEST),
          "a contact's messages, newest first (and their count)",
          replaces=("workspace_id_1_contact_id_1_created_at_-1",)),
    Index("messages", _ws(("rule_id", 1), *_NEWEST), "a rule's messages, newest first"),
    Index("messages", _ws(("status", 1), *_NEWEST), "messages of one status, newest first"),
    Index("messages", _ws(*_NEWEST), "all messages, newest first (and their count)"),
    Index("messages", _ws(("status", 1), ("due_at", 1)), "the scheduler: due messages"),
    Index("rate_limits", (("expires_at", 1),), "retention (TTL)", ttl=True),
    Index("jobs", (("started_at", 1),),
          "merges and deletions in flight (a few, across workspaces), oldest first"),
)  # fmt: skip


async def create_indexes(store: Store) -> None:
    """Create every index, then drop the ones they replace: the old index enforces its rule until
    the new one is built, so uniqueness holds throughout. Safe to run from several processes at
    once (an index being or already built is no error; a drop that lost the race neither)."""
    for index in INDEXES:
        if index.ttl and store.embedded:
            # The embedded store skips TTL indexes (each would make every insert scan the
            # collection) and hides expired events by query instead.
            continue
        collection = store.collection(index.collection)
        try:
            await collection.create_index(list(index.keys), **index.options())
        except OperationFailure as e:
            if e.code not in _CONFLICTS or not await _exists(store, index):
                raise
        for old in index.replaces:
            try:
                await collection.drop_index(old)
            except OperationFailure as e:
                if e.code != _INDEX_NOT_FOUND and "not found" not in str(e):
                    raise
            else:
                log.info("Index %s.%s replaced by %s", index.collection, old, index.name)


async def _exists(store: Store, index: Index) -> bool:
    """An index with these keys and options is there already (under another name)."""
    for info in await store.collection(index.collection).indexes():
        if (
            list(info["key"].items()) == list(index.keys)
            and bool(info.get("unique")) == index.unique
            and info.get("partialFilterExpression") == (index.partial and dict(index.partial))
        ):
            return True
    return False


def index_table() -> str:
    """The Markdown table of INDEXES in docs/operations.md (a test keeps the two equal)."""
    rows = ["| collection | keys | options | serves |", "| --- | --- | --- | --- |"]
    for index in INDEXES:
        keys = ", ".join(f"{key}: {sign}" for key, sign in index.keys)
        options = []
        if index.unique:
            options.append("unique")
        if index.partial is not None:
            partial = ", ".join(f"{k}: {_shown(v)}" for k, v in index.partial.items())
            options.append(f"partial {{{partial}}}")
        if index.ttl:
            options.append("TTL (MongoDB only)")
        if index.name:
            options.append(f"name `{index.name}`")
        options += [f"replaces `{old}`" for old in index.replaces]
        rows.append(
            f"| `{index.collection}` | `{{{keys}}}` | {'; '.join(options)} | {index.serves} |"
        )
    return "\n".join(rows)


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    return "true" if value is True else f'"{value}"' if isinstance(value, str) else str(value)
