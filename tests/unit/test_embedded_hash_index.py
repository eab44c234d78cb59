"""Hash indexes keep MongoDB's matching and unique semantics (app/store/embedded/hash_index.py,
plain.py, uniques.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from bson import Decimal128, Int64, ObjectId
from mongomock import filtering
from pymongo.errors import DuplicateKeyError

from app.store.embedded import embedded_client, hash_index


async def test_partial_unique_index_semantics_hold() -> None:
    contacts = embedded_client()["t"]["contacts"]
    await contacts.create_index(
        [("ws", 1), ("email", 1)],
        unique=True,
        partialFilterExpression={"role": "USER", "email": {"$type": "string"}},
    )
    await contacts.insert_one({"ws": 1, "role": "USER", "email": "a@x"})
    await contacts.insert_one({"ws": 1, "role": "LEAD", "email": "a@x"})
    await contacts.insert_one({"ws": 1, "role": "LEAD", "email": "a@x"})
    await contacts.insert_one({"ws": 2, "role": "USER", "email": "a@x"})
    await contacts.insert_one({"ws": 1, "role": "USER"})
    await contacts.insert_one({"ws": 1, "role": "USER"})
    with pytest.raises(DuplicateKeyError):
        await contacts.insert_one({"ws": 1, "role": "USER", "email": "a@x"})
    await contacts.insert_one({"ws": 1, "role": "USER", "email": "b@x"})
    with pytest.raises(DuplicateKeyError):
        await contacts.update_one({"email": "b@x"}, {"$set": {"email": "a@x"}})
    assert await contacts.count_documents({"email": "a@x"}) == 4
    assert await contacts.count_documents({"email": "b@x"}) == 1


async def test_plain_equality_queries_keep_mongodb_matching() -> None:
    things = embedded_client()["t"]["things"]
    await things.insert_many(
        [
            {"k": "a", "tags": "x"},
            {"k": "b", "tags": ["x", "y"]},
            {"k": "c", "tags": ["y"]},
            {"k": "d"},
            {"k": "e", "tags": 1},
        ]
    )
    found = [d["k"] async for d in things.find({"tags": "x"})]
    assert found == ["a", "b"]
    assert [d["k"] async for d in things.find({"tags": "y", "k": "c"})] == ["c"]
    assert await things.count_documents({"tags": "1"}) == 0
    assert await things.count_documents({"missing": "x"}) == 0


async def test_indexed_lookups_follow_updates_deletes_and_rollbacks() -> None:
    people = embedded_client()["t"]["people"]
    await people.create_index([("ws", 1), ("user_id", 1)], unique=True)
    await people.create_index([("ws", 1), ("tag", 1)])
    await people.insert_many([{"ws": "w", "user_id": f"u{i}", "tag": "a"} for i in range(5)])
    await people.update_one({"ws": "w", "user_id": "u1"}, {"$set": {"user_id": "renamed"}})
    assert await people.count_documents({"ws": "w", "user_id": "u1"}) == 0
    assert await people.count_documents({"ws": "w", "user_id": "renamed"}) == 1
    with pytest.raises(DuplicateKeyError):
        await people.update_one({"ws": "w", "user_id": "u2"}, {"$set": {"user_id": "u3"}})
    assert await people.count_documents({"ws": "w", "user_id": "u2"}) == 1  # rolled back
    assert await people.count_documents({"ws": "w", "user_id": "u3"}) == 1
    await people.delete_one({"ws": "w", "user_id": "u4"})
    assert await people.count_documents({"ws": "w", "user_id": "u4"}) == 0
    await people.insert_one({"ws": "w", "user_id": "u4", "tag": ["a", "b"]})
    await people.update_many({"ws": "w", "tag": "a"}, {"$set": {"seen": True}})
    assert await people.count_documents({"ws": "w", "tag": "a"}) == 5
    assert await people.count_documents({"ws": "w", "tag": "b"}) == 1
    assert await people.count_documents({"seen": True}) == 5
    await people.drop()
    assert await people.count_documents({"ws": "w", "user_id": "u0"}) == 0
    await people.insert_one({"ws": "w", "user_id": "u0"})
    assert await people.count_documents({"ws": "w", "user_id": "u0"}) == 1


async def test_in_finds_a_value_after_a_document_in_an_array() -> None:
    things = embedded_client()["t"]["things"]
    await things.insert_many(
        [{"_id": 1, "tags": [{"x": 1}, "vip"]}, {"_id": 2, "tags": [["a"], "vip"]}, {"_id": 3}]
    )
    assert [d["_id"] async for d in things.find({"tags": {"$in": ["vip", "zz"]}})] == [1, 2]
    assert [d["_id"] async for d in things.find({"tags": {"$nin": ["vip"]}})] == [3]


async def test_in_lists_and_leading_matches_keep_mongodb_matching() -> None:
    events = embedded_client()["t"]["events"]
    await events.create_index([("ws", 1), ("contact", 1)])
    ids = [ObjectId() for _ in range(4)]
    await events.insert_many(
        [
            {"ws": "w", "contact": ids[0], "n": 1},
            {"ws": "w", "contact": ids[1], "n": 2},
            {"ws": "w", "contact": [ids[2], ids[3]], "n": 3},
            {"ws": "w", "contact": "text", "n": 4},
            {"ws": "w", "n": 5},
            {"ws": "x", "contact": ids[0], "n": 6},
        ]
    )

    async def ns(filter: dict[str, object]) -> list[int]:
        return sorted([d["n"] async for d in events.find(filter)])

    assert await ns({"ws": "w", "contact": {"$in": [ids[0], ids[3]]}}) == [1, 3]
    assert await ns({"contact": {"$in": [ids[0], "text"]}, "n": {"$gt": 1}}) == [4, 6]
    assert await ns({"ws": "w", "contact": {"$nin": [ids[0], ids[1]]}}) == [3, 4, 5]
    assert await ns({"contact": {"$in": [1, None]}}) == [5]
    pipeline = [
        {"$match": {"ws": "w", "contact": {"$in": ids}}},
        {"$group": {"_id": None, "total": {"$sum": "$n"}}},
    ]
    rows = [row async for row in events.aggregate(pipeline)]
    assert rows == [{"_id": None, "total": 6}]


async def test_or_queries_over_indexed_fields_keep_mongodb_matching() -> None:
    contacts = embedded_client()["t"]["contacts"]
    await contacts.create_index([("ws", 1), ("user_id", 1)])
    await contacts.create_index([("ws", 1), ("email", 1)])
    await contacts.insert_many(
        [
            {"ws": "w", "user_id": "a", "email": "a@x", "role": "USER"},
            {"ws": "w", "user_id": "b", "role": "USER"},
            {"ws": "w", "email": "c@x", "role": "LEAD"},
            {"ws": "v", "user_id": "a"},
        ]
    )
    query = {"ws": "w", "$or": [{"user_id": {"$in": ["a", "b"]}}, {"email": "c@x", "role": "USER"}]}
    assert sorted([d["user_id"] async for d in contacts.find(query)]) == ["a", "b"]
    mixed = {"$or": [{"user_id": "a"}, {"role": "LEAD"}]}  # a branch without an index
    assert await contacts.count_documents(mixed) == 3


async def test_an_update_that_keeps_an_indexed_value_keeps_it_findable() -> None:
    people = embedded_client()["t"]["people"]
    await people.create_index([("ws", 1), ("plan", 1)])
    await people.insert_one({"_id": 1, "ws": "w", "plan": "pro", "tags": ["a"]})
    await people.update_one({"_id": 1}, {"$set": {"plan": "pro"}, "$push": {"tags": "b"}})
    await people.update_one({"_id": 1}, {"$set": {"seen": 1}})
    assert await people.count_documents({"ws": "w", "plan": "pro"}) == 1
    await people.update_one({"_id": 1}, {"$set": {"plan": 1}})
    assert await people.count_documents({"ws": "w", "plan": "pro"}) == 0
    assert await people.count_documents({"ws": "w", "plan": 1}) == 1
    await people.update_one({"_id": 1}, {"$set": {"plan": 1.5}})
    assert await people.count_documents({"ws": "w", "plan": 1}) == 0
    assert await people.count_documents({"ws": "w", "plan": 1.5}) == 1


async def test_indexed_fields_holding_numbers_and_dates_keep_mongodb_matching() -> None:
    things = embedded_client()["t"]["things"]
    await things.create_index([("ws", 1), ("code", 1)], unique=True)
    at = datetime(2026, 11, 28, tzinfo=UTC)
    await things.insert_many(
        [
            {"ws": "w", "code": 7},
            {"ws": "w", "code": at},
            {"ws": "w", "code": "7"},
            {"ws": "w", "code": ["x", "y"]},
        ]
    )
    with pytest.raises(DuplicateKeyError):
        await things.insert_one({"ws": "w", "code": 7})
    with pytest.raises(DuplicateKeyError):
        await things.insert_one({"ws": "w", "code": at})
    assert await things.count_documents({"ws": "w", "code": 7}) == 1
    assert await things.count_documents({"ws": "w", "code": at}) == 1
    assert await things.count_documents({"ws": "w", "code": "7"}) == 1
    assert await things.count_documents({"ws": "w", "code": {"$in": ["7", "y"]}}) == 2
    await things.update_one({"code": 7}, {"$set": {"code": "z"}})
    assert await things.count_documents({"ws": "w", "code": "z"}) == 1
    assert await things.count_documents({"ws": "w", "code": 7}) == 0


async def test_integer_equalities_match_as_the_matcher_does() -> None:
    """`{shard: 3}` is answered without the matcher when the stored value is an int, and by it
    otherwise: 3.0, Int64(3) and [1, 3] match, True, "3" and a missing field do not."""
    things = embedded_client()["t"]["things"]
    values: list[Any] = [3, 3.0, Int64(3), [1, 3], 4, True, "3", None, {"a": 3}, Decimal128("3")]
    await things.insert_many([{"ws": "w", "v": v} for v in values] + [{"ws": "w"}])
    raw = things._AsyncMongoMockCollection__collection
    matcher: Any = filtering.filter_applies
    # the matcher (mongomock's, made type-strict), document by document
    for wanted in (3, 1, 0):
        query = {"ws": "w", "v": wanted}
        found = [doc["_id"] async for doc in things.find(query)]
        expected = [d["_id"] for d in raw._store._documents.values() if matcher(query, d)]
        assert found == expected
    assert await things.count_documents({"ws": "w", "v": 3}) == 4
    assert await things.count_documents({"ws": "w", "v": 1}) == 1  # [1, 3]; True is not 1


async def test_indexed_integers_find_and_refuse_every_equal_number() -> None:
    """An indexed int field is looked up by value; 1.0 and Int64(1) equal 1 there as on the
    server, True does not."""
    shards = embedded_client()["t"]["shards"]
    await shards.create_index([("ws", 1), ("name", 1), ("shard", 1)], unique=True)
    await shards.insert_many(
        [
            {"ws": "w", "name": "a", "shard": 1.0},
            {"ws": "w", "name": "b", "shard": Int64(2)},
            {"ws": "w", "name": "c", "shard": True},
            {"ws": "w", "name": "d", "shard": [5, 6]},
            {"ws": "w", "name": "e", "shard": 7},
        ]
    )
    for name, shard in (("a", 1), ("b", 2), ("e", 7), ("b", 2.0)):
        with pytest.raises(DuplicateKeyError):
            await shards.insert_one({"ws": "w", "name": name, "shard": shard})
    await shards.insert_one({"ws": "w", "name": "c", "shard": 1})  # true is not 1
    assert await shards.count_documents({"ws": "w", "shard": 1}) == 2  # 1.0 and 1
    assert await shards.count_documents({"shard": 2}) == 1
    assert await shards.count_documents({"shard": 6}) == 1
    assert await shards.count_documents({"shard": {"$in": [7, 2]}}) == 2
    await shards.update_one({"name": "e"}, {"$set": {"shard": 8}})
    assert await shards.count_documents({"shard": 7}) == 0
    assert await shards.count_documents({"shard": 8}) == 1


async def test_partial_unique_indexes_on_present_fields_and_strings() -> None:
    """`{field: {$exists: true}}` holds for a stored null; a string condition holds for an
    array holding it (both read without the matcher when they can be)."""
    contacts = embedded_client()["t"]["contacts"]
    await contacts.create_index(
        [("ws", 1), ("uid", 1)], unique=True, partialFilterExpression={"uid": {"$exists": True}}
    )
    await contacts.create_index(
        [("ws", 1), ("email", 1)],
        unique=True,
        partialFilterExpression={"role": "USER", "email": {"$exists": True}},
    )
    await contacts.insert_many([{"ws": "w"}, {"ws": "w"}, {"ws": "w", "uid": None}])
    with pytest.raises(DuplicateKeyError):
        await contacts.insert_one({"ws": "w", "uid": None})
    await contacts.insert_many(
        [{"ws": "w", "role": "LEAD", "email": "a@x"}, {"ws": "w", "role": "LEAD", "email": "a@x"}]
    )
    await contacts.insert_one({"ws": "w", "role": ["USER"], "email": "a@x"})
    with pytest.raises(DuplicateKeyError):
        await contacts.insert_one({"ws": "w", "role": "USER", "email": "a@x"})
    await contacts.insert_one({"ws": "w", "role": "USER", "email": "b@x"})
    assert await contacts.count_documents({"ws": "w"}) == 7


async def test_an_index_made_after_the_documents_serves_them() -> None:
    things = embedded_client()["t"]["things"]
    await things.insert_many([{"k": "a"}, {"k": "b", "n": 1}])
    assert await things.count_documents({"k": "a"}) == 1
    await things.create_index([("n", 1)])
    assert await things.count_documents({"n": 1}) == 1
    await things.create_index([("k", 1)], unique=True)
    with pytest.raises(DuplicateKeyError):
        await things.insert_one({"k": "a"})
    await things.drop()
    await things.insert_one({"k": "a", "n": 1})
    assert await things.count_documents({"n": 1, "k": "a"}) == 1


async def test_an_in_list_of_one_value_matches_as_the_equality() -> None:
    things = embedded_client()["t"]["things"]
    await things.create_index([("ws", 1), ("k", 1)])
    values: list[Any] = ["a", ["a", "b"], "b", 1, 1.0, [1], True, None]
    await things.insert_many([{"ws": "w", "k": v} for v in values] + [{"ws": "w"}])
    for wanted in ("a", 1, "z"):
        by_in = [d["_id"] async for d in things.find({"ws": "w", "k": {"$in": [wanted]}})]
        by_eq = [d["_id"] async for d in things.find({"ws": "w", "k": wanted})]
        assert by_in == by_eq
    assert await things.count_documents({"ws": "w", "k": {"$in": ["a"]}}) == 2
    assert await things.count_documents({"ws": "w", "k": {"$in": [1]}}) == 3  # 1, 1.0, [1]


async def test_an_or_of_indexed_lookups_reads_only_what_they_find() -> None:
    """`{ws, $or: [{user_id: {$in: [...]}}, ...]}` (a batch's contacts): the candidates are the
    branches' lookups, not every document of the workspace, and the result is the same."""
    contacts = embedded_client()["t"]["contacts"]
    await contacts.create_index([("ws", 1), ("user_id", 1)])
    await contacts.create_index([("ws", 1), ("aliases", 1)])
    await contacts.insert_many([{"ws": "w", "user_id": f"u{i}"} for i in range(50)])
    await contacts.insert_many([{"ws": "w", "aliases": ["a", "b"]}, {"ws": "v", "user_id": "u1"}])
    raw = contacts._AsyncMongoMockCollection__collection
    query = {"ws": "w", "$or": [{"user_id": {"$in": ["u1", "u2", "x"]}}, {"aliases": "b"}]}
    found = [d.get("user_id") async for d in contacts.find(query)]
    assert sorted(found, key=str) == [None, "u1", "u2"]
    candidates = hash_index._candidates(raw._store, query)
    assert candidates is not None
    assert len(candidates) == 4  # u1 (twice: ws w and v), u2, the aliases holder
    unindexed = {"ws": "w", "$or": [{"user_id": "u1"}, {"name": "x"}]}  # all of ws "w" then
    assert [d["user_id"] async for d in contacts.find(unindexed)] == ["u1"]
    candidates = hash_index._candidates(raw._store, unindexed)
    assert candidates is not None
    assert len(candidates) == 51


async def test_plain_conditions_with_an_or_match_as_the_matcher_does() -> None:
    """Equalities, `$in` lists and a `$or` of them over strings, ObjectIds and ints are matched
    without mongomock's matcher; arrays and other numbers still reach it."""
    things = embedded_client()["t"]["things"]
    await things.create_index([("ws", 1), ("k", 1)])
    oid = ObjectId()
    values: list[Any] = ["a", ["a", "b"], "b", 1, 1.0, Int64(1), [1], True, None, oid, {"a": 1}]
    await things.insert_many(
        [{"ws": "w", "k": v, "n": i} for i, v in enumerate(values)] + [{"ws": "w", "n": 99}]
    )
    raw = things._AsyncMongoMockCollection__collection
    matcher: Any = filtering.filter_applies
    for query in (
        {"ws": "w", "$or": [{"k": {"$in": ["a", 1]}}, {"n": 2}]},
        {"ws": "w", "$or": [{"k": oid}, {"k": "b", "n": {"$in": [2, 3]}}]},
        {"ws": "w", "k": {"$in": ["b", 1, oid]}},
        {"$or": [{"k": "z"}, {"n": 8}]},
        {"ws": "w", "$or": [{"k": 1}, {"missing": "x"}]},
    ):
        found = sorted([d["n"] async for d in things.find(query)])  # an $or: in branch order
        expected = sorted(d["n"] for d in raw._store._documents.values() if matcher(query, d))
        assert found == expected, query
        assert found


async def test_unique_checks_follow_the_indexes_as_they_change() -> None:
    things = embedded_client()["t"]["things"]
    await things.create_index([("k", 1)], unique=True, name="one")
    await things.insert_one({"k": "a", "n": 1})
    with pytest.raises(DuplicateKeyError):
        await things.insert_one({"k": "a", "n": 2})
    await things.drop_index("one")
    await things.insert_one({"k": "a", "n": 2})  # no unique index any more
    await things.create_index([("n", 1)], unique=True, name="one")  # same name, other key
    await things.insert_one({"k": "a", "n": 3})
    with pytest.raises(DuplicateKeyError):
        await things.update_one({"n": 3}, {"$set": {"n": 1}})
    await things.drop_indexes()
    await things.update_one({"n": 3}, {"$set": {"n": 1}})
    assert await things.count_documents({"n": 1}) == 2
    await things.delete_many({})
    await things.create_index([("k", 1), ("d.x", 1)], unique=True)
    await things.insert_one({"k": "b", "d": {"x": 1}})
    await things.insert_one({"k": "b", "d": {"x": 2}})
    with pytest.raises(DuplicateKeyError):
        await things.insert_one({"k": "b", "d": {"x": 1.0}})
    assert await things.count_documents({}) == 2


async def test_updates_that_repeat_a_unique_key_are_refused_however_they_get_there() -> None:
    """A partial filter starting to hold, a subdocument changed in place, a number turned
    string: each update is checked against the unique indexes, and rolled back."""
    contacts = embedded_client()["t"]["contacts"]
    await contacts.create_index(
        [("ws", 1), ("email", 1)],
        unique=True,
        partialFilterExpression={"role": "USER", "email": {"$exists": True}},
    )
    await contacts.create_index([("ws", 1), ("d", 1)], unique=True)
    await contacts.create_index([("ws", 1), ("n", 1)], unique=True)
    await contacts.insert_many(
        [
            {"_id": 1, "ws": "w", "role": "USER", "email": "a@x", "d": {"x": 2}, "n": "1"},
            {"_id": 2, "ws": "w", "role": "LEAD", "email": "a@x", "d": {"x": 1}, "n": 1},
        ]
    )
    await contacts.update_one({"_id": 2}, {"$inc": {"seen": 1}})  # no unique key changes
    with pytest.raises(DuplicateKeyError):
        await contacts.update_one({"_id": 2}, {"$inc": {"d.x": 1}})  # {x: 2} again
    with pytest.raises(DuplicateKeyError):
        await contacts.update_one({"_id": 2}, {"$set": {"role": "USER"}})  # the filter holds
    with pytest.raises(DuplicateKeyError):
        await contacts.update_one({"_id": 2}, {"$set": {"n": "1"}})
    await contacts.update_one({"_id": 2}, {"$set": {"n": 1.0, "role": "LEAD"}})  # 1.0 is free
    stored = await contacts.find_one({"_id": 2})
    assert stored is not None
    assert (stored["role"], stored["d"], stored["n"], stored["seen"]) == ("LEAD", {"x": 1}, 1.0, 1)
    await contacts.update_one({"_id": 1}, {"$unset": {"email": ""}})
    await contacts.update_one({"_id": 2}, {"$set": {"role": "USER"}})  # a@x is free now
    assert await contacts.count_documents({"ws": "w", "role": "USER", "email": "a@x"}) == 1


async def test_lookups_narrow_to_every_field_asked_for_one_value() -> None:
    """`{ws, name, shard}` takes the documents in the buckets of all three fields (the name's
    shard, not its sixteen), keeping the ones a number or an array could make equal; unique
    checks narrow the same way and still refuse every equal key."""
    shards = embedded_client()["t"]["shards"]
    await shards.create_index([("ws", 1), ("name", 1), ("shard", 1)], unique=True)
    await shards.insert_many(
        [{"ws": "w", "name": f"n{n}", "shard": s} for n in range(10) for s in range(16)]
    )
    await shards.insert_many(
        [
            {"ws": "w", "name": "odd", "shard": 3.0},
            {"ws": "w", "name": ["odd", "other"], "shard": 3},
            {"ws": "w", "name": "odd", "shard": Int64(4)},
        ]
    )
    raw = shards._AsyncMongoMockCollection__collection
    for query, expected in (
        ({"ws": "w", "name": "n4", "shard": 7}, 1),
        ({"ws": "w", "name": "odd", "shard": 3}, 2),  # 3.0, and ["odd", "other"] with 3
        ({"ws": "w", "name": {"$in": ["n1", "n2"]}, "shard": 5}, 2),
        ({"ws": "w", "name": "n1", "shard": {"$in": [1, 2, 99]}}, 2),
    ):
        candidates = hash_index._candidates(raw._store, query)
        assert candidates is not None
        matcher: Any = filtering.filter_applies
        matching = [d for d in raw._store._documents.values() if matcher(query, d)]
        assert [d["_id"] for d in candidates if matcher(query, d)] == [d["_id"] for d in matching]
        assert len(matching) == expected
        assert len(candidates) <= expected + 1  # the numbers kept for the matcher
        assert await shards.count_documents(query) == expected
    for duplicate in (
        {"ws": "w", "name": "n4", "shard": 7},
        {"ws": "w", "name": "n4", "shard": 7.0},
        {"ws": "w", "name": "odd", "shard": 4},  # Int64(4) is 4
    ):
        with pytest.raises(DuplicateKeyError):
            await shards.insert_one(duplicate)
    await shards.insert_one({"ws": "w", "name": "n4", "shard": 16})
    with pytest.raises(DuplicateKeyError):
        await shards.update_one({"name": "n4", "shard": 16}, {"$set": {"shard": 15}})


async def test_a_sparse_unique_index_holds_documents_with_the_field_even_null() -> None:
    things = embedded_client()["t"]["things"]
    await things.create_index([("e", 1)], unique=True, sparse=True)
    await things.insert_many([{"_id": 1}, {"_id": 2}, {"_id": 3, "e": None}])
    with pytest.raises(DuplicateKeyError):
        await things.insert_one({"_id": 4, "e": None})
    with pytest.raises(DuplicateKeyError):
        await things.update_one({"_id": 2}, {"$set": {"e": None}})
    await things.delete_one({"_id": 3})
    await things.update_one({"_id": 2}, {"$set": {"e": None}})  # the missing ones are left out
    await things.insert_one({"_id": 5})
    assert await things.count_documents({"e": None}) == 3
