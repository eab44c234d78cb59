"""ContactFilter -> MongoDB query over contacts: a pure compiler.

Filters arrive as JSON in the API's own field names (what a saved segment stores). Every name
that becomes a field path is checked first (event names, attribute and metadata keys), and every
value is placed as a value, never as an operator, so nothing a caller sends reaches the database
as query language. Contact documents hold `events.<name>.{count, first_at, last_at}` summaries
and typed `attrs`; `within` windows count raw events: each window is looked up per contact by
the store (a `$lookup` into that contact's events, `window_match`), under the field
`window_field(window)` that the compiled query compares.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.errors import InvalidInput
from app.domain.names import key_problem, normalize_event_name
from app.domain.timestamps import parse_instant, to_utc_ms

MAX_DEPTH = 8
MAX_PREDICATES = 100
NOTHING: dict[str, Any] = {"_id": {"$exists": False}}  # matches no document

Query = dict[str, Any]
Filter = Mapping[str, Any]

_STANDARD_STRINGS = {"userId": "user_id", "email": "email", "name": "name"}
_STANDARD_DATES = {
    "createdAt": "created_at",
    "signedUpAt": "signed_up_at",
    "lastSeenAt": "last_seen_at",
}
_FILTER_KEYS = {"and", "or", "not", "role", "attribute", "event", "inSegment"}
_FILTER_KEYS |= set(_STANDARD_STRINGS) | set(_STANDARD_DATES)
_INT_OPS = {"eq": "$eq", "ne": "$ne", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
# IntFilter / FloatFilter operators, as Python comparisons
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _refuse(code: str, message: str, *path: str) -> InvalidInput:
    return InvalidInput.one(code, message, *path)


@dataclass(frozen=True)
class Window:
    """Raw events of one name in the last `last_days` days, with metadata conditions."""

    name: str
    last_days: int
    metadata: str  # the conditions as canonical JSON, so that a Window can be a dict key

    def conditions(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = json.loads(self.metadata)
        return loaded


WINDOW_PREFIX = "_window_"


def window_field(window: Window) -> str:
    """The field a window's count is looked up under, alongside a contact document."""
    key = json.dumps([window.name, window.last_days, window.metadata])
    return WINDOW_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- walking the filter


@dataclass
class _Walk:
    now: datetime
    segments: Mapping[str, Filter]
    retention_days: int
    predicates: int = 0
    # Each window counted, with how far its count needs to go (see `_cap`).
    windows: dict[Window, int] = dataclasses.field(default_factory=dict)

    def count(self, path: tuple[str, ...]) -> None:
        self.predicates += 1
        if self.predicates > MAX_PREDICATES:
            raise _refuse(
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


def _filter(
    walk: _Walk, filter: Filter, *, depth: int, path: tuple[str, ...], seen: tuple[str, ...]
) -> Query:
    if not isinstance(filter, Mapping):
        raise _refuse("INVALID_FILTER", "A filter is an object.", *path)
    if depth > MAX_DEPTH:
        raise _refuse(
            "FILTER_TOO_DEEP", f"and / or / not nest at most {MAX_DEPTH} levels deep.", *path
        )
    unknown = sorted(set(filter) - _FILTER_KEYS)
    if unknown:
        raise _refuse("INVALID_FILTER", f"Unknown filter field {unknown[0]!r}.", *path)
    parts: list[Query] = []
    for key, value in filter.items():
        if value is None:
            continue
        here = (*path, key)
        if key in ("and", "or"):
            if not isinstance(value, list):
                raise _refuse("INVALID_FILTER", f"{key} is a list of filters.", *here)
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
        raise _refuse("INVALID_FILTER", "inSegment is a segment id.", *path)
    if segment_id in seen:
        raise _refuse(
            "SEGMENT_CYCLE",
            f"Segment {segment_id} refers to itself through inSegment: "
            + " -> ".join((*seen, segment_id)),
            *path,
        )
    filter = walk.segments.get(segment_id)
    if filter is None:
        raise _refuse("SEGMENT_NOT_FOUND", f"No segment {segment_id} (deleted?).", *path)
    return _filter(walk, filter, depth=depth + 1, path=path, seen=(*seen, segment_id))


# ---------------------------------------------------------------- predicates


def _predicate(walk: _Walk, key: str, value: Any, path: tuple[str, ...]) -> list[Query]:
    if key == "role":
        if value not in ("USER", "LEAD"):
            raise _refuse("INVALID_FILTER", "role is USER or LEAD.", *path)
        return [{"role": value}]
    if key in _STANDARD_STRINGS:
        field = _STANDARD_STRINGS[key]
        return _string(field, value, path, lower=key == "email")
    if key in _STANDARD_DATES:
        return _date(_STANDARD_DATES[key], value, path, now=walk.now)
    if key == "attribute":
        return _attribute(walk, value, path)
    return _event(walk, value, path)


def _object(value: Any, allowed: set[str], path: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _refuse("INVALID_FILTER", "Expected an object.", *path)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _refuse("INVALID_FILTER", f"Unknown field {unknown[0]!r}.", *path)
    return {k: v for k, v in value.items() if v is not None}


def _string(field: str, value: Any, path: tuple[str, ...], *, lower: bool = False) -> list[Query]:
    ops = _object(value, {"eq", "ne", "in", "contains", "startsWith", "exists"}, path)

    def text(item: object, op: str) -> str:
        if not isinstance(item, str):
            raise _refuse("INVALID_FILTER", f"{op} takes text.", *path, op)
        if "\0" in item and op in ("contains", "startsWith"):
            # MongoDB refuses a regular expression holding NUL ("embedded null byte").
            raise _refuse("INVALID_FILTER", f"{op} takes text without NUL characters.", *path, op)
        return item.strip().lower() if lower else item

    parts: list[Query] = []
    for op, operand in ops.items():
        if op == "eq":
            parts.append({field: text(operand, op)})
        elif op == "ne":
            parts.append({field: {"$ne": text(operand, op)}})
        elif op == "in":
            if not isinstance(operand, list):
                raise _refuse("INVALID_FILTER", "in takes a list of text.", *path, op)
            parts.append({field: {"$in": [text(item, op) for item in operand]}})
        elif op == "contains":
            parts.append({field: {"$regex": re.escape(text(operand, op)), "$options": "i"}})
        elif op == "startsWith":
            parts.append({field: {"$regex": "^" + re.escape(text(operand, op)), "$options": "i"}})
        else:
            parts.append({field: {"$exists": _boolean(operand, path, op)}})
    return parts


def _boolean(value: Any, path: tuple[str, ...], op: str) -> bool:
    if not isinstance(value, bool):
        raise _refuse("INVALID_FILTER", f"{op} is true or false.", *path, op)
    return value


def _int_conditions(value: Any, path: tuple[str, ...], *, floats: bool = False) -> dict[str, Any]:
    ops = _object(value, set(_INT_OPS), path)
    if not ops:
        raise _refuse("INVALID_FILTER", "Give at least one of eq, ne, gt, gte, lt, lte.", *path)
    conditions = {}
    for op, operand in ops.items():
        kinds = (int, float) if floats else (int,)
        if isinstance(operand, bool) or not isinstance(operand, kinds):
            raise _refuse("INVALID_FILTER", f"{op} takes a number.", *path, op)
        conditions[_INT_OPS[op]] = operand
    return conditions


def _satisfied_by(conditions: Mapping[str, Any], number: float) -> bool:
    """Whether `number` meets compiled comparisons ({"$gt": 3, ...})."""
    return all(COMPARISONS[op[1:]](number, operand) for op, operand in conditions.items())


def _day_start(value: datetime) -> datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def _date(field: str, value: Any, path: tuple[str, ...], *, now: datetime) -> list[Query]:
    allowed = {"before", "after", "on", "moreThanDaysAgo", "lessThanDaysAgo", "exactlyDaysAgo"}
    ops = _object(value, allowed | {"exists"}, path)
    if not ops:
        raise _refuse("INVALID_FILTER", "Give at least one date condition.", *path)
    parts: list[Query] = []
    for op, operand in ops.items():
        if op == "exists":
            parts.append({field: {"$exists": _boolean(operand, path, op)}})
        elif op in ("before", "after"):
            instant = parse_instant(operand) if isinstance(operand, str) else None
            if instant is None:
                raise _refuse("INVALID_FILTER", f"{op} is an ISO-8601 date-time.", *path, op)
            parts.append({field: {"$lt" if op == "before" else "$gt": instant}})
        elif op == "on":
            day = _calendar_day(operand, path)
            parts.append({field: {"$gte": day, "$lt": day + timedelta(days=1)}})
        else:
            if (
                isinstance(operand, bool)
                or not isinstance(operand, int)
                or not 0 <= operand <= 36500
            ):
                raise _refuse(
                    "INVALID_FILTER", f"{op} is a whole number of days, 0 to 36500.", *path, op
                )
            if op == "moreThanDaysAgo":
                parts.append({field: {"$lt": to_utc_ms(now - timedelta(days=operand))}})
            elif op == "lessThanDaysAgo":
                parts.append({field: {"$gt": to_utc_ms(now - timedelta(days=operand))}})
            else:
                day = _day_start(now) - timedelta(days=operand)
                parts.append({field: {"$gte": day, "$lt": day + timedelta(days=1)}})
    return parts


def _calendar_day(value: Any, path: tuple[str, ...]) -> datetime:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = parse_instant(value)
        if day is not None:
            return day
    raise _refuse("INVALID_FILTER", "on is a UTC calendar day such as 2026-11-28.", *path, "on")


def _key_field(
    prefix: str, ops: Mapping[str, Any], name: str, code: str, path: tuple[str, ...]
) -> str:
    """`prefix.<key>` for a checked attribute name or metadata key: never an operator or path."""
    key = ops.get(name)
    problem = key_problem(key) if isinstance(key, str) else f"{name} is text."
    if problem:
        raise _refuse(code, problem, *path, name)
    return f"{prefix}.{key}"


def _typed(
    field: str, ops: Mapping[str, Any], path: tuple[str, ...], *, money: bool
) -> list[Query]:
    """The string, number and boolean conditions on one typed value."""
    parts: list[Query] = []
    if "string" in ops:
        parts.append({field: {"$type": "string"}})
        parts += _string(field, ops["string"], (*path, "string"))
    if "number" in ops:
        number = _int_conditions(ops["number"], (*path, "number"), floats=True)
        # A money value compares by its amount (minor units).
        parts.append(
            {"$or": [{field: number}, {f"{field}.amount": number}]} if money else {field: number}
        )
    if "boolean" in ops:
        parts.append({field: _boolean(ops["boolean"], path, "boolean")})
    return parts


def _attribute(walk: _Walk, value: Any, path: tuple[str, ...]) -> list[Query]:
    ops = _object(value, {"name", "string", "number", "boolean", "date", "exists"}, path)
    field = _key_field("attrs", ops, "name", "INVALID_ATTRIBUTE_NAME", path)
    parts = _typed(field, ops, path, money=False)
    if "date" in ops:
        parts += _date(field, ops["date"], (*path, "date"), now=walk.now)
    if "exists" in ops:
        parts.append({field: {"$exists": _boolean(ops["exists"], path, "exists")}})
    if not parts:
        parts.append({field: {"$exists": True}})
    return parts


def _event(walk: _Walk, value: Any, path: tuple[str, ...]) -> list[Query]:
    ops = _object(value, {"name", "performed", "count", "firstAt", "lastAt", "within"}, path)
    raw_name = ops.get("name")
    if not isinstance(raw_name, str):
        raise _refuse("INVALID_EVENT_NAME", "name is the event name.", *path, "name")
    try:
        name = normalize_event_name(raw_name)
    except InvalidInput as e:
        raise _refuse("INVALID_EVENT_NAME", e.errors[0].message, *path, "name") from e
    summary = f"events.{name}"
    parts: list[Query] = []
    if "performed" in ops:
        parts.append({summary: {"$exists": _boolean(ops["performed"], path, "performed")}})
    if "count" in ops:
        conditions = _int_conditions(ops["count"], (*path, "count"))
        counted: Query = {f"{summary}.count": conditions}
        # Never performing it is a count of 0.
        parts.append(
            {"$or": [counted, {summary: {"$exists": False}}]}
            if _satisfied_by(conditions, 0)
            else counted
        )
    for key, field in (("firstAt", "first_at"), ("lastAt", "last_at")):
        if key in ops:
            parts += _date(f"{summary}.{field}", ops[key], (*path, key), now=walk.now)
    if "within" in ops:
        parts += _within(walk, name, ops["within"], (*path, "within"))
    if not parts:
        parts.append({summary: {"$exists": True}})
    return parts


def _within(walk: _Walk, name: str, value: Any, path: tuple[str, ...]) -> list[Query]:
    ops = _object(value, {"lastDays", "count", "metadata"}, path)
    days = ops.get("lastDays")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= walk.retention_days:
        raise _refuse(
            "INVALID_WINDOW",
            f"lastDays is 1 to {walk.retention_days}: windows count raw events, which are kept "
            "for the workspace's retention window.",
            *path,
            "lastDays",
        )
    if "count" not in ops:
        raise _refuse("INVALID_FILTER", "within needs a count condition.", *path, "count")
    conditions = _int_conditions(ops["count"], (*path, "count"))
    metadata = _metadata_conditions(ops.get("metadata") or [], (*path, "metadata"))
    window = Window(name, days, json.dumps(metadata, sort_keys=True))
    walk.windows[window] = max(walk.windows.get(window, 1), _cap(conditions))
    # The lookup gives [{n: count}], or [] for no event in the window.
    field = window_field(window)
    if _satisfied_by(conditions, 0):
        return [{"$or": [{f"{field}.n": conditions}, {field: {"$size": 0}}]}]
    counted: Query = {f"{field}.n": {"$exists": True, **conditions}}  # $ne alone matches []
    # Someone with an event of this name in the window has its summary: a condition that
    # needs no lookup, so the store can narrow the contacts before looking windows up.
    return [{f"events.{name}": {"$exists": True}}, counted]


def _cap(conditions: Mapping[str, Any]) -> int:
    """Counting up to max(operand) + 1 decides every comparison with these operands."""
    return max(max(int(operand) for operand in conditions.values()), 0) + 1


def metadata_conditions(value: Any, path: tuple[str, ...]) -> list[dict[str, Any]]:
    """Conditions on an event's metadata as a query over raw events (InvalidInput if bad)."""
    return _metadata_conditions(value, path)


def _metadata_conditions(value: Any, path: tuple[str, ...]) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _refuse("INVALID_FILTER", "metadata is a list of conditions.", *path)
    conditions = []
    for i, item in enumerate(value):
        here = (*path, str(i))
        ops = _object(item, {"key", "string", "number", "boolean"}, here)
        field = _key_field("metadata", ops, "key", "INVALID_METADATA_KEY", here)
        parts = _typed(field, ops, here, money=True)
        if not parts:
            parts.append({field: {"$exists": True}})
        conditions.extend(parts)
    return conditions


def window_match(window: Window, *, workspace_id: str, now: datetime) -> Query:
    """The raw events a window counts (of one contact, which the lookup adds)."""
    query: Query = {
        "workspace_id": workspace_id,
        "name": window.name,
        "occurred_at": {"$gte": to_utc_ms(now - timedelta(days=window.last_days))},
    }
    conditions = window.conditions()
    return {"$and": [query, *conditions]} if conditions else query
