"""MongoDB's rules for the update operators `updates` applies natively, as pure functions over
one document: which updates are in the shape (`plan`), the document an upsert starts from
(`seed`), what an update changes (`changes`), and applying it so that it can be undone.

Anything outside the shape raises `Decline` before a document is touched; what MongoDB refuses
raises its WriteError (codes 2, 14, 28, 40), also before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bson import Decimal128, ObjectId
from pymongo.errors import WriteError

from app.memo import remember
from app.store.embedded.copies import SAME_AS_PYTHON


class Decline(Exception):
    """Outside the shape: mongomock's generic path decides."""


Path = tuple[str, ...]
Steps = list[tuple[str, Path, Any]]  # operator, path, operand
Changes = list[tuple[Path, Any]]  # path, new value
Undo = list[tuple[dict[str, Any], str, Any]]  # where, field, value before (or _ABSENT)

_OPERATORS = frozenset({"$inc", "$min", "$max", "$set", "$setOnInsert"})
# BSON's order of the types compared: null < numbers < strings < ObjectId < boolean < date
_RANK = {type(None): 1, int: 2, float: 2, str: 3, ObjectId: 4, bool: 5, datetime: 6}
_INT64 = range(-(2**63), 2**63)
_NUMBERS = (int, float, Decimal128)  # Int64 is an int
_ABSENT = object()


def _error(code: int, name: str, message: str) -> WriteError:
    return WriteError(message, code, {"code": code, "codeName": name, "errmsg": message})


def plan(update: Any, normalise: Callable[[Any], Any]) -> Steps:
    """The update's steps, its dates in their stored form (`normalise`)."""
    if type(update) is not dict or not update:
        raise Decline
    steps: Steps = []
    for operator, fields in update.items():
        if operator not in _OPERATORS or type(fields) is not dict or not fields:
            raise Decline
        for name, operand in fields.items():
            kind = type(operand)
            if operator == "$inc" and (kind is bool or not isinstance(operand, _NUMBERS)):
                message = f"Cannot increment with non-numeric argument: {{{name}: {operand!r}}}"
                raise _error(14, "TypeMismatch", message)
            if kind not in SAME_AS_PYTHON or (kind is int and operand not in _INT64):
                raise Decline  # documents, arrays, Int64, Decimal128...: mongomock's path
            if kind is float and operand != operand and operator in ("$min", "$max"):
                raise Decline  # NaN: BSON orders it below every number
            if kind is datetime:
                operand = normalise(operand)
            path = _paths.get(name)
            steps.append((operator, _path(name) if path is None else path, operand))
    return steps


# Ingest sends the same few paths over and over (`events.<name>.count`...): each is split and
# checked once. Both caches are emptied when full.
_paths: dict[str, Path] = {}
_free_of_conflicts: set[tuple[str, ...]] = set()
_CACHED = 10_000


def _path(name: Any) -> Path:
    if type(name) is not str or "\0" in name:
        raise Decline
    path = tuple(name.split("."))
    if path[0] == "_id" or any(not part or part[0] == "$" for part in path):
        raise Decline  # the immutable _id, positional operators, empty names
    return remember(_paths, name, path, most=_CACHED)


def refuse_conflicts(update: Any) -> None:
    """Two paths of one update that are equal, or one a prefix of the other: the server
    refuses the update (code 40), whatever its operators. (Positional paths, those with a part
    that starts with `$`, are left out; the others are checked.)"""
    if type(update) is not dict:
        return
    names: list[Any] = []
    for operator, fields in update.items():
        if type(operator) is not str or operator[:1] != "$" or type(fields) is not dict:
            return
        names += fields
        if operator == "$rename":
            names += fields.values()
    checked = tuple(name for name in names if type(name) is str and not _positional(name))
    if len(checked) < 2:
        return
    if checked in _free_of_conflicts:
        return
    paths = [tuple(name.split(".")) for name in checked]
    seen: set[Path] = set()
    for path in paths:
        if path in seen:
            _conflict(path, path)
        seen.add(path)
    for path in paths:
        for end in range(1, len(path)):
            if path[:end] in seen:
                _conflict(path, path[:end])
    if len(_free_of_conflicts) >= _CACHED:
        _free_of_conflicts.clear()
    _free_of_conflicts.add(checked)


def _positional(name: str) -> bool:
    return name[:1] == "$" or ".$" in name


def _conflict(path: Path, at: Path) -> None:
    message = f"Updating the path '{'.'.join(path)}' would create a conflict at '{'.'.join(at)}'"
    raise _error(40, "ConflictingUpdateOperators", message)


def seed(spec: dict[str, Any]) -> dict[str, Any]:
    """The document an upsert creates before its update: `_id` first, then the filter's
    top-level equalities; `$exists` and a `$or` of several branches add nothing."""
    document: dict[str, Any] = {"_id": spec.get("_id", _ABSENT)}
    for key, value in spec.items():
        if key == "$or" and type(value) is list and len(value) > 1:
            continue
        if type(key) is not str or key[:1] == "$" or "." in key:
            raise Decline
        kind = type(value)
        if kind is dict and len(value) == 1 and "$exists" in value and key != "_id":
            continue
        if kind not in SAME_AS_PYTHON:
            raise Decline
        document[key] = value
    if document["_id"] is _ABSENT:
        document["_id"] = ObjectId()
    return document


def changes(document: dict[str, Any], steps: Steps, *, inserting: bool) -> Changes:
    """The new value of each path the steps change (none: the update is a no-op)."""
    found: Changes = []
    for operator, path, operand in steps:
        if operator == "$setOnInsert" and not inserting:
            continue
        current = _current(document, path)
        if current is _ABSENT:
            found.append((path, operand))
        elif operator == "$set" or operator == "$setOnInsert":
            if not _same(current, operand):
                found.append((path, operand))
        elif operator == "$inc":
            total = _sum(document, path, current, operand)
            if not _same(total, current):
                found.append((path, total))
        else:
            order = _compare(operand, current)
            if order < 0 if operator == "$min" else order > 0:
                found.append((path, operand))
    return found


def _current(document: dict[str, Any], path: Path) -> Any:
    node = document
    for depth, part in enumerate(path[:-1]):
        child = node.get(part, _ABSENT)
        if child is _ABSENT:
            return _ABSENT
        if isinstance(child, list):
            raise Decline  # array positions: mongomock's path
        if not isinstance(child, dict):
            message = f"Cannot create field '{path[depth + 1]}' in element {{{part}: {child!r}}}"
            raise _error(28, "PathNotViable", message)
        node = child
    return node.get(path[-1], _ABSENT)


def _sum(document: dict[str, Any], path: Path, current: Any, operand: Any) -> Any:
    kind = type(current)
    if kind is int or kind is float:
        total = current + operand
        if type(total) is int and total not in _INT64:  # the server's SafeNum overflows
            message = (
                f"Failed to apply $inc operations to current value ({current!r}) "
                f"for document {{_id: {document['_id']!r}}}"
            )
            raise _error(2, "BadValue", message)
        return total
    if kind in SAME_AS_PYTHON or isinstance(current, (dict, list)):
        raise _error(
            14,
            "TypeMismatch",
            f"Cannot apply $inc to a value of non-numeric type. {{_id: {document['_id']!r}}} "
            f"has the field '{path[-1]}' of non-numeric type {kind.__name__}",
        )
    raise Decline  # Int64, Decimal128: mongomock's path


def _compare(a: Any, b: Any) -> int:
    """-1, 0 or 1 as BSON orders `a` and `b`; Decline for types left to mongomock."""
    rank_a, rank_b = _RANK.get(type(a)), _RANK.get(type(b))
    if rank_a is None or rank_b is None:
        raise Decline
    if rank_a != rank_b:
        return -1 if rank_a < rank_b else 1
    if rank_a == 1:
        return 0
    if (type(b) is float and b != b) or (rank_a == 6 and (a.tzinfo is None) != (b.tzinfo is None)):
        raise Decline  # a stored NaN, a date of another form
    return int(a > b) - int(a < b)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b)


def apply(document: dict[str, Any], found: Changes) -> Undo:
    """Write the changes into `document` (creating the documents on their paths); what undoes
    them. All or nothing: a fault midway undoes what was written."""
    log: Undo = []
    try:
        for path, value in found:
            node = document
            for part in path[:-1]:
                child = node.get(part, _ABSENT)
                if child is _ABSENT:
                    child = node[part] = {}
                    log.append((node, part, _ABSENT))
                node = child
            log.append((node, path[-1], node.get(path[-1], _ABSENT)))
            node[path[-1]] = value
    except BaseException:
        undo(log)
        raise
    return log


def undo(log: Undo) -> None:
    for node, field, before in reversed(log):
        if before is _ABSENT:
            del node[field]
        else:
            node[field] = before
