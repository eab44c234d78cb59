"""What a MongoDB server tells apart or refuses, enforced on the embedded store (guide §2).

- **Comparisons by BSON type.** mongomock's matcher compares with Python's `==`, where
  `True == 1`: `{plan: 1}` matched a stored `true`, and `$in`, `$ne`, `$nin`, `$all` the same.
  Before a filter reaches the matcher, its booleans and numbers (also inside lists and
  documents) are wrapped in `_Strict`, whose `==` is BSON's; ranges already compare by type in
  mongomock (type bracketing). Unique indexes compare keys the same way (`bson_equal`).
- **16 MiB.** A stored document after an insert or update (the update is rolled back and
  refused with WriteError 17419, as the server does; an insert raises DocumentTooLarge, as
  PyMongo does before sending), a query document or pipeline (DocumentTooLarge), and each
  document an aggregation returns (OperationFailure 10334, BSONObjectTooLarge).

These hold wherever the embedded store runs: tests and `./scripts/serve` alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mongomock.collection
import mongomock.database
from bson import BSON, Decimal128, Int64
from mongomock import DuplicateKeyError, filtering
from mongomock.collection import Collection
from mongomock.command_cursor import CommandCursor
from mongomock_motor import patches as motor_patches
from pymongo.errors import DocumentTooLarge, OperationFailure, WriteError

from app.store.embedded.copies import SAME_AS_PYTHON

MAX_BSON_SIZE = 16 * 1024 * 1024
_NUMBERS = (int, float, Int64, Decimal128)
_LOGICAL = frozenset({"$and", "$or", "$nor"})


def bson_equal(a: Any, b: Any) -> bool:
    """Equality as MongoDB decides it: a boolean equals only a boolean, a number any number
    of the same value (1 == 1.0), arrays item by item, documents field by field in order."""
    kind = type(a)
    if kind is type(b) and kind in SAME_AS_PYTHON:
        return bool(a == b)
    if isinstance(a, _Strict):
        a = a.value
    if isinstance(b, _Strict):
        b = b.value
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is bool and type(b) is bool and a == b
    if isinstance(a, (list, tuple)):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            return False
        return all(bson_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and list(a) == list(b)
            and all(bson_equal(a[key], b[key]) for key in a)
        )
    if isinstance(b, (list, tuple, dict)):
        return False
    return bool(a == b)


class _Strict:
    """A boolean or number in a filter: equal only to what `bson_equal` says it equals.

    Stored values (int, bool, str...) answer NotImplemented when compared with it, so Python
    asks this side, in `==`, `!=` and `in` alike."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return bson_equal(self.value, other)

    def __ne__(self, other: object) -> bool:
        return not bson_equal(self.value, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Strict({self.value!r})"


def _value(value: Any) -> Any:
    """`value` with its booleans and numbers wrapped (the same object when it holds none)."""
    if isinstance(value, (bool, *_NUMBERS)):
        return _Strict(value)
    if isinstance(value, (list, tuple)):
        items = [_value(item) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return items if changed else value
    if isinstance(value, dict) and not any(str(key).startswith("$") for key in value):
        fields = {key: _value(item) for key, item in value.items()}
        return fields if any(fields[k] is not value[k] for k in value) else value
    return value


def _operators(ops: dict[str, Any]) -> dict[str, Any]:
    out = dict(ops)
    for op, operand in ops.items():
        if op in ("$eq", "$ne"):
            out[op] = _value(operand)
        elif op in ("$in", "$nin", "$all") and isinstance(operand, list):
            # documents in $all are $elemMatch queries: they reach the matcher on their own
            out[op] = [item if isinstance(item, dict) else _value(item) for item in operand]
        elif op in ("$not", "$elemMatch") and isinstance(operand, dict):
            operators = all(str(key).startswith("$") for key in operand)
            out[op] = _operators(operand) if operators else strict_filter(operand)
    return out


def strict_filter(filter: Mapping[str, Any]) -> Mapping[str, Any]:
    """The filter as the matcher must see it to compare by BSON type."""
    out: dict[str, Any] = {}
    for key, value in filter.items():
        if key in _LOGICAL and isinstance(value, list):
            out[key] = [strict_filter(f) if isinstance(f, dict) else f for f in value]
        elif key.startswith("$"):
            out[key] = value
        elif isinstance(value, dict) and value and all(str(k).startswith("$") for k in value):
            out[key] = _operators(value)
        else:
            out[key] = _value(value)
    return out


# A filter is matched against many documents: convert it once (by identity; the cache is
# emptied at every query, so a filter mutated between two queries is converted again). The
# conversion covers `$and`/`$or`/`$nor`/`$not`/`$elemMatch`, which the matcher recurses into.
_converted: dict[int, tuple[Any, Any]] = {}
_original_apply = filtering._Filterer.apply


def filter_applies(search_filter: Any, document: Any) -> Any:
    """mongomock's `filter_applies`, comparing by BSON type."""
    if type(search_filter) is dict:
        cached = _converted.get(id(search_filter))
        if cached is None or cached[0] is not search_filter:
            cached = _converted[id(search_filter)] = (search_filter, strict_filter(search_filter))
        search_filter = cached[1]
    return _original_apply(filtering._filterer_inst, search_filter, document)


# ---------------------------------------------------------------- 16 MiB


class _TooLarge(DuplicateKeyError):
    """Raised from the unique check, which mongomock calls after each update and answers by
    rolling the update back when it raises DuplicateKeyError; turned into the server's error
    before it leaves mongomock. (An insert is measured before it is stored: `writes._insert`
    calls `refuse_document`.)"""


def refuse_query(query: Any) -> None:
    size = len(BSON.encode({"q": query}))
    if size > MAX_BSON_SIZE:
        raise DocumentTooLarge(
            f"BSON document too large ({size} bytes): a query document is at most "
            f"{MAX_BSON_SIZE} bytes."
        )


def refuse_document(size: int) -> None:
    """A document of `size` BSON bytes to insert: refused past 16 MiB, as PyMongo does."""
    if size > MAX_BSON_SIZE:
        raise DocumentTooLarge(
            f"BSON document too large: the server takes documents up to {MAX_BSON_SIZE} bytes."
        )


def _checked_uniques(original: Callable[..., None]) -> Callable[..., None]:
    def ensure_uniques(self: Collection, document: dict[str, Any]) -> None:
        if len(BSON.encode(document)) > MAX_BSON_SIZE:
            raise _TooLarge("too large", 17419)
        original(self, document)

    return ensure_uniques


def _checked_update(original: Callable[..., Any]) -> Callable[..., Any]:
    def update(self: Collection, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        except _TooLarge:
            raise WriteError(
                f"Resulting document after update is larger than {MAX_BSON_SIZE}",
                17419,
                {"code": 17419, "codeName": "BSONObjectTooLarge"},
            ) from None

    return update


def _checked_iter(original: Callable[..., Any]) -> Callable[..., Any]:
    def iter_documents(self: Collection, filter: Any) -> Any:
        _converted.clear()
        if filter:
            refuse_query(filter)
        return original(self, filter)

    return iter_documents


def _checked_aggregate(original: Callable[..., Any]) -> Callable[..., Any]:
    def aggregate(self: Collection, pipeline: Any, *args: Any, **kwargs: Any) -> Any:
        _converted.clear()
        refuse_query(pipeline)
        documents = list(original(self, pipeline, *args, **kwargs))
        for document in documents:
            size = len(BSON.encode(document))
            if size > MAX_BSON_SIZE:
                raise OperationFailure(
                    f"BSONObj size: {size} is invalid. Size must be between 0 and "
                    f"{MAX_BSON_SIZE}(16MB)",
                    10334,
                    {"code": 10334, "codeName": "BSONObjectTooLarge"},
                )
        return CommandCursor(documents)

    return aggregate


def _passing_too_large(original: Callable[..., Any]) -> Callable[..., Any]:
    """mongomock-motor turns any DuplicateKeyError from the unique check of a collection with a
    unique index into a plain E11000 (finding the document just written): a 16 MiB refusal
    must reach `_checked_update` as itself."""

    def provide_error_details(collection: Any, data: Any, exception: Exception) -> Exception:
        if isinstance(exception, _TooLarge):
            return exception
        result: Exception = original(collection, data, exception)
        return result

    return provide_error_details


def install() -> None:
    """Make mongomock's classes strict (once, from `embedded_client`, after the speed-ups)."""
    motor_patches._provide_error_details = _passing_too_large(motor_patches._provide_error_details)
    for module in (filtering, mongomock.collection, mongomock.database):
        setattr(module, "filter_applies", filter_applies)  # noqa: B010
    Collection._ensure_uniques = _checked_uniques(Collection._ensure_uniques)  # type: ignore[method-assign]
    Collection._update = _checked_update(Collection._update)  # type: ignore[method-assign]
    Collection._iter_documents = _checked_iter(Collection._iter_documents)  # type: ignore[method-assign]
    Collection.aggregate = _checked_aggregate(Collection.aggregate)  # type: ignore[method-assign]
