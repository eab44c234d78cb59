"""`within` windows: raw events of one name in the last days, counted per contact.

A window is compiled to a comparison on the count the store looks up alongside each contact
(a `$lookup` into that contact's events matching `window_match`), under `window_field(window)`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.filter_values import (
    Query,
    fields_of,
    int_conditions,
    metadata_conditions,
    refuse,
    satisfied_by,
)
from app.domain.timestamps import to_utc_ms

WINDOW_PREFIX = "_window_"


@dataclass(frozen=True)
class Window:
    """Raw events of one name in the last `last_days` days, with metadata conditions."""

    name: str
    last_days: int
    metadata: str  # the conditions as canonical JSON, so that a Window can be a dict key

    def conditions(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = json.loads(self.metadata)
        return loaded


def window_field(window: Window) -> str:
    """The field a window's count is looked up under, alongside a contact document."""
    key = json.dumps([window.name, window.last_days, window.metadata])
    return WINDOW_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]


def within(
    value: Any,
    *,
    name: str,
    path: tuple[str, ...],
    retention_days: int,
    windows: dict[Window, int],
) -> list[Query]:
    """The conditions of event `name`'s `within`; records its window in `windows`, with how far
    its count needs to go (see `_cap`)."""
    ops = fields_of(value, {"lastDays", "count", "metadata"}, path)
    days = ops.get("lastDays")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= retention_days:
        raise refuse(
            "INVALID_WINDOW",
            f"lastDays is 1 to {retention_days}: windows count raw events, which are kept "
            "for the workspace's retention window.",
            *path,
            "lastDays",
        )
    if "count" not in ops:
        raise refuse("INVALID_FILTER", "within needs a count condition.", *path, "count")
    conditions = int_conditions(ops["count"], (*path, "count"))
    metadata = metadata_conditions(ops.get("metadata") or [], (*path, "metadata"))
    window = Window(name, days, json.dumps(metadata, sort_keys=True))
    windows[window] = max(windows.get(window, 1), _cap(conditions))
    # The lookup gives [{n: count}], or [] for no event in the window.
    field = window_field(window)
    if satisfied_by(conditions, 0):
        return [{"$or": [{f"{field}.n": conditions}, {field: {"$size": 0}}]}]
    counted: Query = {f"{field}.n": {"$exists": True, **conditions}}  # $ne alone matches []
    # Someone with an event of this name in the window has its summary: a condition that
    # needs no lookup, so the store can narrow the contacts before looking windows up.
    return [{f"events.{name}": {"$exists": True}}, counted]


def _cap(conditions: Mapping[str, Any]) -> int:
    """Counting up to max(operand) + 1 decides every comparison with these operands."""
    return max(max(int(operand) for operand in conditions.values()), 0) + 1


def window_match(window: Window, *, workspace_id: str, now: datetime) -> Query:
    """The raw events a window counts (of one contact, which the lookup adds)."""
    query: Query = {
        "workspace_id": workspace_id,
        "name": window.name,
        "occurred_at": {"$gte": to_utc_ms(now - timedelta(days=window.last_days))},
    }
    conditions = window.conditions()
    return {"$and": [query, *conditions]} if conditions else query
