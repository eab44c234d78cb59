"""Contacts matching a compiled filter: a page in a given order, or how many.

A filter without windows is one `find` or `count`. A filter with `within` windows is one
aggregation over contacts: the conditions that need no window first (served by the contacts'
indexes, with the page's sort), then one `$lookup` per window into each remaining contact's own
events (index `(workspace_id, contact_id, occurred_at)`), counting at most `cap` of them, then
the whole filter. Every document involved — the query, each lookup's result, each contact —
stays the same size whatever the number of contacts or events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.filter_values import Query
from app.domain.models import Contact
from app.domain.windows import WINDOW_PREFIX
from app.store.client import Doc
from app.store.contacts import object_id, to_contact
from app.store.database import Store


@dataclass(frozen=True)
class WindowLookup:
    """One window: counted under `field`, over the events `match` selects, up to `cap`."""

    field: str
    match: Query
    cap: int

    def stage(self) -> Doc:
        return {
            "$lookup": {
                "from": "events",
                "localField": "_id",
                "foreignField": "contact_id",
                "pipeline": [{"$match": self.match}, {"$limit": self.cap}, {"$count": "n"}],
                "as": self.field,
            }
        }


def _needs_window(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            (isinstance(k, str) and k.startswith(WINDOW_PREFIX)) or _needs_window(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_needs_window(v) for v in value)
    return False


def _conjuncts(query: Query) -> list[Query]:
    if list(query) == ["$and"]:
        return [part for sub in query["$and"] for part in _conjuncts(sub)]
    return [query] if query else []


def _pipeline(
    scope: Query, query: Query, windows: list[WindowLookup], sort: list[tuple[str, int]] | None
) -> list[Mapping[str, Any]]:
    """$match what needs no window, (sort), look the windows up, $match the rest."""
    before: list[Query] = [scope]
    after: list[Query] = []
    for part in _conjuncts(query):
        (after if _needs_window(part) else before).append(part)
    stages: list[Mapping[str, Any]] = [{"$match": {"$and": before} if len(before) > 1 else scope}]
    # An indexed order goes first (the index gives it, and the page stops early); an order by
    # event summaries has no index: it goes last, where `$sort` + `$limit` is a top-k sort.
    indexed = bool(sort) and not any(key.startswith("events.") for key, _ in sort or [])
    if indexed:
        stages.append({"$sort": dict(sort or [])})
    stages += [window.stage() for window in windows]
    if after:
        stages.append({"$match": {"$and": after} if len(after) > 1 else after[0]})
    if sort and not indexed:
        stages.append({"$sort": dict(sort)})
    return stages


async def find_page(
    store: Store,
    *,
    workspace_id: str,
    query: Query,
    sort: list[tuple[str, int]],
    limit: int,
    windows: list[WindowLookup] | None = None,
) -> list[Contact]:
    contacts = store.collection("contacts")
    if windows:
        pipeline = _pipeline({"workspace_id": workspace_id}, query, windows, sort)
        pipeline += [{"$limit": limit}, {"$project": {w.field: 0 for w in windows}}]
        docs = await contacts.aggregate(pipeline)
    else:
        docs = await contacts.find(
            {"$and": [{"workspace_id": workspace_id}, query]}
            if query
            else {"workspace_id": workspace_id},
            sort=sort,
            limit=limit,
        )
    return [to_contact(doc) for doc in docs]


async def count_matching(
    store: Store,
    *,
    workspace_id: str,
    query: Query,
    contact_id: str | None = None,
    windows: list[WindowLookup] | None = None,
) -> int:
    """How many contacts match (only this one, when `contact_id` is given: 0 or 1)."""
    scope: Query = {"workspace_id": workspace_id}
    if contact_id is not None:
        scope["_id"] = object_id(contact_id)
    contacts = store.collection("contacts")
    if windows:
        pipeline = [*_pipeline(scope, query, windows, None), {"$count": "n"}]
        rows = await contacts.aggregate(pipeline)
        return int(rows[0]["n"]) if rows else 0
    return await contacts.count({"$and": [scope, query]} if query else scope)
