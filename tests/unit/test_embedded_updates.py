"""Updates applied natively (app/store/embedded/updates.py, rules.py): the same documents and
results as mongomock's generic path where that path is right, MongoDB's refusals where it is
lenient, and all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import mongomock
import pytest
from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from app.store.embedded import embedded_client, rules, updates

# Leaf paths, none a prefix of another, each holding values of one kind.
PATHS = {"a": "int", "b": "float", "s": "str", "c.x": "date", "c.y": "int", "d.x.n": "int"}
PATHS |= {"d.x.m": "str", "d.y.n": "float", "d.y.at": "date"}
BASE = datetime(2026, 1, 1, tzinfo=UTC)
VALUES = {
    "int": st.integers(-5, 5),
    "float": st.floats(-5, 5, allow_nan=False).map(lambda f: round(f, 1)),
    "str": st.sampled_from(["", "a", "b", "é", "zz"]),
    "date": st.integers(0, 4).map(lambda d: BASE + timedelta(days=d, milliseconds=d)),
}


# The filters of Tally's upserts: equalities, `$exists: false`, a `$or` of refs.
FILTERS: list[dict[str, Any]] = [
    {"k": "key"},
    {"w": "w", "k": "key", "gone": {"$exists": False}},
    {"w": "w", "$or": [{"k": "key"}, {"alias": "key", "gone": {"$exists": False}}]},
]


@st.composite
def cases(draw: Any) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any], bool]:
    """A stored document (or none), a filter, an update in the native shape, upsert or not."""
    stored = None
    if draw(st.booleans()):
        stored = {"_id": 1, "w": "w", "k": "key"}
        for path in draw(st.lists(st.sampled_from(sorted(PATHS)), unique=True)):
            _put(stored, path, draw(VALUES[PATHS[path]]))
    update: dict[str, dict[str, Any]] = {}
    for path in draw(st.lists(st.sampled_from(sorted(PATHS)), min_size=1, unique=True)):
        kind = PATHS[path]
        operators = ["$set", "$setOnInsert", "$min", "$max"]
        operators += ["$inc"] if kind in ("int", "float") else []
        update.setdefault(draw(st.sampled_from(operators)), {})[path] = draw(VALUES[kind])
    return stored, draw(st.sampled_from(FILTERS)), update, draw(st.booleans())


def _put(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        document = document.setdefault(part, {})
    document[last] = value


def _typed(value: Any) -> Any:
    """A document compared by value and type, whatever its order of fields."""
    if isinstance(value, dict):
        return sorted((key, _typed(item)) for key, item in value.items() if key != "_id")
    return (type(value).__name__, value)


def _collection(stored: dict[str, Any] | None) -> Any:
    embedded_client()  # the patches
    collection: Any = mongomock.MongoClient(tz_aware=True)["t"]["c"]
    collection.create_index([("k", 1)], unique=True)
    if stored is not None:
        collection.insert_one(dict(stored))
    return collection


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_native_updates_match_mongomocks_generic_path(
    case: tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any], bool],
) -> None:
    stored, spec, update, upsert = case
    native, generic = _collection(stored), _collection(stored)
    mine = native.update_one(spec, update, upsert=upsert).raw_result
    theirs = updates._original_update(generic, spec, update, upsert)  # type: ignore[no-untyped-call]
    assert [_typed(d) for d in native.find()] == [_typed(d) for d in generic.find()]
    for field in ("n", "nModified", "updatedExisting"):
        assert mine[field] == theirs[field], field
    assert (mine["upserted"] is None) == (theirs["upserted"] is None)


def test_an_upsert_starts_from_the_filters_equalities() -> None:
    contacts = _collection(None)
    spec: dict[str, Any] = {"k": "u1", "role": "USER", "merging": {"$exists": False}}
    spec["$or"] = [{"k": "u1"}, {"aliases": "u1"}]
    at = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    update = {"$inc": {"events.x.count": 1}, "$min": {"events.x.first_at": at}}
    result = contacts.update_one(spec, {**update, "$setOnInsert": {"created_at": at}}, upsert=True)
    [document] = contacts.find()
    assert document == {
        "_id": result.upserted_id,
        "k": "u1",
        "role": "USER",
        "events": {"x": {"count": 1, "first_at": at.replace(microsecond=123000)}},
        "created_at": at.replace(microsecond=123000),
    }
    assert next(iter(document)) == "_id"  # first, as the server stores it


@pytest.mark.parametrize(
    "update",
    [
        {"$inc": {"n": 1}, "$max": {"n": 2}},
        {"$set": {"e.x": 1}, "$inc": {"e.x.count": 1}},
        {"$setOnInsert": {"e": 1}, "$min": {"e.x.first_at": 1}},
        {"$set": {"e.x": {"count": 1}}, "$inc": {"e.x.count": 1}},  # outside the native shape
        {"$rename": {"a": "e"}, "$inc": {"e.x": 1}},
    ],
)
def test_paths_in_conflict_are_refused_as_the_server_does(update: dict[str, Any]) -> None:
    things = _collection({"_id": 1, "k": "key", "n": 1, "a": 1})
    with pytest.raises(WriteError) as refused:
        things.update_one({"k": "key"}, update, upsert=True)
    assert refused.value.code == 40
    assert [_typed(d) for d in things.find()] == [_typed({"k": "key", "n": 1, "a": 1})]


@pytest.mark.parametrize(
    ("update", "code"),
    [
        ({"$inc": {"s": 1}}, 14),  # onto a string
        ({"$inc": {"t": 1}}, 14),  # onto a boolean (mongomock: True + 1 = 2)
        ({"$inc": {"n": "1"}}, 14),  # by a string
        ({"$inc": {"n": True}}, 14),
        ({"$inc": {"n": 1}, "$set": {"s.inner": 1}}, 28),  # a path through a string
    ],
)
def test_what_the_server_refuses_changes_nothing(update: dict[str, Any], code: int) -> None:
    things = _collection({"_id": 1, "k": "key", "n": 1, "s": "x", "t": True})
    with pytest.raises(WriteError) as refused:
        things.update_one({"k": "key"}, update)
    assert refused.value.code == code
    assert things.find_one({}, {"_id": 0}) == {"k": "key", "n": 1, "s": "x", "t": True}


@pytest.mark.parametrize(
    ("stored", "operator", "operand", "after"),
    [
        (None, "$min", 5, None),  # null sorts before every number
        (None, "$max", 5, 5),
        (3, "$max", "a", "a"),  # strings after numbers
        ("a", "$min", 3, 3),
        (3, "$min", datetime(2026, 1, 1), 3),  # dates after numbers and strings
        (ObjectId("0" * 24), "$max", True, True),  # booleans after ObjectIds
        (2, "$min", 2.0, 2),  # equal: unchanged, type included
        (2, "$max", 2.5, 2.5),
    ],
)
def test_min_and_max_compare_across_types_in_bson_order(
    stored: Any, operator: str, operand: Any, after: Any
) -> None:
    things = _collection({"_id": 1, "k": "key", "v": stored})
    things.update_one({"k": "key"}, {operator: {"v": operand}})
    found = things.find_one({}, {"_id": 0})["v"]
    assert (type(found), found) == (type(after), after)


def test_a_duplicate_key_leaves_the_document_and_its_index_as_they_were() -> None:
    things = _collection({"_id": 1, "k": "key", "n": 1})
    things.insert_one({"_id": 2, "k": "other"})
    with pytest.raises(DuplicateKeyError):
        things.update_one({"k": "key"}, {"$set": {"k": "other"}, "$inc": {"n": 1, "e.x": 1}})
    assert things.find_one({"k": "key"}) == {"_id": 1, "k": "key", "n": 1}
    assert things.count_documents({"k": "other"}) == 1


def test_updates_outside_the_shape_take_mongomocks_path() -> None:
    things = _collection({"_id": 1, "k": "key", "list": [{"n": 1}], "d": {"n": 1}})
    things.update_one({"k": "key"}, {"$inc": {"list.0.n": 1}})  # through an array
    things.update_one({"k": "key"}, {"$push": {"tags": "a"}, "$unset": {"d": ""}})
    things.update_many({"k": "key"}, {"$set": {"m": 1}})
    assert things.find_one({}, {"_id": 0}) == {
        "k": "key",
        "list": [{"n": 2}],
        "tags": ["a"],
        "m": 1,
    }


async def test_a_bulk_write_reports_each_operation_where_it_stands() -> None:
    things = embedded_client()["t"]["things"]
    await things.create_index([("k", 1)], unique=True)
    await things.insert_many([{"k": "a", "n": 1}, {"k": "b", "n": 1}])
    requests = [
        UpdateOne({"k": "a"}, {"$inc": {"n": 1}}),
        UpdateOne({"k": "a"}, {"$set": {"k": "b"}}),  # refused: b exists
        UpdateOne({"k": "c"}, {"$inc": {"n": 1}}, upsert=True),
        UpdateOne({"k": "b"}, {"$max": {"n": 0}}),  # matched, unchanged
    ]
    with pytest.raises(BulkWriteError) as refused:
        await things.bulk_write(requests, ordered=False)
    details = refused.value.details
    assert [(e["index"], e["code"]) for e in details["writeErrors"]] == [(1, 11000)]
    assert [u["index"] for u in details["upserted"]] == [2]
    assert (details["nMatched"], details["nModified"], details["nUpserted"]) == (2, 1, 1)
    with pytest.raises(BulkWriteError) as stopped:
        await things.bulk_write(requests[1:], ordered=True)
    assert stopped.value.details["nUpserted"] == 0  # the first error ends an ordered write
    result = await things.bulk_write([requests[0], requests[3]])
    assert (result.matched_count, result.modified_count) == (2, 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from(["n", "k"]), st.booleans()),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
)
def test_a_bulk_write_reports_as_mongomocks_bulk_builder_does(
    operations: list[tuple[str, str, bool]], ordered: bool
) -> None:
    """Counts, created documents and refusals (a key taken), each at its operation's index."""
    requests = [
        UpdateOne({"k": k}, {"$inc": {"n": 1}} if field == "n" else {"$set": {"k": "a"}}, upsert=up)
        for k, field, up in operations
    ]
    outcomes = []
    for write in (updates._bulk_write, updates._original_bulk_write):
        things = _collection({"_id": 1, "k": "a", "n": 0})
        try:
            result = write(things, requests, ordered).bulk_api_result
        except BulkWriteError as error:
            result = {**error.details, "refused": True}
        result["upserted"] = [u["index"] for u in result["upserted"]]
        outcomes.append((result, [_typed(d) for d in things.find()]))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(
    "update",
    [
        {"$set": {"a.b": 2, "a": 1, "x$y": 1}},  # a `$` inside a name is no positional path
        {"$set": {"a": 1, "a.b": 2, "x$y": 1}},
        {"$set": {"a": 1, "a.b": 2}, "$inc": {"list.$.n": 1}},  # a positional path beside
    ],
)
def test_paths_in_conflict_are_refused_beside_names_with_a_dollar(update: dict[str, Any]) -> None:
    things = _collection({"_id": 1, "k": "key"})
    with pytest.raises(WriteError) as refused:
        things.update_one({"k": "key"}, update)
    assert refused.value.code == 40
    assert things.find_one({}, {"_id": 0}) == {"k": "key"}


def test_a_fault_of_any_kind_after_the_write_leaves_the_document_and_its_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    things = _collection({"_id": 1, "k": "key", "n": 1})

    def failing(*_: Any) -> None:
        raise RuntimeError("a fault")

    monkeypatch.setattr(updates, "check_uniques", failing)
    with pytest.raises(RuntimeError):
        things.update_one({"k": "key"}, {"$set": {"k": "other"}, "$inc": {"n": 1, "e.x": 1}})
    monkeypatch.undo()
    assert things.find_one({"k": "key"}) == {"_id": 1, "k": "key", "n": 1}
    assert things.count_documents({"k": "other"}) == 0


def test_a_bulk_update_without_operators_is_refused_before_anything_is_written() -> None:
    """PyMongo (`_Bulk.add_update`) and mongomock's bulk builder validate every request before
    they send or apply one."""
    requests = [UpdateOne({"k": "key"}, {"$inc": {"n": 1}}), UpdateOne({"k": "key"}, {"b": 5})]
    for write in (updates._bulk_write, updates._original_bulk_write):
        things = _collection({"_id": 1, "k": "key", "n": 1})
        with pytest.raises(ValueError, match="update only works with \\$ operators"):
            write(things, requests)
        assert things.find_one({}, {"_id": 0}) == {"k": "key", "n": 1}


LARGEST = 2**63 - 1


@pytest.mark.parametrize(("stored", "by"), [(LARGEST, 1), (-LARGEST - 1, -1), (2**62, 2**62)])
def test_an_inc_past_int64_is_refused_and_leaves_the_document(stored: int, by: int) -> None:
    """The server's SafeNum overflows: BadValue (code 2), nothing written."""
    things = _collection({"_id": 1, "k": "key", "n": stored})
    with pytest.raises(WriteError) as refused:
        things.update_one({"k": "key"}, {"$inc": {"n": by}, "$set": {"m": 1}})
    assert refused.value.code == 2
    with pytest.raises(BulkWriteError) as in_bulk:
        things.bulk_write([UpdateOne({"k": "key"}, {"$inc": {"n": by}})])
    assert [e["code"] for e in in_bulk.value.details["writeErrors"]] == [2]
    assert things.find_one({}, {"_id": 0}) == {"k": "key", "n": stored}
    things.update_one({"k": "key"}, {"$inc": {"n": -by}})  # the document takes later writes
    assert things.find_one({}, {"_id": 0}) == {"k": "key", "n": stored - by}


def test_changes_applied_halfway_are_undone() -> None:
    document: dict[str, Any] = {"_id": 1, "n": 1}
    with pytest.raises(AttributeError):  # a path through the scalar it has just written
        rules.apply(document, [(("n",), 2), (("e",), {}), (("a",), 1), (("a", "b"), 2)])
    assert document == {"_id": 1, "n": 1}
