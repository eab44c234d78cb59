"""Hash indexes for the embedded store: lookups without scanning the collection.

mongomock has no indexes: every query, and every unique-index check on every write, runs its
query engine over the whole collection, so a batch of N writes costs N full scans. Here:

1. Every top-level field named in a collection's indexes gets a hash index (value -> document
   ids), kept up to date on each insert, in-place update, replacement and deletion.
2. A query with an equality or `$in` on such a field (strings or ObjectIds) takes its
   candidates from the index (or from its `$or` branches' indexes, when they hold fewer), then
   checks them with mongomock's own matcher (or, for a query `plain.py` can decide, by plain
   comparison and set lookups). An aggregation that starts with `$match` selects that way too.
3. Unique indexes are checked against those candidates (and their partial filter) instead of a
   scan per index (`uniques.py`).

Candidates come from the field whose buckets are smallest, narrowed to the documents that are
also in the buckets of the values the query (or the key) asks of its other indexed fields.

All keep MongoDB's semantics (strings and ObjectIds are the types whose Python equality is
BSON's; everything else goes to the matcher, made type-strict by `strict.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from bson import Decimal128, Int64
from mongomock import aggregate, filtering, helpers
from mongomock.collection import Collection
from mongomock.store import CollectionStore

from app.store.embedded.plain import (
    PLAIN,
    conditions_match,
    equality_matches,
    plain_conditions,
    plain_equality,
    values_asked,
)

_ABSENT = object()
_OTHER_NUMBERS = (float, Int64, Decimal128)


class FieldIndex:
    """Document ids by the string, ObjectId or int one top-level field holds: the only values
    a lookup asks for (see `_keys`). Lists, documents and the other numbers stay `always`
    candidates (an array matches each value it holds, 1.0 equals 1); dates, booleans and null
    never equal a looked-up value, so they are left out."""

    def __init__(self) -> None:
        self.ids: dict[Any, dict[Any, None]] = {}
        self.always: dict[Any, None] = {}
        self.value_of: dict[Any, Any] = {}

    def put(self, doc_id: Any, value: Any) -> None:
        old = self.value_of.get(doc_id, _ABSENT)
        if old is value or (type(old) is type(value) and old == value):
            return  # mongomock reindexes after every write, most of which keep this field
        if old is not _ABSENT:
            self.drop(doc_id)
        if type(value) in PLAIN:
            self.value_of[doc_id] = value
            self.ids.setdefault(value, {})[doc_id] = None
        elif isinstance(value, (list, tuple, dict, *_OTHER_NUMBERS)):
            self.value_of[doc_id] = value
            self.always[doc_id] = None
        # a date, boolean or null is in no bucket: nothing to remember (a contact's lastSeenAt
        # changes on every event; each entry costs lookups by ObjectId, whose hash is Python's)

    def drop(self, doc_id: Any) -> None:
        value = self.value_of.pop(doc_id, _ABSENT)
        self.always.pop(doc_id, None)
        bucket = self.ids.get(value) if type(value) in PLAIN else None
        if bucket is not None:
            bucket.pop(doc_id, None)
            if not bucket:
                del self.ids[value]

    def candidates(self, value: Any) -> list[Any]:
        return [*self.ids.get(value, ()), *self.always]

    def size(self, value: Any) -> int:
        return len(self.ids.get(value, ())) + len(self.always)

    def holds(self, doc_id: Any, values: Sequence[Any]) -> bool:
        """Whether the candidates for one of these values have this document."""
        if doc_id in self.always:
            return True
        for value in values:
            bucket = self.ids.get(value)
            if bucket is not None and doc_id in bucket:
                return True
        return False


def doc_key(document: Mapping[str, Any]) -> Any:
    doc_id = document["_id"]
    return helpers.hashdict(doc_id) if isinstance(doc_id, dict) else doc_id


class Specs(NamedTuple):
    indexes: dict[str, Any]  # mongomock's, for which these were worked out
    fields: set[str]  # the top-level fields indexed


def specs(store: CollectionStore) -> Specs:
    """What a collection's indexes say, worked out once per change of its indexes (mongomock
    replaces its dict of indexes, or changes it through create_index / drop_index): a new
    object then, which `uniques` keys its own reading on."""
    found: Specs | None = store.__dict__.get("_tally_specs")
    if found is None or found.indexes is not store.indexes:
        fields = {
            field
            for index in store.indexes.values()
            for field, _ in index["key"]
            if "." not in field and field != "_id"
        }
        found = store.__dict__["_tally_specs"] = Specs(store.indexes, fields)
    return found


def field_indexes(store: CollectionStore) -> dict[str, FieldIndex]:
    """The field indexes of a collection, built on first use from its documents."""
    indexes: dict[str, FieldIndex] = store.__dict__.setdefault("_tally_indexes", {})
    fields = specs(store).fields
    if store.__dict__.get("_tally_built_for") is fields:  # the same indexes as last time
        return indexes
    for field in fields - indexes.keys():
        index = indexes[field] = FieldIndex()
        for key, document in store._documents.items():
            index.put(key, document.get(field, _ABSENT))
    store.__dict__["_tally_built_for"] = fields
    return indexes


def reindex(store: CollectionStore, key: Any, document: dict[str, Any] | None) -> None:
    for field, index in store.__dict__.get("_tally_indexes", {}).items():
        if document is None:
            index.drop(key)
        else:
            index.put(key, document.get(field, _ABSENT))


def reindex_fields(
    store: CollectionStore, key: Any, document: dict[str, Any], fields: Iterable[str]
) -> None:
    """`reindex` of the top-level fields an update changed (the others kept their values)."""
    indexes = store.__dict__.get("_tally_indexes", {})
    for field in fields:
        index = indexes.get(field)
        if index is not None:
            index.put(key, document.get(field, _ABSENT))


# A write stores or removes the document without mongomock's reader-writer lock (a generator
# context manager and six lock operations a write): the embedded store serves one event loop,
# whose commands never interleave, and the reads here (`live`, `_iter_documents`) do without
# it already.


def _store_setitem(self: CollectionStore, key: Any, value: dict[str, Any]) -> None:
    self._documents[key] = value
    reindex(self, key, value)


def _store_delitem(self: CollectionStore, key: Any) -> None:
    del self._documents[key]
    reindex(self, key, None)


def _store_drop(self: CollectionStore) -> None:
    _original_drop(self)
    self.__dict__.pop("_tally_indexes", None)
    self.__dict__.pop("_tally_specs", None)
    self.__dict__.pop("_tally_built_for", None)


def _store_create_index(self: CollectionStore, name: str, index: dict[str, Any]) -> None:
    _original_create_index(self, name, index)
    self.__dict__.pop("_tally_specs", None)


def _store_drop_index(self: CollectionStore, name: str) -> None:
    _original_drop_index(self, name)
    self.__dict__.pop("_tally_specs", None)


_original_drop = CollectionStore.drop
_original_create_index = CollectionStore.create_index
_original_drop_index = CollectionStore.drop_index
_original_iter_documents = Collection._iter_documents
_original_aggregate = Collection.aggregate


def live(store: CollectionStore, keys: Iterable[Any]) -> list[dict[str, Any]]:
    documents = store._documents
    return [documents[key] for key in keys if key in documents]


def _candidates(store: CollectionStore, filter: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The documents that can match, from the most selective indexed field; None: all can."""
    indexes = field_indexes(store)
    best: tuple[int, str, Sequence[Any]] | None = None  # size, field, values asked for
    asked: list[tuple[str, Sequence[Any]]] = []  # indexed fields, the values asked for
    for key, value in filter.items():
        if key != "_id" and key not in indexes:
            continue
        wanted = values_asked(value)
        if wanted is None:
            continue
        if key == "_id":
            size = len(wanted)
        elif len(wanted) == 1:
            size = indexes[key].size(wanted[0])
        else:
            size = sum(indexes[key].size(v) for v in wanted)
        if key != "_id" and size < len(store._documents):  # else it leaves out nothing
            asked.append((key, wanted))
        if best is None or size < best[0]:
            best = (size, key, wanted)
    if "$or" in filter and (best is None or best[0] > 1):
        # `{workspace_id, $or: [{user_id: {$in: [...]}}, ...]}`: the branches' lookups, not
        # the whole workspace, when they hold fewer documents
        union = _or_candidates(store, filter["$or"])
        if union is not None and (best is None or len(union) < best[0]):
            return union
    if best is None:
        return None
    _, key, wanted = best
    if key == "_id":
        return live(store, wanted)
    index = indexes[key]
    if len(wanted) == 1:  # a document is in one bucket or `always`: no duplicates
        keys: Iterable[Any] = index.candidates(wanted[0])
    else:
        keys = dict.fromkeys(i for v in wanted for i in index.candidates(v))
    return live(store, narrowed(keys, [(indexes[f], vs) for f, vs in asked if f != key]))


def narrowed(keys: Iterable[Any], others: list[tuple[FieldIndex, Sequence[Any]]]) -> Iterable[Any]:
    """The keys that are also candidates for the values asked of each other field: the
    documents of a shard `{workspace_id, name, shard}` are those of the name and the shard,
    not all the name's shards."""
    if not others:
        return keys
    if len(others) == 1:
        [(index, values)] = others
        return [k for k in keys if index.holds(k, values)]
    return [k for k in keys if all(index.holds(k, values) for index, values in others)]


def _or_candidates(store: CollectionStore, branches: Any) -> list[dict[str, Any]] | None:
    """For `$or`: the union of each branch's candidates, when every branch has some."""
    if not isinstance(branches, list) or not branches:
        return None
    union: dict[Any, dict[str, Any]] = {}
    for branch in branches:
        found = _candidates(store, branch) if isinstance(branch, dict) and branch else None
        if found is None:
            return None
        union.update((doc_key(document), document) for document in found)
    return list(union.values())


def _iter_documents(self: Collection, filter: Any) -> Any:
    if not isinstance(filter, dict) or not filter:
        return _original_iter_documents(self, filter)
    store = self._store
    store._remove_expired_documents()
    candidates = _candidates(store, filter)
    conditions = plain_equality(filter)
    if conditions is None:
        if candidates is None:
            return _original_iter_documents(self, filter)
        plain = plain_conditions(filter)  # `$in` lists, a `$or` (a batch's contacts)
        if plain is None:
            return (d for d in candidates if filtering.filter_applies(filter, d))
        return (d for d in candidates if conditions_match(filter, plain, d))
    documents = candidates if candidates is not None else list(store._documents.values())
    return (d for d in documents if equality_matches(filter, conditions, d))


def _aggregate(
    self: Collection, pipeline: list[dict[str, Any]], session: Any = None, **_: Any
) -> Any:
    """mongomock's aggregate, but a leading `$match` selects through `find` (and its indexes)
    instead of after copying the whole collection."""
    if pipeline and list(pipeline[0]) == ["$match"]:
        documents = list(self.find(pipeline[0]["$match"]))
        return aggregate.process_pipeline(documents, self.database, pipeline[1:], session)
    return _original_aggregate(self, pipeline, session=session)


def install() -> None:
    """Put the hash indexes into mongomock's classes (once, from `embedded_client`)."""
    CollectionStore.__setitem__ = _store_setitem  # type: ignore[method-assign]
    CollectionStore.__delitem__ = _store_delitem  # type: ignore[method-assign]
    CollectionStore.drop = _store_drop  # type: ignore[method-assign]
    CollectionStore.create_index = _store_create_index  # type: ignore[method-assign]
    CollectionStore.drop_index = _store_drop_index  # type: ignore[method-assign]
    Collection._iter_documents = _iter_documents  # type: ignore[method-assign]
    Collection.aggregate = _aggregate  # type: ignore[method-assign]
