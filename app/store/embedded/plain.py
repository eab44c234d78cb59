"""Filters decided by plain comparisons, without mongomock's matcher.

Equalities and `$in` lists of strings, ObjectIds and ints, and a `$or` of them: for these types
Python's equality within one type is BSON's, so a stored value of the same type is compared
directly and a null, boolean, date or document never matches. An array, or a number of
another type (1.0, Int64(1) equal 1), goes to mongomock's matcher (type-strict: strict.py).
`hash_index` applies these to its candidates; `install` also makes mongomock's own `$in` (and
`$nin`) a set lookup when every value asked for is a string or ObjectId.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongomock import filtering

from app.memo import remember

_ABSENT = object()
_KEYED = (str, ObjectId)  # the types whose Python equality is BSON's
# The values looked up: those types, and exact ints (not bool), whose other BSON equals (1.0,
# Int64(1), Decimal128("1")) the index keeps as `always` candidates.
PLAIN = (str, ObjectId, int)
_NEVER_EQUAL = frozenset({type(None), bool, datetime, dict})  # to a string, ObjectId or int
_original_in = filtering._in_op


def values_asked(value: Any) -> Sequence[Any] | None:
    """The values an equality or `$in` on strings / ObjectIds / ints asks for, else None."""
    if type(value) in PLAIN:
        return (value,)
    if isinstance(value, dict) and len(value) == 1:
        items = value.get("$in")
        if isinstance(items, list) and all(type(item) in PLAIN for item in items):
            return items
    return None


def plain_equality(filter: object) -> list[tuple[str, Any]] | None:
    """The filter's (field, value) pairs when it is only top-level string/ObjectId/int
    equalities (`{$in: [value]}` is one, as on the server)."""
    if not isinstance(filter, dict) or not filter:
        return None
    pairs = []
    for key, value in filter.items():
        if type(value) not in PLAIN:
            if type(value) is not dict or len(value) != 1:
                return None
            listed = value.get("$in")
            if type(listed) is not list or len(listed) != 1 or type(listed[0]) not in PLAIN:
                return None
            value = listed[0]
        if not isinstance(key, str) or key.startswith("$") or "." in key:
            return None
        pairs.append((key, value))
    return pairs


Conditions = list[tuple[str, frozenset[Any]]]  # each field's value is one of its set


def plain_conditions(filter: object) -> tuple[Conditions, list[Conditions]] | None:
    """The filter as the values it asks of top-level fields (equalities and `$in` lists of
    strings, ObjectIds and ints), and the branches of its `$or` made of such; None when it
    asks anything else."""
    if not isinstance(filter, dict) or not filter:
        return None
    fields: Conditions = []
    branches: list[Conditions] = []
    for key, value in filter.items():
        if key == "$or" and not branches and type(value) is list and value:
            for branch in value:
                inner = plain_conditions(branch)
                if inner is None or inner[1]:
                    return None
                branches.append(inner[0])
            continue
        if not isinstance(key, str) or key.startswith("$") or "." in key:
            return None
        wanted = values_asked(value)
        if not wanted:
            return None
        fields.append((key, frozenset(wanted)))
    return fields, branches


def _holds(document: dict[str, Any], conditions: Conditions) -> bool | None:
    """Whether the document meets the conditions; None when the matcher must say (an array,
    or a number of another type, may equal a value asked for)."""
    for field, wanted in conditions:
        found = document.get(field, _ABSENT)
        kind = type(found)
        if kind is str or kind is ObjectId or kind is int:
            if found not in wanted:
                return False
        elif kind in _NEVER_EQUAL or found is _ABSENT:
            return False  # a null, boolean, date or document equals no string, ObjectId or int
        else:
            return None
    return True


def equality_matches(
    filter: dict[str, Any], conditions: list[tuple[str, Any]], document: dict[str, Any]
) -> bool:
    """Whether the document matches a filter `plain_equality` read."""
    for key, value in conditions:
        found = document.get(key)
        if type(found) is type(value):
            if found != value:
                return False
        elif type(value) is int or isinstance(found, list):
            # An array field matches a value it holds, 1 matches 1.0 and Int64(1):
            # mongomock's own (type-strict) rules decide.
            return bool(filtering.filter_applies(filter, document))
        else:
            return False  # a string or ObjectId equals only a string or ObjectId
    return True


def conditions_match(
    filter: dict[str, Any], plain: tuple[Conditions, list[Conditions]], document: dict[str, Any]
) -> bool:
    """Whether the document matches a filter `plain_conditions` read."""
    fields, branches = plain
    verdict = _holds(document, fields)
    if verdict is not False and branches:
        either: bool | None = False
        for branch in branches:
            holds = _holds(document, branch)
            if holds:
                either = True
                break
            if holds is None:
                either = None
        verdict = False if either is False else True if verdict and either else None
    if verdict is None:  # mongomock's own (type-strict) rules decide
        return bool(filtering.filter_applies(filter, document))
    return verdict


_in_sets: dict[int, tuple[list[Any], frozenset[Any]]] = {}


def _in(found: Any, wanted: Any) -> bool:
    """mongomock's `$in`, by set lookup when every value asked for is a string or ObjectId
    (types whose Python equality is BSON's): a query with a long `$in` list stays linear."""
    if not isinstance(wanted, list) or not wanted:
        return bool(_original_in(found, wanted))
    cached = _in_sets.get(id(wanted))
    if cached is None or cached[0] is not wanted:
        plain = all(type(item) in _KEYED for item in wanted)
        asked = frozenset(wanted) if plain else frozenset()
        cached = remember(_in_sets, id(wanted), (wanted, asked), most=256)
    if not cached[1]:
        return bool(_original_in(found, wanted))
    for value in found if isinstance(found, list) else [found]:
        try:
            if value in cached[1]:
                return True
        except TypeError:  # an unhashable value (a document) equals no string or ObjectId:
            continue  # the array's other values may
    return False


def install() -> None:
    """mongomock's `$in` and `$nin` by set lookup (once, from `embedded_client`)."""
    operators = filtering._filterer_inst._operator_map
    operators["$in"] = _in
    operators["$nin"] = lambda found, wanted: not _in(found, wanted)
