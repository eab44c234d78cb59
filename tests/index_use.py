"""Does each query the suite sent have an index? MongoDB's planner rules, judged over shapes.

The store adapter hands every query's shape to `record` during the suite (tests/conftest.py). At
the end of the session `problems()` judges each against `app.store.indexes.INDEXES` (plus `_id`):

- An index is eligible only when the query implies its partial filter, as the server's
  `expression_algo.cpp` (`isSubsetOf`) decides: `$exists: true` follows from a comparison to a
  non-null value (equality, ranges), `$in` without null, `$ne: null`, `$exists: true`, `$type`,
  regexes, `$elemMatch`, `$size`; `$type: X` only from the identical `$type: X`; an equality
  from an equality on that field (shapes hold no values: assumed equal).
- Index bounds come from the leading keys bound by equality or `$in`, then at most one range.
- A lookup is served when those bounds select less than the workspace (a key other than
  `workspace_id` bound by equality, or `_id`), or when they cover every field the query
  names (a page or count of the whole workspace, read in index order). Otherwise: "scan".
- A sort is served when the index keys give its order (all in the index's direction or all
  reversed), skipping keys bound by equality (one value) or `$in` (merged per value: "explode
  for sort"); sort keys bound by equality are constant; a unique index whose keys are all used
  needs no tie-break. Otherwise: "sort" (in memory).
- `$or`: served when the query is served ignoring it, or when every branch (with the fields
  outside the `$or`) is served on its own (the planner's OR of index scans, merged in order).

`unrecorded()` lists the public store functions whose queries the suite never sent, so the
check cannot pass by not looking. Intentional exceptions are in `ALLOWED`, one reason each.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.store.embedded.shapes import Predicate, Shape, store_callers
from app.store.indexes import INDEXES, Index

WORKSPACE = "workspace_id"
# Collections whose every document belongs to a workspace (their queries must narrow it).
SCOPED = frozenset(i.collection for i in INDEXES if i.keys[0][0] == WORKSPACE)
_STORE = Path(__file__).resolve().parent.parent / "app" / "store"
_NOT_COLLECTIONS = {"__init__", "client", "database", "indexes"}
_UNJUDGED_OPS = {"insert"}


@dataclass(frozen=True)
class Allowed:
    """Shapes from `caller` may have these problems, for this reason."""

    caller: str
    problems: frozenset[str]
    reason: str
    sort_prefix: str = ""  # only shapes whose first sort key starts with this

    def covers(self, shape: Shape, problems: set[str]) -> bool:
        first = shape.sort[0][0] if shape.sort else ""
        return (
            shape.caller == self.caller
            and problems <= self.problems
            and first.startswith(self.sort_prefix)
        )


def _allow(caller: str, problems: str, reason: str, sort_prefix: str = "") -> Allowed:
    return Allowed(caller, frozenset(problems.split()), reason, sort_prefix)


ALLOWED: tuple[Allowed, ...] = (
    _allow("matching.find_page", "scan",
           "segment filters on arbitrary attributes/events: a page walks the order's index, "
           "testing each contact, until it fills (docs/segments.md)"),
    _allow("matching.find_page", "scan sort",
           "EVENT_COUNT / EVENT_LAST_AT orders: a top-k sort over the matching contacts; "
           "dynamic events.<name> paths have no index (docs/segments.md)",
           sort_prefix="events."),
    _allow("matching.count_matching", "scan",
           "totalCount / audience counts of a filter on arbitrary attributes/events count "
           "every contact it matches"),
    _allow("contacts.find_contact", "sort",
           "at most a lead and a user answer to one anonymousId (mid-merge): sorts two documents"),
    _allow("contacts.forget_audience_rule", "scan",
           "deleting an AUDIENCE rule (admin, rare) pulls it from every contact; an index on "
           "audience_done would cost every AUDIENCE send"),
    _allow("rules.count_audience_rules", "scan",
           "a workspace's message rules: few (AUDIENCE ones capped)"),
    _allow("workspaces.all_workspaces", "scan", "the scheduler and the CLI list every workspace"),
    _allow("workspaces.list_keys", "scan", "a workspace's keys, revoked ones skipped: a handful"),
    _allow("events.received_since", "scan sort",
           "the live feed of some names: (workspace_id, received_at, _id) reads the events of "
           "the last seconds in order, names checked on them; (workspace_id, name, occurred_at) "
           "sorts the events of those names: the planner keeps whichever returns first"),
)  # fmt: skip


# ---------------------------------------------------------------- recording


_shapes: set[Shape] = set()
_callers: set[str] = set()  # every store function on the stack of a recorded query


def record(shape: Shape) -> None:
    _shapes.add(shape)
    _callers.update(store_callers())


def recorded() -> set[Shape]:
    return set(_shapes)


# ---------------------------------------------------------------- the planner's rules


def _parts(kind: str | None) -> set[str]:
    return set(kind.split("+")) if kind else set()


def _equality(kind: str | None) -> bool:
    """Bound to points (an equality, with whatever else the field must meet)."""
    return bool(_parts(kind) & {"eq", "in", "null", "in-null"})


def _ranged(kind: str | None) -> bool:
    return "range" in _parts(kind)


def implies(fields: Mapping[str, str], partial: Mapping[str, Any]) -> bool:
    """Whether a query with these fields implies the partial filter (expression_algo.cpp)."""
    for path, condition in partial.items():
        parts = _parts(fields.get(path))
        if condition == {"$exists": True}:
            # comparisons to a non-null value, $in without null, $ne/$nin null, $exists, $type,
            # $regex, $elemMatch, $size, $mod: expression_algo.cpp's _isSubsetOf(..., Exists)
            present = {"eq", "in", "range", "exists", "regex", "elemMatch", "size", "mod"}
            present |= {"ne-null", "nin-null"}
            if not (parts & present or any(p.startswith("type:") for p in parts)):
                return False
        elif isinstance(condition, Mapping) and set(condition) == {"$type"}:
            if f"type:{condition['$type']}" not in parts:
                return False
        elif isinstance(condition, Mapping) or "eq" not in parts:
            return False
    return True


def _indexes(collection: str, indexes: Sequence[Index]) -> list[Index]:
    declared = [i for i in indexes if i.collection == collection and not i.ttl]
    return [*declared, Index(collection, (("_id", 1),), "_id", unique=True)]


def _constant(kind: str | None) -> bool:
    """One value for the whole result: equality to a value or to null."""
    return bool(_parts(kind) & {"eq", "null"})


def _sorted(index: Index, fields: Mapping[str, str], sort: Iterable[Any]) -> bool:
    """The index scan returns the sort's order: its keys, in order, are the sort keys (all in
    the index's direction or all reversed), skipping keys bound to one value, and keys bound by
    `$in` (the planner merges one scan per value, each in order: "explode for sort")."""
    wanted = [(path, sign) for path, sign in sort if not _constant(fields.get(path))]
    direction, position = 0, 0
    for key, key_sign in index.keys:
        if position == len(wanted):
            return True
        path, sign = wanted[position]
        if key == path and direction in (0, key_sign * sign):
            direction, position = key_sign * sign, position + 1
        elif not _equality(fields.get(key)):
            return False
    return position == len(wanted) or index.unique  # every key used: no two entries tie


def _with(index: Index, fields: Mapping[str, str], sort: tuple[Any, ...], scoped: bool) -> set[str]:
    if index.partial is not None and not implies(fields, index.partial):
        return {"scan", "sort"}
    keys = [key for key, _ in index.keys]
    start = 0
    while start < len(keys) and _equality(fields.get(keys[start])):
        start += 1
    bound = keys[:start]
    if start < len(keys) and _ranged(fields.get(keys[start])):
        bound.append(keys[start])
    problems: set[str] = set()
    if not bound or not (
        set(fields) <= set(bound) or any(k != WORKSPACE for k in keys[:start]) or not scoped
    ):
        problems.add("scan")
    if sort and not _sorted(index, fields, sort):
        problems.add("sort")
    return problems


def _conjunction(shape: Shape, fields: Mapping[str, str], indexes: Sequence[Index]) -> set[str]:
    if _equality(fields.get("_id")):
        return set()
    scoped = shape.collection in SCOPED
    best = {"scan", "sort"} if shape.sort else {"scan"}
    for index in _indexes(shape.collection, indexes):
        found = _with(index, fields, shape.sort, scoped)
        if len(found) < len(best):
            best = found
    return best


def _merge(outer: Mapping[str, str], inner: Iterable[tuple[str, str]]) -> dict[str, str]:
    fields = dict(outer)
    for path, kind in inner:
        fields[path] = f"{fields[path]}+{kind}" if path in fields else kind
    return fields


def _predicate(
    shape: Shape, predicate: Predicate, outer: Mapping[str, str], indexes: Sequence[Index]
) -> set[str]:
    fields = _merge(outer, predicate.fields)
    if not predicate.ors:
        return _conjunction(shape, fields, indexes)
    # Ignoring the $or: it stays a filter on what the rest selects (an unbound field).
    ignored = _conjunction(shape, {**fields, "$or": "or"}, indexes)
    first, *others = predicate.ors
    rest = Predicate((), tuple(others))
    branches: set[str] = set()
    for branch in first:
        both = Predicate(branch.fields, (*branch.ors, *rest.ors))
        branches |= _predicate(shape, both, fields, indexes)
    return min(ignored, branches, key=len)


def judge(shape: Shape, indexes: Sequence[Index] = INDEXES) -> set[str]:
    """What the server would do badly for this shape: "scan" (a workspace), "sort" (in memory)."""
    if shape.op in _UNJUDGED_OPS:
        return set()
    return _predicate(shape, shape.predicate, {}, indexes)


def problems(shapes: Iterable[Shape], *, unused: bool = False) -> list[str]:
    """A line per shape the server would serve badly; with `unused`, also a line per ALLOWED
    entry that excused nothing (stale: its query was fixed, renamed or removed)."""
    found = []
    used: set[Allowed] = set()
    for shape in sorted(shapes, key=str):
        bad = judge(shape)
        excused = [allowed for allowed in ALLOWED if bad and allowed.covers(shape, bad)]
        used.update(excused)
        if bad and not excused:
            what = " and ".join(
                {"scan": "would scan the workspace", "sort": "would sort in memory"}[p]
                for p in sorted(bad)
            )
            found.append(f"{shape}\n    {what}: add an index to app/store/indexes.py, or an "
                         "entry with its reason to ALLOWED in tests/index_use.py")  # fmt: skip
    if unused:
        found += [
            f"ALLOWED entry for {a.caller} ({' '.join(sorted(a.problems))}) excused nothing: "
            "remove it from tests/index_use.py"
            for a in ALLOWED
            if a not in used
        ]
    return found


# ---------------------------------------------------------------- coverage


def store_functions() -> set[str]:
    """`module.function` for every public async function of the app/store/<collection> modules."""
    names = set()
    for path in sorted(_STORE.glob("*.py")):
        if path.stem in _NOT_COLLECTIONS:
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AsyncFunctionDef) and not node.name.startswith("_"):
                names.add(f"{path.stem}.{node.name}")
    return names


def unrecorded(callers: set[str] | None = None) -> list[str]:
    """The store functions no recorded query came from (by default, in this session)."""
    return sorted(store_functions() - (_callers if callers is None else callers))
