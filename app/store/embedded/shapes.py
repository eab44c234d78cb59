"""The shape of a query: which fields it binds and how, its sort, and which store function sent it.

The values are left out (`{user_id: "u1"}` and `{user_id: "u2"}` have one shape), and the
names in dynamic paths too (`events.signup.count` is `events.<name>.count`). The suite records
every shape the store adapter sends (`Store.record_shapes`, tests only) and judges each against
the declared indexes by MongoDB's planner rules (tests/index_use.py).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

# A field's predicate kinds: what the planner can make index bounds from, and what it cannot.
EQ, IN, NULL, RANGE, EXISTS = "eq", "in", "null", "range", "exists"
_RANGES = frozenset({"$gt", "$gte", "$lt", "$lte"})
_DYNAMIC = {"events": "<name>", "attrs": "<key>", "metadata": "<key>"}
_STORE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Predicate:
    """A conjunction: (path, kind) per field, and each `$or` as its branches."""

    fields: tuple[tuple[str, str], ...]
    ors: tuple[tuple[Predicate, ...], ...] = ()

    def __str__(self) -> str:
        parts = [f"{path}: {kind}" for path, kind in self.fields]
        parts += ["$or: [" + ", ".join(str(b) for b in branches) + "]" for branches in self.ors]
        return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True)
class Shape:
    collection: str
    op: str
    predicate: Predicate
    sort: tuple[tuple[str, int], ...]
    caller: str  # module.function in app/store, e.g. "contacts.find_page"

    def __str__(self) -> str:
        sort = ", ".join(f"{path} {sign:+d}" for path, sign in self.sort)
        where = f" sort [{sort}]" if sort else ""
        return f"{self.caller}: {self.op} {self.collection} {self.predicate}{where}"


def generic_path(path: str) -> str:
    head, _, rest = path.partition(".")
    if head in _DYNAMIC and rest:
        _, _, tail = rest.partition(".")
        return ".".join(p for p in (head, _DYNAMIC[head], tail) if p)
    return path


def _kind(value: Any) -> str:
    if (
        not isinstance(value, Mapping)
        or not value
        or not all(str(k).startswith("$") for k in value)
    ):
        return NULL if value is None else EQ
    kinds: set[str] = set()
    for op, operand in value.items():
        if op == "$eq":
            kinds.add(NULL if operand is None else EQ)
        elif op == "$in":
            kinds.add("in-null" if None in operand else IN)
        elif op in _RANGES:
            kinds.add(RANGE)
        elif op == "$exists":
            kinds.add(EXISTS if operand else "absent")
        elif op == "$type":
            kinds.add(f"type:{operand}")
        elif op in ("$ne", "$nin"):
            nulls = operand is None if op == "$ne" else None in operand
            kinds.add(op[1:] + ("-null" if nulls else ""))
        elif op != "$options":
            kinds.add(op[1:])
    return "+".join(sorted(kinds))


def predicate_of(filter: Mapping[str, Any]) -> Predicate:
    fields: dict[str, str] = {}
    ors: list[tuple[Predicate, ...]] = []

    def add(part: Mapping[str, Any]) -> None:
        for key, value in part.items():
            if key == "$and":
                for sub in value:
                    add(sub)
            elif key == "$or":
                ors.append(tuple(predicate_of(branch) for branch in value))
            elif key.startswith("$"):
                fields[key] = key[1:]  # $nor, $expr: bind no index key
            else:
                path = generic_path(key)
                kind = _kind(value)
                fields[path] = kind if path not in fields else f"{fields[path]}+{kind}"

    add(filter)
    return Predicate(tuple(sorted(fields.items())), tuple(ors))


def store_callers() -> list[str]:
    """`module.function` of each app/store function on the stack (not the adapter's),
    innermost first."""
    callers = []
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code not in _names:
            path = Path(code.co_filename)
            inside = path.parent == _STORE and path.name not in ("client.py", "database.py")
            _names[code] = f"{path.stem}.{code.co_name}" if inside else None
        name = _names[code]
        if name is not None:
            callers.append(name)
        frame = frame.f_back  # type: ignore[assignment]
    return callers


_names: dict[CodeType, str | None] = {}


def shape_of(
    collection: str,
    op: str,
    filter: Mapping[str, Any] | None,
    sort: Sequence[tuple[str, int]] | None = None,
) -> Shape | None:
    """The shape of one command, or None when no store function sent it (a unit test)."""
    callers = store_callers()
    if not callers:
        return None
    return Shape(
        collection,
        op,
        predicate_of(filter or {}),
        tuple((generic_path(path), sign) for path, sign in sort or ()),
        callers[0],
    )


def _leading(pipeline: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, Any], list[Any]]:
    """A pipeline's leading `$match` and the `$sort` right after it (what an index can serve)."""
    match = pipeline[0].get("$match", {}) if pipeline else {}
    sort = pipeline[1].get("$sort", {}) if len(pipeline) > 1 and match else {}
    return match, list(sort.items())


def pipeline_shapes(collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Shape]:
    """An aggregation's shapes: its leading `$match` (and `$sort`), and the query each
    `$lookup` with a pipeline runs per document on the foreign collection: `foreignField`
    equal to the document's value, and the sub-pipeline's leading `$match` (and `$sort`)."""
    match, sort = _leading(pipeline)
    shapes = [shape_of(collection, "aggregate", match, sort)]
    for stage in pipeline:
        lookup = stage.get("$lookup")
        if isinstance(lookup, Mapping) and "pipeline" in lookup:
            inner, inner_sort = _leading(lookup["pipeline"])
            if "foreignField" in lookup:
                inner = {"$and": [{lookup["foreignField"]: "<local value>"}, inner]}
            shapes.append(shape_of(lookup["from"], "lookup", inner, inner_sort))
    return [shape for shape in shapes if shape is not None]
