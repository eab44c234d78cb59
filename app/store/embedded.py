"""The embedded in-memory store (mongomock-motor), with the two fixes it needs here.

1. mongomock checks unique indexes on every write by running its query engine over the whole
   collection once per index (plus a second scan in mongomock-motor's error wrapper), which made
   one event cost ~28 ms at 200 contacts. The check below compares index keys directly and runs
   the partial filter only on candidates: same semantics, a plain loop.
2. PyMongo >= 4.11 passes `sort=` to `add_update`/`add_replace`, which mongomock's bulk builder
   does not take (mongomock issue #912), so `bulk_write` with UpdateOne raised TypeError. A
   `sort` of None means nothing; we drop it.

Both are applied once, to mongomock's classes, before the first client is made.
`tests/unit/test_embedded_store.py` fails when an upgrade makes the second one needless.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from mongomock import DuplicateKeyError, helpers
from mongomock.collection import BulkOperationBuilder, Collection
from mongomock.filtering import filter_applies
from mongomock_motor import AsyncMongoMockClient

_patched = False


def _index_key(document: dict[str, Any], fields: list[str]) -> tuple[Any, ...]:
    values = []
    for field in fields:
        try:
            values.append(helpers.get_value_by_dot(document, field))
        except KeyError:
            values.append(None)
    return tuple(values)


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
        for document in self._store.documents:
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
    BulkOperationBuilder.add_update = _without_sort(BulkOperationBuilder.add_update)  # type: ignore[method-assign]
    BulkOperationBuilder.add_replace = _without_sort(BulkOperationBuilder.add_replace)  # type: ignore[method-assign]
    _patched = True


def embedded_client() -> Any:
    _patch_mongomock()
    return AsyncMongoMockClient(tz_aware=True)
