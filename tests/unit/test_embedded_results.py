"""A find returns what mongomock's own copy and date handling return
(app/store/embedded/results.py)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import mongomock.collection
import pytest
from bson import Int64, ObjectId
from mongomock.collection import Collection, Cursor

from app.store.embedded import embedded_client, results

AT = datetime(2026, 11, 29, 10, 0, 0, 123000)  # as stored: naive UTC, milliseconds
# mongomock's own steps: the copy of a returned document, then its dates made aware
_copy: Any = mongomock.collection._copy_field
_aware: Any = results._original_aware


def _stored() -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "name": "x",
        "n": 1,
        "big": Int64(5),
        "at": AT,
        "events": {"signup": {"count": 2, "first_at": AT, "last_at": AT}},
        "aliases": ["a", {"b": [AT, 1]}],
        "ordered": OrderedDict(z=AT, a=[{"k": "v"}]),
        "bytes": b"\x00",
        "none": None,
    }


def test_a_returned_document_is_mongomocks_copy_with_aware_dates() -> None:
    stored = _stored()
    made = results.returned(stored)
    reference = _aware(_copy(stored, dict))
    assert made == reference
    assert made["at"] == AT.replace(tzinfo=UTC)
    assert made["at"].utcoffset() is not None
    assert made["aliases"][1]["b"][0].utcoffset() is not None
    assert type(made["ordered"]) is type(reference["ordered"])
    upserted = OrderedDict(stored)  # mongomock builds an upserted document so
    assert results.returned(upserted) == _aware(_copy(upserted, dict))
    assert type(results.returned(upserted)) is type(_aware(_copy(upserted, dict)))
    made["events"]["signup"]["count"] = 3
    made["aliases"][1]["b"].append(2)
    assert stored == _stored() | {"_id": stored["_id"]}  # the stored document is untouched


def test_dates_made_aware_once_are_the_same_dates() -> None:
    """Aware dates are kept by the stored date they come from: equal dates that differ (a fold,
    an offset) are not mixed up, and a date returned twice is equal both times."""
    paris = timezone(timedelta(hours=1))
    dates = [
        AT,
        AT.replace(fold=1),
        datetime(2026, 11, 29, 11, 0, tzinfo=paris),
        datetime(2026, 11, 29, 10, 0, tzinfo=UTC),  # the same instant as the one above
        AT,
    ]
    for _ in range(2):
        made = results.returned({"dates": dates})
        assert repr(made) == repr(_aware(_copy({"dates": dates}, dict)))


async def test_finds_return_what_mongomocks_own_cursor_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same finds with this module's cursor and, restored, mongomock's: the same results."""
    things = embedded_client()["t"]["things"]
    await things.insert_many(
        [
            {"k": i % 3, "at": datetime(2026, 11, i + 1, tzinfo=UTC), "tags": [str(i)]}
            for i in range(12)
        ]
    )
    await things.insert_one({"k": 9, "nested": {"at": AT, "list": [{"at": AT}]}})

    async def finds() -> list[Any]:
        found: list[Any] = []
        projections: list[Any] = [
            None,
            {"at": 1},
            {"tags": 1, "_id": 0},
            {"k": True, "_id": 1, "nested": 1},
            {"_id": 1},
            {"missing": 1},
            {"_id": 0, "tags": 0},
            {"nested.at": 1},
            {"k": 1, "tags": 0},
        ]
        for projection in projections:
            try:
                found.append([d async for d in things.find({}, projection)])
            except ValueError as refused:  # mongomock: no mixing of inclusion and exclusion
                found.append(str(refused))
        found.append([d async for d in things.find({"k": 1}).sort("at", -1)])
        found.append([d async for d in things.find({}).sort("at", 1).skip(3).limit(4)])
        found.append([d async for d in things.find({}).skip(20)])
        found.append([d async for d in things.find({"k": {"$in": [0, 9]}}).limit(-2)])
        found.append([d async for d in things.find({"k": 5})])
        found.append(await things.find_one({"k": 9}))
        found.append(await things.find_one({"k": 2}, {"tags": 1}))
        return found

    ours = await finds()
    monkeypatch.setattr(Collection, "_copy_only_fields", results._original_copy_only_fields)
    monkeypatch.setattr(Cursor, "_compute_results", _mongomocks_compute_results)
    monkeypatch.setattr(Cursor, "__next__", results._original_next)
    monkeypatch.setattr(Cursor, "next", results._original_next)
    theirs = await finds()
    assert ours == theirs
    assert repr(ours) == repr(theirs)  # fields in the same order too
    assert ours[9]
    assert all(d["at"].utcoffset() is not None for d in ours[9])
    assert ours[1][0]["at"].utcoffset() is not None
    assert ours[-2]["nested"]["list"][0]["at"].utcoffset() is not None


def _mongomocks_compute_results(self: Cursor, with_limit_and_skip: bool = False) -> Any:
    """mongomock 4.3's `Cursor._compute_results` (which this module replaces), verbatim."""
    if not self._results or self._factory_last_generated_results != self._factory:
        if self.collection.codec_options.tz_aware:
            found = [_aware(x) for x in self._factory()]
        else:
            found = list(self._factory())
        self._factory_last_generated_results = self._factory
        self._results = found
    if with_limit_and_skip:
        found = self._results[self._skip :]
        if self._limit:
            found = found[: abs(self._limit)]
    else:
        found = self._results
    return found


async def test_returned_documents_are_copies() -> None:
    things = embedded_client()["t"]["things"]
    await things.insert_one({"_id": 1, "list": [1], "doc": {"at": AT}})
    found = [d async for d in things.find({})]
    found[0]["list"].append(2)
    found[0]["doc"]["at"] = None
    assert await things.find_one({"_id": 1}) == {
        "_id": 1,
        "list": [1],
        "doc": {"at": AT.replace(tzinfo=UTC)},
    }
