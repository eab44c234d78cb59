"""ContactFilter -> MongoDB query over contacts: a pure compiler.

Filters arrive as JSON in the API's own field names (what a saved segment stores). Every name
that becomes a field path is checked first (event names, attribute and metadata keys), and every
value is placed as a value, never as an operator, so nothing a caller sends reaches the database
as query language. Contact documents hold `events.<name>.{count, first_at, last_at}` summaries
and typed `attrs`; `within` windows count raw events: each window is looked up per contact by
the store (a `$lookup` into that contact's events, `window_match`), under the field
`window_field(window)` that the compiled query compares.

This module walks the filter (and / or / not, saved segments, the bounds on depth and size) and
compiles each predicate; the conditions on one value are in `filter_values`, windows in
`windows`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.errors import InvalidInput
from app.domain.filter_values import (
    Query,
    boolean,
    date_conditions,
    fields_of,
    int_conditions,
    key_field,
    refuse,
    satisfied_by,
    string_conditions,
    typed_conditions,
)
from app.domain.names import normalize_event_name
from app.domain.windows import Window, within

MAX_DEPTH = 8
MAX_PREDICATES = 100
NOTHING: dict[str, Any] = {"_id": {"$exists": False}}  # matches no document

Filter = Mapping[str, Any]

_STANDARD_STRINGS = {"userId": "user_id", "email": "email", "name": "name"}
_STANDARD_DATES = {
    "createdAt": "created_at",
    "signedUpAt": "signed_up_at",
    "lastSeenAt": "last_seen_at",
}
_FILTER_KEYS = {"and", "or", "not", "role", "attribute", "event", "inSegment"}
_FILTER_KEYS |= set(_STANDARD_STRINGS) | set(_STANDARD_DATES)


# ---------------------------------------------------------------- walking the filter


@dataclass
class _Walk:
    now: datetime
    segments: Mapping[str, Filter]
    retention_days: int
    predicates: int = 0
    # Each window counted, with how far its count needs to go (see `windows.within`).
    windows: dict[Window, int] = dataclasses.field(default_factory=dict)

    def count(self, path: tuple[str, ...]) -> None:
        self.predicates += 1
        if self.predicates > MAX_PREDICATES:
            raise refuse(
                "FILTER_TOO_COMPLEX",
                f"A filter holds at most {MAX_PREDICATES} predicates, segments included.",
                *path,
            )


def compile_contact_filter(
    filter: Filter | None,
    *,
    now: datetime,
    segments: Mapping[str, Filter],
    retention_days: int,
) -> Query:
    """The MongoDB query matching the contacts `filter` describes (to AND with the workspace).

    `segments` maps saved segment ids to their filters (for `inSegment`). A window compares
    the count looked up under `window_field(window)` (see `windows_of`).
    Raises InvalidInput with a code for anything it refuses.
    """
    walk = _Walk(now, segments, retention_days)
    return _filter(walk, filter or {}, depth=1, path=("filter",), seen=())


def windows_of(
    filter: Filter | None, *, now: datetime, segments: Mapping[str, Filter], retention_days: int
) -> dict[Window, int]:
    """The event windows the filter counts, each with the count past which no condition on it
    changes (so a lookup may stop counting there). InvalidInput when the filter is refused."""
    walk = _Walk(now, segments, retention_days)
    _filter(walk, filter or {}, depth=1, path=("filter",), seen=())
    return walk.windows


def segment_ids(value: Any) -> set[str]:
    """The saved segments a filter (API field names) names in an `inSegment`, at any depth
    (not those the named segments name in turn)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("inSegment"), str):
            found.add(value["inSegment"])
        for item in value.values():
            found |= segment_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= segment_ids(item)
    return found


def _filter(
    walk: _Walk, filter: Filter, *, depth: int, path: tuple[str, ...], seen: tuple[str, ...]
) -> Query:
    if not isinstance(filter, Mapping):
        raise refuse("INVALID_FILTER", "A filter is an object.", *path)
    if depth > MAX_DEPTH:
        raise refuse(
            "FILTER_TOO_DEEP", f"and / or / not nest at most {MAX_DEPTH} levels deep.", *path
        )
    unknown = sorted(set(filter) - _FILTER_KEYS)
    if unknown:
        raise refuse("INVALID_FILTER", f"Unknown filter field {unknown[0]!r}.", *path)
    parts: list[Query] = []
    for key, value in filter.items():
        if value is None:
            continue
        here = (*path, key)
        if key in ("and", "or"):
            if not isinstance(value, list):
                raise refuse("INVALID_FILTER", f"{key} is a list of filters.", *here)
            subs = [
                _filter(walk, item, depth=depth + 1, path=(*here, str(i)), seen=seen)
                for i, item in enumerate(value)
            ]
            if key == "and":
                parts.extend(subs)
            else:
                parts.append({"$or": subs} if subs else NOTHING)
        elif key == "not":
            parts.append({"$nor": [_filter(walk, value, depth=depth + 1, path=here, seen=seen)]})
        elif key == "inSegment":
            parts.append(_in_segment(walk, value, depth=depth, path=here, seen=seen))
        else:
            walk.count(here)
            parts.extend(_predicate(walk, key, value, here))
    return _all_of(parts)


def _all_of(parts: list[Query]) -> Query:
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _in_segment(
    walk: _Walk, segment_id: object, *, depth: int, path: tuple[str, ...], seen: tuple[str, ...]
) -> Query:
    if not isinstance(segment_id, str):
        raise refuse("INVALID_FILTER", "inSegment is a segment id.", *path)
    if segment_id in seen:
        raise refuse(
            "SEGMENT_CYCLE",
            f"Segment {segment_id} refers to itself through inSegment: "
            + " -> ".join((*seen, segment_id)),
            *path,
        )
    filter = walk.segments.get(segment_id)
    if filter is None:
        raise refuse("SEGMENT_NOT_FOUND", f"No segment {segment_id} (deleted?).", *path)
    return _filter(walk, filter, depth=depth + 1, path=path, seen=(*seen, segment_id))


# ---------------------------------------------------------------- predicates


def _predicate(walk: _Walk, key: str, value: Any, path: tuple[str, ...]) -> list[Query]:
    if key == "role":
        if value not in ("USER", "LEAD"):
            raise refuse("INVALID_FILTER", "role is USER or LEAD.", *path)
        return [{"role": value}]
    if key in _STANDARD_STRINGS:
        field = _STANDARD_STRINGS[key]
        return string_conditions(field, value, path, lower=key == "email")
    if key in _STANDARD_DATES:
        return date_conditions(_STANDARD_DATES[key], value, path, now=walk.now)
    if key == "attribute":
        return _attribute(walk, value, path)
    return _event(walk, value, path)


def _attribute(walk: _Walk, value: Any, path: tuple[str, ...]) -> list[Query]:
    ops = fields_of(value, {"name", "string", "number", "boolean", "date", "exists"}, path)
    field = key_field("attrs", ops, "name", "INVALID_ATTRIBUTE_NAME", path)
    parts = typed_conditions(field, ops, path, money=False)
    if "date" in ops:
        parts += date_conditions(field, ops["date"], (*path, "date"), now=walk.now)
    if "exists" in ops:
        parts.append({field: {"$exists": boolean(ops["exists"], path, "exists")}})
    if not parts:
        parts.append({field: {"$exists": True}})
    return parts


def _event(walk: _Walk, value: Any, path: tuple[str, ...]) -> list[Query]:
    ops = fields_of(value, {"name", "performed", "count", "firstAt", "lastAt", "within"}, path)
    raw_name = ops.get("name")
    if not isinstance(raw_name, str):
        raise refuse("INVALID_EVENT_NAME", "name is the event name.", *path, "name")
    try:
        name = normalize_event_name(raw_name)
    except InvalidInput as e:
        raise refuse("INVALID_EVENT_NAME", e.errors[0].message, *path, "name") from e
    summary = f"events.{name}"
    parts: list[Query] = []
    if "performed" in ops:
        parts.append({summary: {"$exists": boolean(ops["performed"], path, "performed")}})
    if "count" in ops:
        conditions = int_conditions(ops["count"], (*path, "count"))
        counted: Query = {f"{summary}.count": conditions}
        # Never performing it is a count of 0.
        parts.append(
            {"$or": [counted, {summary: {"$exists": False}}]}
            if satisfied_by(conditions, 0)
            else counted
        )
    for key, field in (("firstAt", "first_at"), ("lastAt", "last_at")):
        if key in ops:
            parts += date_conditions(f"{summary}.{field}", ops[key], (*path, key), now=walk.now)
    if "within" in ops:
        parts += within(
            ops["within"],
            name=name,
            path=(*path, "within"),
            retention_days=walk.retention_days,
            windows=walk.windows,
        )
    if not parts:
        parts.append({summary: {"$exists": True}})
    return parts
