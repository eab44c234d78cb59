"""Faster writes for the embedded store, with mongomock's checks kept.

1. Every write walks the document to store dates as MongoDB does (UTC, milliseconds); that
   walk takes the plain types our documents hold (dict, str, int, ObjectId...) at a glance and
   leaves the rest to mongomock's own function.
2. Inserting one document takes mongomock's steps (key checks, BSON check, `_id`, duplicate
   `_id`, dates, unique indexes) without what it adds on every document: parsing a version
   string, a TTL sweep (only when the collection has a TTL index) and a lock round trip. Its
   one BSON encoding serves both the BSON check and the 16 MiB one (`strict`), and its unique
   check is `uniques`' own, without the wrappers an update's goes through.
3. `find_one_and_update` returning the document after the update (how the store adapter calls
   it) finds the document to update without copying it out first (mongomock reads it through a
   cursor, with a full copy, only to take its `_id`), updates it without looking it up again
   when the update is in `updates`' native shape, and returns it copied straight from the
   store, not through a second query and cursor.
4. PyMongo >= 4.11 passes `sort=` to `add_update`/`add_replace`, which mongomock's bulk builder
   does not take (mongomock issue #912), so `bulk_write` with UpdateOne raised TypeError. A
   `sort` of None means nothing; we drop it.
5. A bulk write reports each document it created at the index of the operation that created
   it, as the server does (mongomock numbered them in the order they came).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

from bson import BSON, ObjectId
from bson.errors import InvalidDocument
from mongomock import DuplicateKeyError, helpers
from mongomock.collection import BulkOperationBuilder, Collection
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, WriteError

from app.memo import remember
from app.store.embedded.copies import SCALARS
from app.store.embedded.hash_index import doc_key
from app.store.embedded.results import returned
from app.store.embedded.strict import refuse_document
from app.store.embedded.uniques import check_uniques
from app.store.embedded.updates import found_update

_original_patch_datetimes = helpers.patch_datetime_awareness_in_document
_original_insert = Collection._insert


def _insert(self: Collection, data: Any, session: Any = None, ordered: bool = True) -> Any:
    if session:
        return _original_insert(self, data, session, ordered)
    if isinstance(data, MutableMapping):
        return _insert_one(self, data)
    if isinstance(data, list):
        return _insert_all(self, data, ordered)
    return _original_insert(self, data, session, ordered)


def _insert_all(self: Collection, documents: list[Any], ordered: bool) -> list[Any]:
    """mongomock's loop over the documents of `insert_many`, each inserted at once (not back
    through the collection's wrapped `_insert`)."""
    ids: list[Any] = []
    errors: list[dict[str, Any]] = []
    for index, document in enumerate(documents):
        try:
            ids.append(_insert_one(self, document))
        except WriteError as error:
            errors.append(
                {"index": index, "code": error.code, "errmsg": str(error), "op": document}
            )
            if ordered:
                break
    if errors:
        raise BulkWriteError({"writeErrors": errors, "nInserted": len(ids)})
    return ids


def _insert_one(self: Collection, data: Any) -> Any:
    if not isinstance(data, MutableMapping):
        return _original_insert(self, data)
    dollar = None
    for field in data:
        if not isinstance(field, str):
            raise ValueError("Document keys must be strings")
        if dollar is None and field[:1] == "$":
            dollar = field
    if dollar is not None:
        raise InvalidDocument(
            f'Top-level field names cannot start with the "$" sign (found: {dollar})'
        )
    if "_id" not in data:
        data["_id"] = ObjectId()  # before the encoding, as PyMongo does
    # One encoding: it refuses what BSON cannot hold (a NUL in a field name at any depth, a
    # type it does not know) and measures the document as stored (dates keep their 8 bytes).
    refuse_document(len(BSON.encode(data)))
    store = self._store
    key = doc_key(data)
    if store._ttl_indexes:
        store._remove_expired_documents()
    if key in store._documents:
        raise DuplicateKeyError("E11000 Duplicate Key Error", 11000)
    document = _patch_datetimes(data)
    store[key] = document  # indexed on the way in (hash_index)
    try:
        check_uniques(self, document)  # its size is checked above
    except DuplicateKeyError:
        del store[key]
        raise
    return data["_id"]


_original_find_and_modify = Collection._find_and_modify


def _find_and_modify(
    self: Collection,
    query: Any,
    projection: Any = None,
    update: Any = None,
    upsert: bool = False,
    sort: Any = None,
    return_document: Any = ReturnDocument.BEFORE,
    session: Any = None,
    **kwargs: Any,
) -> Any:
    if (
        update is None
        or projection is not None
        or sort
        or session
        or kwargs
        or return_document is not ReturnDocument.AFTER
    ):
        return _original_find_and_modify(
            self, query, projection, update, upsert, sort, return_document, session, **kwargs
        )
    # the first match, as find_one's (whose cursor stores the filter's dates as documents')
    spec = helpers.patch_datetime_awareness_in_document(query)
    old = next(iter(self._iter_documents(spec)), None)
    if old is None and not upsert:
        return None
    updated = found_update(self, spec, update, upsert, old)  # without a second lookup
    if updated is None:
        if old is not None:
            query = {"_id": old["_id"]}
        updated = self._update(query, update, upsert)
    if old is None:
        old = {"_id": updated["upserted"]}  # created by the upsert
    # the document after: what `find_one({_id})` would return, without its query and cursor
    document = self._store._documents.get(doc_key(old))
    return None if document is None else returned(document)


def _patch_datetimes(value: Any) -> Any:
    kind = type(value)
    if kind in SCALARS:
        return value
    if kind is dict:
        return _stored_fields(value)
    if kind is OrderedDict:  # an upserted document, as mongomock builds it
        return OrderedDict((k, _patch_datetimes(v)) for k, v in value.items())
    if kind is datetime and value.tzinfo is UTC:
        return _stored_date(value)
    return _original_patch_datetimes(value)


def _stored_fields(document: dict[str, Any]) -> dict[str, Any]:
    """`_patch_datetimes` of a dict, its scalars and UTC dates taken without a call each."""
    stored = {}
    for key, value in document.items():
        kind = type(value)
        if kind in SCALARS:
            stored[key] = value
        elif kind is datetime and value.tzinfo is UTC:
            stored[key] = _stored_date(value)
        else:
            stored[key] = _patch_datetimes(value)
    return stored


# An event's dates come several times in its writes (received_at, last_seen_at, last_at...):
# each UTC date is turned into its stored form (naive, milliseconds) once.
_stored_dates: dict[datetime, datetime] = {}


def _stored_date(value: datetime) -> datetime:
    """mongomock's stored form of a UTC date: naive, to the millisecond, fold 0."""
    stored = _stored_dates.get(value)
    if stored is None:
        ms = value.microsecond // 1000 * 1000
        naive = value.replace(tzinfo=None, microsecond=ms, fold=0)
        stored = remember(_stored_dates, value, naive, most=10_000)
    return stored


_original_execute = BulkOperationBuilder.execute


def _execute(self: BulkOperationBuilder, write_concern: Any = None) -> Any:
    """mongomock's bulk execution, with each `upserted` entry at the index of the operation
    that created it, as the server reports it (mongomock numbers them 0, 1, 2... in the order
    they came, so {updated, created} said the first operation created a document)."""
    creators: list[int] = []

    def noting(index: int, run: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        def execute() -> dict[str, Any]:
            result = run()
            if "upserted" in result:
                creators.append(index)
            return result

        execute.__name__ = run.__name__  # mongomock tells updates and inserts apart by it
        return execute

    self.executors = [noting(i, run) for i, run in enumerate(self.executors)]
    try:
        result = _original_execute(self, write_concern)
    except BulkWriteError as error:
        _renumber(error.details, creators)
        raise
    _renumber(result, creators)
    return result


def _renumber(result: Mapping[str, Any], creators: list[int]) -> None:
    for entry, index in zip(result.get("upserted") or [], creators, strict=True):
        entry["index"] = index


def without_sort(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, sort: Any = None, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return wrapper


def install() -> None:
    helpers.patch_datetime_awareness_in_document = _patch_datetimes
    Collection._insert = _insert  # type: ignore[method-assign]
    Collection._find_and_modify = _find_and_modify  # type: ignore[method-assign]
    BulkOperationBuilder.execute = _execute  # type: ignore[method-assign]
    BulkOperationBuilder.add_update = without_sort(BulkOperationBuilder.add_update)  # type: ignore[method-assign]
    BulkOperationBuilder.add_replace = without_sort(BulkOperationBuilder.add_replace)  # type: ignore[method-assign]
