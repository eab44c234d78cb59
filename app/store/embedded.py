"""The embedded in-memory store (mongomock-motor), with the three fixes it needs here.

mongomock has no indexes: every query runs its query engine over the whole collection.
1. Unique indexes were checked on every write by one such scan per index (plus a second scan
   in mongomock-motor's error wrapper): one event cost ~28 ms at 200 contacts. The check below
   compares index keys directly and runs the partial filter only on candidates.
2. A query that is only equalities on top-level fields with string or ObjectId values (what
   every write of ours looks up by) is matched by plain comparison instead of the query engine,
   ~50x cheaper per document; anything else takes mongomock's own path.
3. PyMongo >= 4.11 passes `sort=` to `add_update`/`add_replace`, which mongomock's bulk builder
   does not take (mongomock issue #912), so `bulk_write` with UpdateOne raised TypeError. A
   `sort` of None means nothing; we drop it.

All keep MongoDB's semantics and are applied once, to mongomock's classes, before the first
client is made. `tests/unit/test_embedded_store.py` checks the semantics and fails when an
upgrade makes the third one needless.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from bson import ObjectId
from mongomock import DuplicateKeyError, helpers
from mongomock.collection import BulkOperationBuilder, Collection
from mongomock.filtering import filter_applies
from mongomock_motor import AsyncMongoMockClient

_patched = False


def _index_key(document: dict[str, Any], fields: list[str]) -> tuple[Any, ...]:
    values = []
    for field in fields:
        if "." not in field:
            values.append(document.get(field))
            continue
        try:
            values.append(helpers.get_value_by_dot(document, field))
        except KeyError:
            values.append(None)
    return tuple(values)


_original_iter_documents = Collection._iter_documents


def _documents(collection: Collection) -> list[dict[str, Any]]:
    """A snapshot of the collection's documents (mongomock's own accessor locks per document)."""
    store = collection._store
    store._remove_expired_documents()
    return list(store._documents.values())


def _is_plain_equality(filter: object) -> bool:
    return (
        isinstance(filter, dict)
        and bool(filter)
        and all(
            isinstance(key, str)
            and not key.startswith("$")
            and "." not in key
            and type(value) in (str, ObjectId)
            for key, value in filter.items()
        )
    )


def _iter_documents(self: Collection, filter: Any) -> Any:
    if not _is_plain_equality(filter):
        return _original_iter_documents(self, filter)
    conditions = list(filter.items())

    def matches(document: dict[str, Any]) -> bool:
        for key, value in conditions:
            found = document.get(key)
            if type(found) is not type(value) or found != value:
                # An array field matches a value it holds: mongomock's own rules decide.
                return isinstance(found, list) and bool(filter_applies(filter, document))
        return True

    return (document for document in _documents(self) if matches(document))


def _ensure_uniques(self: Collection, new_data: dict[str, Any]) -> None:
    """Raise DuplicateKeyError when `new_data` (already stored) repeats a unique key."""
    for index in self._store.indexes.values():
        if not index.get("unique"):
            continue
        fields = [field for field, _ in index["key"]]
        key = _index_key(new_data, fields)
        if index.get("sparse") and all(value is None for value in key):
            continue
        partial = index.get("partialFilterExpression")
        if partial is not None and not filter_applies(partial, new_data):
            continue
        holders = 0
        for document in _documents(self):
            if _index_key(document, fields) == key and (
                partial is None or filter_applies(partial, document)
            ):
                holders += 1
                if holders > 1:
                    raise DuplicateKeyError(
                        "E11000 Duplicate Key Error",
                        11000,
                        {
                            "keyPattern": dict(index["key"]),
                            "keyValue": dict(zip(fields, key, strict=True)),
                        },
                        None,
                    )


def _without_sort(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, sort: Any = None, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return wrapper


def _patch_mongomock() -> None:
    global _patched
    if _patched:
        return
    Collection._ensure_uniques = _ensure_uniques  # type: ignore[method-assign]
    Collection._iter_documents = _iter_documents  # type: ignore[method-assign]
    BulkOperationBuilder.add_update = _without_sort(BulkOperationBuilder.add_update)  # type: ignore[method-assign]
    BulkOperationBuilder.add_replace = _without_sort(BulkOperationBuilder.add_replace)  # type: ignore[method-assign]
    _patched = True


def embedded_client() -> Any:
    _patch_mongomock()
    return AsyncMongoMockClient(tz_aware=True)
