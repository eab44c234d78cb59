"""Updates of the shapes Tally sends on ingest, applied natively instead of by mongomock's
generic `_update` (filter matching, a snapshot deepcopy, its operator interpreter, a unique
check of every index and a reindex of every field, whatever the update touched).

The shape: a single-document update (`update_one`, a bulk `UpdateOne`, find-and-modify) whose
operators are `$inc`, `$min`, `$max`, `$set` and `$setOnInsert` over dotted paths to scalars
(`rules.plan`). With `upsert`, the filter's top-level equalities seed the new document
(`rules.seed`). Anything else goes to mongomock's own path, unchanged.

MongoDB's semantics, where mongomock's generic path is lenient: paths in conflict (one equal to
or a prefix of another) refuse the update (code 40); `$inc` of or onto a non-number (code 14),
past 64-bit integers (code 2) and a path through a scalar (code 28) too; `$min`/`$max` compare
across types in BSON's order.
The update is all or nothing: a refusal (those, a unique index, the 16 MiB limit) or any other
fault leaves the document and its index as they were. Only the top-level fields it changed are
reindexed, and the unique indexes are checked only when it changed a field one of them reads
(key or partial filter): a stored document met them already. The fields it creates follow the
update's order (MongoDB 5 orders them by name), as mongomock's do.
"""

from __future__ import annotations

from typing import Any

from bson import BSON
from mongomock import helpers
from mongomock.collection import Collection
from mongomock.results import BulkWriteResult  # type: ignore[attr-defined]
from pymongo import UpdateOne
from pymongo.common import validate_ok_for_update
from pymongo.errors import BulkWriteError, WriteError

from app.store.embedded import rules
from app.store.embedded.hash_index import doc_key, reindex_fields
from app.store.embedded.rules import Decline
from app.store.embedded.strict import MAX_BSON_SIZE
from app.store.embedded.uniques import check_uniques, unique_fields

_original_update = Collection._update
_FIND = object()  # `_native`'s document: the first that its filter matches


def _stored(value: Any) -> Any:
    """A filter or an operand in its stored form (dates: naive UTC, to the millisecond)."""
    return helpers.patch_datetime_awareness_in_document(value)


def _update(
    self: Collection,
    spec: Any,
    document: Any,
    upsert: bool = False,
    manipulate: bool = False,
    multi: bool = False,
    check_keys: bool = False,
    **kwargs: Any,
) -> Any:
    rules.refuse_conflicts(document)
    try:
        if multi or manipulate or check_keys or any(kwargs.values()) or type(spec) is not dict:
            raise Decline
        return _native(self, _stored(spec), rules.plan(document, _stored), upsert)
    except Decline:
        return _original_update(
            self, spec, document, upsert, manipulate, multi, check_keys, **kwargs
        )


def found_update(
    self: Collection, spec: dict[str, Any], document: Any, upsert: bool, found: Any
) -> Any:
    """`_update` of the document a find-and-modify found already by `spec` (already in its
    stored form), or of none; None when the update is outside the native shape. (Not through
    strict's `_checked_update`: `_native` raises the server's 16 MiB refusal itself and never
    calls `_ensure_uniques`, whose `_TooLarge` that wrapper exists to turn into it.)"""
    rules.refuse_conflicts(document)
    try:
        return _native(self, spec, rules.plan(document, _stored), upsert, found)
    except Decline:
        return None


def _native(
    self: Collection, spec: dict[str, Any], steps: rules.Steps, upsert: bool, found: Any = _FIND
) -> Any:
    """The update of the first document `spec` matches, or the upsert; mongomock's result."""
    if found is _FIND:
        found = next(iter(self._iter_documents(spec)), None)
    if found is None:
        if not upsert:
            return _result(self, n=0, modified=0, upserted=None)
        created = rules.seed(spec)  # before anything is written: it may decline
        rules.apply(created, rules.changes(created, steps, inserting=True))
        return _result(self, n=1, modified=0, upserted=self._insert(created))
    changes = rules.changes(found, steps, inserting=False)
    if not changes:
        return _result(self, n=1, modified=0, upserted=None)
    undo = rules.apply(found, changes)
    touched = {path[0] for path, _ in changes}
    store, key = self._store, doc_key(found)
    try:
        reindex_fields(store, key, found, touched)
        if len(BSON.encode(found)) > MAX_BSON_SIZE:
            raise WriteError(
                f"Resulting document after update is larger than {MAX_BSON_SIZE}",
                17419,
                {"code": 17419, "codeName": "BSONObjectTooLarge"},
            )
        relevant = unique_fields(store)
        if relevant is None or not relevant.isdisjoint(touched):
            check_uniques(self, found)
    except BaseException:  # a refusal or any fault: the document and its index as they were
        rules.undo(undo)
        reindex_fields(store, key, found, touched)
        raise
    return _result(self, n=1, modified=1, upserted=None)


def _result(self: Collection, *, n: int, modified: int, upserted: Any) -> dict[str, Any]:
    return {
        "connectionId": self.database.client._id,
        "err": None,
        "n": n,
        "nModified": modified,
        "ok": 1,
        "upserted": upserted,
        "updatedExisting": upserted is None and n > 0,
    }


_original_bulk_write = Collection.bulk_write


def _bulk_write(
    self: Collection,
    requests: Any,
    ordered: bool = True,
    bypass_document_validation: bool = False,
    session: Any = None,
) -> Any:
    """A bulk write of UpdateOnes, each through `_update` without mongomock's bulk builder (a
    closure and a validation per operation); the result as the builder gives it, each created
    document at the index of the operation that created it (`writes._execute`)."""
    requests = list(requests)
    if (
        bypass_document_validation
        or session
        or not requests
        or not all(type(r) is UpdateOne and _plain(r) for r in requests)
    ):
        return _original_bulk_write(self, requests, ordered, bypass_document_validation, session)
    for request in requests:  # all before any is applied, as PyMongo and mongomock's builder do
        validate_ok_for_update(request._doc)
    counts = {"nModified": 0, "nUpserted": 0, "nMatched": 0, "nRemoved": 0, "nInserted": 0}
    errors: list[dict[str, Any]] = []
    upserted: list[dict[str, Any]] = []
    for index, request in enumerate(requests):
        try:
            done = self._update(request._filter, request._doc, upsert=bool(request._upsert))
        except WriteError as error:
            errors.append({"index": index, "code": error.code, "errmsg": str(error)})
            if ordered:
                break
            continue
        if done["upserted"] is not None:
            counts["nUpserted"] += done["n"]
            upserted.append({"index": index, "_id": done["upserted"]})
        else:
            counts["nMatched"] += done["n"]
        counts["nModified"] += done["nModified"]
    result = {**counts, "writeErrors": errors, "upserted": upserted, "writeConcernErrors": []}
    if errors:
        raise BulkWriteError(result)
    return BulkWriteResult(result, True)


def _plain(request: UpdateOne) -> bool:
    return (
        request._collation is None
        and request._array_filters is None
        and request._hint is None
        and request._sort is None
    )


def install() -> None:
    """Before `strict`, which wraps `_update` (its 16 MiB refusal of mongomock's path)."""
    Collection._update = _update  # type: ignore[method-assign, assignment]
    Collection.bulk_write = _bulk_write  # type: ignore[method-assign]
