"""The embedded store tells apart and refuses what MongoDB does (app/store/embedded/strict.py)."""

from __future__ import annotations

from typing import Any

import pytest
from bson import BSON, ObjectId
from mongomock import filtering
from pymongo import UpdateOne
from pymongo.errors import (
    BulkWriteError,
    DocumentTooLarge,
    DuplicateKeyError,
    OperationFailure,
    WriteError,
)

from app.store.embedded import embedded_client
from app.store.embedded.strict import MAX_BSON_SIZE, bson_equal, strict_filter

BIG = "x" * (MAX_BSON_SIZE // 2)


async def _things() -> Any:
    things = embedded_client()["t"]["things"]
    await things.insert_many(
        [
            {"_id": "true", "v": True},
            {"_id": "one", "v": 1},
            {"_id": "one-float", "v": 1.0},
            {"_id": "false", "v": False},
            {"_id": "zero", "v": 0},
            {"_id": "list", "v": [1, "a"]},
            {"_id": "bools", "v": [True]},
            {"_id": "text", "v": "1"},
        ]
    )
    return things


async def _ids(things: Any, filter: dict[str, Any]) -> list[str]:
    return sorted([doc["_id"] async for doc in things.find(filter)])


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"v": 1}, ["list", "one", "one-float"]),
        ({"v": True}, ["bools", "true"]),
        ({"v": {"$eq": 1}}, ["list", "one", "one-float"]),
        ({"v": {"$eq": True}}, ["bools", "true"]),
        ({"v": {"$in": [1, "x"]}}, ["list", "one", "one-float"]),
        ({"v": {"$in": [True]}}, ["bools", "true"]),
        ({"v": {"$in": [0]}}, ["zero"]),
        ({"v": {"$ne": True}}, ["false", "list", "one", "one-float", "text", "zero"]),
        ({"v": {"$nin": [1, False]}}, ["bools", "text", "true", "zero"]),
        ({"v": {"$gte": 1}}, ["list", "one", "one-float"]),
        ({"v": {"$lte": False}}, ["false"]),
        ({"v": {"$not": {"$eq": 1}}}, ["bools", "false", "text", "true", "zero"]),
        ({"v": [True]}, ["bools"]),
        ({"v": [1, "a"]}, ["list"]),
        ({"v": {"$all": [1]}}, ["list", "one", "one-float"]),
        ({"$or": [{"v": 0}, {"v": False}]}, ["false", "zero"]),
        ({"$and": [{"v": {"$in": [1, True]}}, {"v": {"$ne": 1}}]}, ["bools", "true"]),
    ],
)
async def test_booleans_and_numbers_never_match_each_other(
    filter: dict[str, Any], expected: list[str]
) -> None:
    things = await _things()
    assert await _ids(things, filter) == expected
    assert await things.count_documents(filter) == len(expected)
    rows = [row async for row in things.aggregate([{"$match": filter}])]
    assert sorted(row["_id"] for row in rows) == expected


def test_mongomock_alone_would_match_true_and_one() -> None:
    """The defect the wrapping exists for: mongomock's own matcher says true == 1."""
    document = {"v": True}
    mongomock_matcher: Any = filtering._filterer_inst
    assert mongomock_matcher.apply({"v": 1}, document)
    matcher: Any = filtering.filter_applies
    assert not matcher({"v": 1}, document)


def test_bson_equality() -> None:
    assert bson_equal(1, 1.0)
    assert not bson_equal(True, 1)
    assert not bson_equal(0, False)
    assert bson_equal([1, {"a": True}], [1.0, {"a": True}])
    assert not bson_equal({"a": 1, "b": 2}, {"b": 2, "a": 1})  # field order counts
    assert not bson_equal([1], 1)
    assert bson_equal(("w", "n", 1), ("w", "n", 1.0))  # unique keys are compared as tuples
    assert not bson_equal(("w", 1), ("w", True))
    assert not bson_equal(("w", 1), ("w", 1, 2))
    assert bson_equal(ObjectId("0" * 24), ObjectId("0" * 24))
    assert not bson_equal("1", 1)
    assert strict_filter({"name": "x", "n": {"$gt": 1}}) == {"name": "x", "n": {"$gt": 1}}


async def test_upserts_keep_the_plain_values_of_the_filter() -> None:
    things = embedded_client()["t"]["things"]
    await things.update_one({"k": "a", "n": 1, "flag": True}, {"$set": {"x": 1}}, upsert=True)
    stored = await things.find_one({"k": "a"}, {"_id": 0})
    assert stored == {"k": "a", "n": 1, "flag": True, "x": 1}
    assert type(stored["n"]) is int
    assert type(stored["flag"]) is bool


async def test_unique_keys_tell_true_from_one() -> None:
    things = embedded_client()["t"]["things"]
    await things.create_index([("k", 1)], unique=True)
    await things.insert_one({"k": True})
    await things.insert_one({"k": 1})
    with pytest.raises(DuplicateKeyError):
        await things.insert_one({"k": 1.0})


async def test_an_update_past_16_mib_is_refused_and_rolled_back() -> None:
    things = embedded_client()["t"]["things"]
    await things.insert_one({"_id": 1, "a": BIG})
    with pytest.raises(WriteError) as refused:
        await things.update_one({"_id": 1}, {"$set": {"b": BIG}})
    assert refused.value.code == 17419
    stored = await things.find_one({"_id": 1})
    assert stored is not None
    assert "b" not in stored
    with pytest.raises(BulkWriteError) as bulk:
        await things.bulk_write([UpdateOne({"_id": 1}, {"$set": {"c": BIG}})])
    assert bulk.value.details["writeErrors"][0]["code"] == 17419


async def test_an_update_past_16_mib_is_refused_on_a_collection_with_a_unique_index() -> None:
    # mongomock-motor rewrites errors of the unique check into E11000 on such collections: a
    # size refusal must not pass for a duplicate key (a caller would retry, or say EMAIL_TAKEN).
    things = embedded_client()["t"]["things"]
    await things.create_index([("k", 1)], unique=True)
    await things.insert_one({"_id": 1, "k": "a", "a": BIG})
    with pytest.raises(WriteError) as refused:
        await things.update_one({"_id": 1}, {"$set": {"b": BIG}})
    assert refused.value.code == 17419
    with pytest.raises(DocumentTooLarge):
        await things.insert_one({"k": "b", "a": BIG, "b": BIG})
    assert await things.count_documents({}) == 1


async def test_an_insert_past_16_mib_is_refused() -> None:
    things = embedded_client()["t"]["things"]
    with pytest.raises(DocumentTooLarge):
        await things.insert_one({"a": BIG, "b": BIG})
    assert await things.count_documents({}) == 0


async def test_an_insert_is_measured_as_stored_with_its_id() -> None:
    """16 MiB exactly is stored; a byte more is refused, counting the `_id` the insert adds
    (one insert, a batch or an upsert alike)."""
    things = embedded_client()["t"]["things"]
    fits = "x" * (MAX_BSON_SIZE - 30)  # with an ObjectId `_id`: exactly MAX_BSON_SIZE bytes
    document = {"a": fits}
    await things.insert_one(document)
    assert len(BSON.encode(document)) == MAX_BSON_SIZE
    with pytest.raises(DocumentTooLarge):
        await things.insert_one({"a": fits + "x"})
    with pytest.raises(DocumentTooLarge):
        await things.insert_many([{"a": "small"}, {"a": fits + "x"}])
    with pytest.raises(DocumentTooLarge):
        await things.update_one({"k": 1}, {"$set": {"a": fits}}, upsert=True)  # + k: 1
    assert [d["a"][:5] async for d in things.find({}, {"_id": 0})] == ["xxxxx", "small"]


async def test_a_query_past_16_mib_is_refused() -> None:
    things = embedded_client()["t"]["things"]
    await things.insert_one({"a": 1})
    ids = [f"{i:024d}" for i in range(MAX_BSON_SIZE // 30)]  # an $in of ids, as inlined ids grow
    with pytest.raises(DocumentTooLarge):
        await things.count_documents({"_id": {"$in": ids}})
    with pytest.raises(DocumentTooLarge):
        await things.find_one({"_id": {"$in": ids}})
    with pytest.raises(DocumentTooLarge):
        [row async for row in things.aggregate([{"$match": {"_id": {"$nin": ids}}}])]


async def test_an_aggregation_output_document_past_16_mib_is_refused() -> None:
    things = embedded_client()["t"]["things"]
    await things.insert_many([{"a": BIG}, {"a": BIG}])
    with pytest.raises(OperationFailure) as refused:
        [row async for row in things.aggregate([{"$group": {"_id": None, "all": {"$push": "$a"}}}])]
    assert refused.value.code == 10334
    rows = [row async for row in things.aggregate([{"$group": {"_id": None, "n": {"$sum": 1}}}])]
    assert rows == [{"_id": None, "n": 2}]
