"""Copies of stored documents are what `copy.deepcopy` makes (app/store/embedded/copies.py)."""

from __future__ import annotations

import copy
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import Decimal128, Int64, ObjectId
from pymongo.errors import DuplicateKeyError

from app.store.embedded import copies, embedded_client


def _document() -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "name": "x",
        "n": 1,
        "f": 1.5,
        "flag": True,
        "none": None,
        "at": datetime(2026, 11, 28, 10, 0),
        "bytes": b"\x00",
        "big": Int64(5),
        "dec": Decimal128("1.5"),
        "events": {"signup": {"count": 2, "first_at": datetime(2026, 1, 1, tzinfo=UTC)}},
        "aliases": ["a", {"b": [1, 2]}],
        "ordered": OrderedDict(z=1, a=[{"k": "v"}]),
    }


def test_a_copy_equals_deepcopy_and_shares_nothing_mutable() -> None:
    original = _document()
    made, reference = copies.deepcopy(original), copy.deepcopy(original)
    assert made == reference
    assert type(made["ordered"]) is OrderedDict
    assert list(made["ordered"]) == ["z", "a"]
    made["events"]["signup"]["count"] = 3
    made["aliases"][1]["b"].append(3)
    made["ordered"]["a"][0]["k"] = "w"
    assert original == reference  # the original is untouched
    assert copies.shallow_copy([1]) == [1]
    assert copies.shallow_copy([1]) is not copies.shallow_copy([1])


async def test_a_refused_update_leaves_the_document_as_it_was() -> None:
    """mongomock rolls a refused update back from its snapshot: the snapshot is a full copy."""
    contacts = embedded_client()["t"]["contacts"]
    await contacts.create_index([("email", 1)], unique=True)
    await contacts.insert_one({"_id": "a", "email": "a@x", "events": {"e": {"count": 1}}})
    await contacts.insert_one({"_id": "b", "email": "b@x", "events": {"e": {"count": 1}}})
    before = await contacts.find_one({"_id": "b"})
    with pytest.raises(DuplicateKeyError):
        await contacts.update_one(
            {"_id": "b"}, {"$set": {"email": "a@x"}, "$inc": {"events.e.count": 1}}
        )
    assert await contacts.find_one({"_id": "b"}) == before


async def test_documents_returned_are_copies() -> None:
    things = embedded_client()["t"]["things"]
    await things.update_one({"k": "a"}, {"$set": {"list": [1], "doc": {"n": 1}}}, upsert=True)
    found = await things.find_one({"k": "a"})
    assert found is not None
    found["list"].append(2)
    found["doc"]["n"] = 2
    assert await things.find_one({"k": "a"}, {"_id": 0}) == {"k": "a", "list": [1], "doc": {"n": 1}}


async def test_filters_reach_mongomock_as_they_are_and_stay_unchanged() -> None:
    things = embedded_client()["t"]["things"]
    await things.insert_many([{"k": "a", "n": 1}, {"k": "b", "n": 2}])
    query: dict[str, Any] = {"k": {"$in": ["a", "b"]}, "n": {"$gt": 1}}
    assert [d["k"] async for d in things.find(query)] == ["b"]
    assert query == {"k": {"$in": ["a", "b"]}, "n": {"$gt": 1}}
