"""Faster writes keep mongomock's checks and MongoDB's dates (app/store/embedded/writes.py)."""

from __future__ import annotations

import inspect
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from bson import ObjectId
from bson.errors import InvalidDocument
from mongomock.collection import BulkOperationBuilder
from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from app.store.embedded import embedded_client, writes


async def test_bulk_updates_work() -> None:
    summaries = embedded_client()["t"]["summaries"]
    result = await summaries.bulk_write(
        [
            UpdateOne({"k": "a"}, {"$inc": {"n": 2}}, upsert=True),
            UpdateOne({"k": "a"}, {"$inc": {"n": 3}}, upsert=True),
            UpdateOne({"k": "b"}, {"$inc": {"n": 1}}, upsert=True),
        ],
        ordered=False,
    )
    assert result.upserted_count == 2
    assert [(d["k"], d["n"]) async for d in summaries.find({}, {"_id": 0}).sort("k")] == [
        ("a", 5),
        ("b", 1),
    ]


async def test_bulk_upserts_report_the_index_of_the_operation_that_created() -> None:
    """As the server reports them (mongomock numbered the created documents 0, 1, 2...)."""
    summaries = embedded_client()["t"]["summaries"]
    await summaries.create_index([("k", 1)], unique=True)
    await summaries.insert_many([{"k": "a", "n": 1}, {"k": "c", "n": 1}])
    result = await summaries.bulk_write(
        [
            UpdateOne({"k": "a"}, {"$inc": {"n": 1}}, upsert=True),
            UpdateOne({"k": "b"}, {"$inc": {"n": 1}}, upsert=True),
            UpdateOne({"k": "c"}, {"$inc": {"n": 1}}, upsert=True),
            UpdateOne({"k": "d"}, {"$inc": {"n": 1}}, upsert=True),
        ],
        ordered=False,
    )
    created = {d["k"]: d["_id"] async for d in summaries.find({"k": {"$in": ["b", "d"]}})}
    assert result.upserted_ids == {1: created["b"], 3: created["d"]}
    with pytest.raises(BulkWriteError) as refused:
        await summaries.bulk_write(
            [
                UpdateOne({"k": "a"}, {"$set": {"k": "b"}}),  # refused: b exists
                UpdateOne({"k": "e"}, {"$inc": {"n": 1}}, upsert=True),
            ],
            ordered=False,
        )
    [upserted] = refused.value.details["upserted"]
    assert upserted["index"] == 1
    assert [error["index"] for error in refused.value.details["writeErrors"]] == [0]


def test_mongomock_still_needs_the_bulk_sort_fix() -> None:
    original = inspect.unwrap(BulkOperationBuilder.add_update)
    assert "sort" not in inspect.signature(original).parameters, (
        "mongomock's bulk builder takes sort= now: drop without_sort from app/store/embedded/writes.py"
    )


async def test_dates_are_stored_as_mongodb_does_wherever_they_are() -> None:
    things = embedded_client()["t"]["things"]
    paris = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 28, 11, 0, 0, 123456, tzinfo=paris)
    stored = datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC)
    await things.insert_one(
        {
            "_id": "a",
            "at": at,
            "nested": {"at": at, "deeper": OrderedDict(at=at)},
            "list": [at, {"at": at}],
            "plain": ["x", 1, 2.5, True, None, ObjectId("0" * 24)],
        }
    )
    found = await things.find_one({"_id": "a"})
    assert found is not None
    assert found["at"] == stored
    assert found["at"].tzinfo is not None
    assert found["nested"] == {"at": stored, "deeper": {"at": stored}}
    assert found["list"] == [stored, {"at": stored}]
    assert found["plain"] == ["x", 1, 2.5, True, None, ObjectId("0" * 24)]
    assert await things.count_documents({"nested.at": {"$lt": at}}) == 0
    assert await things.count_documents({"nested.at": {"$lte": at}}) == 1


async def test_a_date_written_several_times_is_stored_the_same_each_time() -> None:
    """Stored forms are kept by the UTC date they come from (an event's dates repeat): a date
    in a fold, or of another offset, is never mixed up with an equal one."""
    things = embedded_client()["t"]["things"]
    at = datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=UTC)
    paris = at.astimezone(timezone(timedelta(hours=1)))  # the same instant
    for n, date in enumerate([at, at, at.replace(fold=1), paris, at]):
        await things.insert_one({"_id": n, "at": date, "nested": {"at": date}})
    raw = things._AsyncMongoMockCollection__collection
    stored = [raw._store._documents[n] for n in range(5)]
    reference: Any = writes._original_patch_datetimes
    for n, date in enumerate([at, at, at.replace(fold=1), paris, at]):
        assert repr(stored[n]["at"]) == repr(reference(date))
        assert repr(stored[n]["nested"]["at"]) == repr(reference(date))


async def test_inserts_refuse_what_mongodb_refuses_and_keep_the_rest() -> None:
    things = embedded_client()["t"]["things"]
    await things.create_index([("ws", 1), ("key", 1)], unique=True)
    document: dict[str, Any] = {"ws": "w", "key": "a"}
    await things.insert_one(document)
    assert isinstance(document["_id"], ObjectId)  # filled in, as PyMongo does
    with pytest.raises(DuplicateKeyError):
        await things.insert_one({"_id": document["_id"], "ws": "w", "key": "other"})
    with pytest.raises(DuplicateKeyError):
        await things.insert_one({"ws": "w", "key": "a"})
    with pytest.raises(InvalidDocument):
        await things.insert_one({"$set": 1})
    with pytest.raises(InvalidDocument):
        await things.insert_one({"ws": "w", "key": "b", "nested": {"a\0b": 1}})
    with pytest.raises(InvalidDocument):
        await things.insert_one({"ws": "w", "key": "c", "value": object()})
    with pytest.raises(BulkWriteError) as refused:
        await things.insert_many(
            [{"ws": "w", "key": "d"}, {"ws": "w", "key": "a"}, {"ws": "w", "key": "e"}],
            ordered=False,
        )
    assert [error["index"] for error in refused.value.details["writeErrors"]] == [1]
    keys = [doc["key"] async for doc in things.find({}).sort("key")]
    assert keys == ["a", "d", "e"]
    stored = await things.find_one({"key": "d"})
    assert stored is not None
    stored["key"] = "changed"  # a copy: the store keeps its own
    assert await things.count_documents({"key": "d"}) == 1


async def test_find_one_and_update_returns_what_mongomocks_own_does() -> None:
    """The lean path (return the document after, no projection or sort) against mongomock's
    own `_find_and_modify`, on twin collections: the same results and the same documents."""
    client = embedded_client()
    paris = timezone(timedelta(hours=1))
    twins = []
    for name in ("lean", "own"):
        collection = client["t"][name]
        await collection.create_index([("email", 1)], unique=True)
        await collection.insert_many(
            [
                {"_id": 1, "k": "a", "email": "a@x", "n": 1},
                {"_id": 2, "k": "a", "email": "b@x", "n": 1},
                {"_id": 3, "k": "b", "aliases": ["z"]},
                {"_id": 4, "k": "c", "email": "d@x", "due": datetime(2026, 1, 1, tzinfo=UTC)},
            ]
        )
        twins.append(collection._AsyncMongoMockCollection__collection)
    calls: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
        ({"k": "a"}, {"$inc": {"n": 1}}, False),  # two match: the first is updated
        ({"$or": [{"k": "z"}, {"aliases": "z"}]}, {"$set": {"seen": True}}, False),
        ({"k": "none"}, {"$set": {"x": 1}}, False),  # nothing, no upsert: None
        ({"due": {"$lte": datetime(2026, 2, 1, tzinfo=paris)}}, {"$set": {"claimed": 1}}, False),
        ({"k": "new"}, {"$inc": {"n": 5}, "$setOnInsert": {"role": "LEAD"}}, True),
        ({"_id": 2}, {"$set": {"email": "a@x"}}, False),  # refused by the unique index
    ]
    for query, update, upsert in calls:
        outcomes = []
        functions: tuple[Any, Any] = (writes._find_and_modify, writes._original_find_and_modify)
        for twin, function in zip(twins, functions, strict=True):
            try:
                found = function(twin, query, None, update, upsert, None, ReturnDocument.AFTER)
                outcomes.append(
                    {k: v for k, v in (found or {}).items() if k != "_id" or not upsert}
                )
            except DuplicateKeyError as e:
                outcomes.append({"refused": e.code})
        assert outcomes[0] == outcomes[1], (query, outcomes)
    lean, own = ([{k: v for k, v in d.items() if k != "_id"} for d in t.find()] for t in twins)
    assert lean == own


@pytest.mark.parametrize(("ordered", "inserted"), [(True, ["a"]), (False, ["a", "c"])])
async def test_insert_many_reports_refused_documents_as_the_server_does(
    ordered: bool, inserted: list[str]
) -> None:
    """Each refusal at its index; an ordered insert stops at the first, an unordered one goes on."""
    keys = embedded_client()["t"]["keys"]
    await keys.create_index([("ws", 1), ("key", 1)], unique=True)
    await keys.insert_one({"ws": "w", "key": "b"})
    documents = [{"ws": "w", "key": k} for k in ("a", "b", "c", "a")]
    with pytest.raises(BulkWriteError) as refused:
        await keys.insert_many(documents, ordered=ordered)
    errors = refused.value.details["writeErrors"]
    assert [(e["index"], e["code"]) for e in errors] == [(1, 11000), (3, 11000)][
        : 1 if ordered else 2
    ]
    assert refused.value.details["nInserted"] == len(inserted)
    found = [d["key"] async for d in keys.find({"ws": "w", "key": {"$ne": "b"}}).sort("key")]
    assert found == inserted
    assert all("_id" in document for document in documents[: len(inserted) + 1])
