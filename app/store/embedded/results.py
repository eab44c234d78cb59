"""What a find hands back, copied out of the store in one walk instead of two.

mongomock copies each document it returns (`_copy_field`), then walks the copy again to make
its dates timezone-aware (`make_datetime_timezone_aware_in_document`: the client is
`tz_aware`, stored dates are naive UTC). `returned` does both at once and gives the same
result; `install` makes a cursor's documents leave that way (a projection of top-level fields
too; other projections keep mongomock's two steps) and hands them out one by one without
slicing the result list again for each one (mongomock's `__next__` copies the list at every
step: a result of n documents cost n^2).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

import mongomock.collection
from bson.tz_util import utc
from mongomock import helpers
from mongomock.collection import Collection, Cursor

from app.memo import remember
from app.store.embedded.copies import SCALARS

_original_aware = helpers.make_datetime_timezone_aware_in_document
_original_copy_only_fields = Collection._copy_only_fields
_original_next = Cursor.__next__


def returned(value: Any) -> Any:
    """`value` as a tz-aware find returns it: mongomock's copy with its dates made aware."""
    kind = type(value)
    if kind in SCALARS:
        return value
    if kind is dict or kind is OrderedDict:  # an upserted document is an OrderedDict
        return _returned_fields(value)
    if kind is datetime:
        return _aware(value)
    if kind is list:
        return [returned(item) for item in value]
    return _original_aware(mongomock.collection._copy_field(value, dict))


def _returned_fields(document: dict[str, Any]) -> dict[str, Any]:
    """`returned` of a document, its scalars, dates and documents taken without a call each
    (a contact holds three fields for each of its event names)."""
    copy = {}
    for key, item in document.items():
        kind = type(item)
        if kind in SCALARS:
            copy[key] = item
        elif kind is datetime:
            copy[key] = _aware(item)
        elif kind is dict:
            copy[key] = _returned_fields(item)
        else:
            copy[key] = returned(item)
    return copy


# `replace(tzinfo=...)` costs ~1 us, and a contact returns 2 dates for each of its event names
# on every event, the same ones each time: aware dates (immutable) are kept by the stored date,
# at most 100,000 of them (~10 MB; emptied when full).
_aware_dates: dict[datetime, datetime] = {}


def _aware(value: datetime) -> datetime:
    if value.fold or value.tzinfo is not None:  # equal to dates it is not: made anew
        return value.replace(tzinfo=utc)
    aware = _aware_dates.get(value)
    if aware is None:
        aware = remember(_aware_dates, value, value.replace(tzinfo=utc), most=100_000)
    return aware


def _copy_only_fields(self: Collection, doc: Any, fields: Any, container: Any) -> Any:
    """A document of a find, final: copied (projected) and, for a tz-aware client, aware."""
    if not self.codec_options.tz_aware or container is not dict:
        return _original_copy_only_fields(self, doc, fields, container)
    if fields is None:
        return returned(doc)
    if _top_level_inclusion(fields):
        # mongomock's result: the fields asked for in the document's order, then `_id`
        found = {key: returned(value) for key, value in doc.items() if key in fields}
        found.pop("_id", None)
        if fields.get("_id", 1) != 0 and "_id" in doc:
            found["_id"] = returned(doc["_id"])
        return found
    return _original_aware(_original_copy_only_fields(self, doc, fields, container))


def _top_level_inclusion(fields: Any) -> bool:
    """`{name: 1, known_keys: 1}`, with or without `_id: 0 | 1`: top-level fields included."""
    if type(fields) is not dict or not fields:
        return False
    included = False
    for key, value in fields.items():
        if type(value) not in (int, bool) or value not in (0, 1):
            return False
        if key == "_id":
            continue
        if type(key) is not str or value != 1 or "." in key or key.startswith("$"):
            return False
        included = True
    return included


def _compute_results(self: Cursor, with_limit_and_skip: bool = False) -> list[Any]:
    """mongomock's, without its second walk (the documents come final from above)."""
    if not self._results or self._factory_last_generated_results != self._factory:
        self._results = list(self._factory())
        self._factory_last_generated_results = self._factory
    results: list[Any] = self._results
    if with_limit_and_skip:
        results = results[self._skip :]
        if self._limit:
            results = results[: abs(self._limit)]
    return results


def _next(self: Cursor) -> Any:
    if self._skip < 0:
        return _original_next(self)
    results = self._compute_results()
    position = self._skip + self._emitted
    if (self._limit and self._emitted >= abs(self._limit)) or position >= len(results):
        raise StopIteration
    self._emitted += 1
    return results[position]


def install() -> None:
    Collection._copy_only_fields = _copy_only_fields  # type: ignore[method-assign]
    Cursor._compute_results = _compute_results  # type: ignore[method-assign]
    Cursor.__next__ = _next  # type: ignore[method-assign]
    Cursor.next = _next
