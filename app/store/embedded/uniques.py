"""Unique indexes on the embedded store, checked against the hash index's candidates.

mongomock checks every unique index of a collection after each insert and update by scanning
the collection. Here each unique index's key is read once per change of the indexes, and a
written document is compared (by BSON's equality, `strict.bson_equal`) only with the
documents the hash index gives for its key's values, narrowed to those in the buckets of all
of them, and among those only the ones its partial filter takes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mongomock import DuplicateKeyError, filtering, helpers
from mongomock.collection import Collection
from mongomock.store import CollectionStore

from app.store.embedded.hash_index import (
    Specs,
    doc_key,
    field_indexes,
    live,
    narrowed,
    reindex,
    specs,
)
from app.store.embedded.plain import PLAIN
from app.store.embedded.strict import bson_equal

_PRESENT = {"$exists": True}
_MISSING = object()


class _Unique(NamedTuple):
    """A unique index, as its check reads it."""

    key: list[tuple[str, int]]
    fields: tuple[str, ...]
    top_level: bool  # no dotted field
    sparse: bool
    partial: dict[str, Any] | None


class _Reading(NamedTuple):
    """A collection's unique indexes, read once per change of its indexes (`specs`)."""

    specs: Specs
    uniques: list[_Unique]
    # the top-level fields they read (keys, partial filters); None: any field may matter
    fields: frozenset[str] | None


def _reading(store: CollectionStore) -> _Reading:
    read = specs(store)
    cached: _Reading | None = store.__dict__.get("_tally_uniques")
    if cached is None or cached.specs is not read:
        uniques = [
            _Unique(
                key=index["key"],
                fields=tuple(field for field, _ in index["key"]),
                top_level=not any("." in field for field, _ in index["key"]),
                sparse=bool(index.get("sparse")),
                partial=index.get("partialFilterExpression"),
            )
            for index in store.indexes.values()
            if index.get("unique")
        ]
        cached = store.__dict__["_tally_uniques"] = _Reading(read, uniques, _fields(uniques))
    return cached


def _fields(uniques: list[_Unique]) -> frozenset[str] | None:
    fields: set[str] = set()
    for unique in uniques:
        names = [*unique.fields, *(unique.partial or {})]
        if any(name.startswith("$") for name in names):
            return None
        fields.update(name.split(".")[0] for name in names)
    return frozenset(fields)


def unique_fields(store: CollectionStore) -> frozenset[str] | None:
    """The top-level fields the unique indexes read (keys, partial filters): an update that
    changes none of them keeps a stored document unique. None: any field may matter."""
    return _reading(store).fields


def _ensure_uniques(self: Collection, new_data: dict[str, Any]) -> None:
    """Raise DuplicateKeyError when `new_data` (already stored) repeats a unique key."""
    reindex(self._store, doc_key(new_data), new_data)  # mongomock calls this after updates
    check_uniques(self, new_data)


def check_uniques(self: Collection, new_data: dict[str, Any]) -> None:
    """`_ensure_uniques` for a document stored through the store's `__setitem__` (indexed)."""
    store = self._store
    uniques = _reading(store).uniques
    if not uniques:
        return
    key = doc_key(new_data)
    indexes = field_indexes(store)
    for unique in uniques:
        fields, partial = unique.fields, unique.partial
        lookups = sorted(
            (indexes[f].size(new_data[f]), f)
            for f in fields
            if f in indexes and type(new_data.get(f)) in PLAIN
        )
        if lookups and lookups[0][0] == 1:
            continue  # alone in the bucket of one of its values (it is indexed): no duplicate
        values = _values(new_data, unique)
        if unique.sparse and not _has_a_field(new_data, unique):
            continue
        if partial is not None and not _partial_applies(partial, new_data):
            continue
        if lookups:
            first, total = lookups[0][1], len(store._documents)
            keys = narrowed(
                indexes[first].candidates(new_data[first]),
                [(indexes[f], (new_data[f],)) for size, f in lookups[1:] if size < total],
            )
            others = live(store, keys)
        else:
            others = list(store._documents.values())
        for document in others:
            if doc_key(document) == key:
                continue
            if (
                bson_equal(_values(document, unique), values)
                and (partial is None or _partial_applies(partial, document))
                and (not unique.sparse or _has_a_field(document, unique))
            ):
                raise DuplicateKeyError(
                    "E11000 Duplicate Key Error",
                    11000,
                    {
                        "keyPattern": dict(unique.key),
                        "keyValue": dict(zip(fields, values, strict=True)),
                    },
                    None,
                )


def _values(document: dict[str, Any], unique: _Unique) -> tuple[Any, ...]:
    if unique.top_level:
        return tuple(document.get(field) for field in unique.fields)
    return tuple(_dotted(document, field) for field in unique.fields)


def _has_a_field(document: dict[str, Any], unique: _Unique) -> bool:
    """A sparse index holds the documents that have one of its fields, even null."""
    if unique.top_level:
        return any(field in document for field in unique.fields)
    return any(_dotted(document, field, _MISSING) is not _MISSING for field in unique.fields)


def _partial_applies(partial: dict[str, Any], document: dict[str, Any]) -> bool:
    """A partial index's filter on a document: `{field: {"$exists": True}}` and string
    equalities on top-level fields read directly (the filters of our unique indexes), anything
    else by the matcher."""
    for field, condition in partial.items():
        if "." in field or field.startswith("$"):
            return bool(filtering.filter_applies(partial, document))
        if type(condition) is dict and condition == _PRESENT and condition["$exists"] is True:
            if field not in document:
                return False
        elif type(condition) is str and type(document.get(field)) is str:
            if document[field] != condition:
                return False
        else:
            return bool(filtering.filter_applies(partial, document))
    return True


def _dotted(document: dict[str, Any], field: str, missing: Any = None) -> Any:
    try:
        return helpers.get_value_by_dot(document, field)
    except KeyError:
        return missing


def install() -> None:
    """mongomock's unique check, after each update, made this one (once, before `strict`)."""
    Collection._ensure_uniques = _ensure_uniques  # type: ignore[method-assign]
