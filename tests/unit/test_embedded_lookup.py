"""`$lookup` with localField/foreignField and a pipeline on the embedded store means what it
means on MongoDB 5.0+ (app/store/embedded/lookup.py)."""

from __future__ import annotations

from typing import Any

import pytest

from app.store.embedded import embedded_client


async def rows(collection: Any, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cursor = collection.aggregate(pipeline)
    return [row async for row in cursor]


async def test_a_correlated_lookup_runs_its_pipeline_over_each_documents_matches() -> None:
    db = embedded_client()["t"]
    await db.people.insert_many([{"_id": "a"}, {"_id": "b"}, {"_id": "c"}])
    await db.events.insert_many(
        [{"who": who, "n": n, "ws": "w"} for who, n in [("a", 1), ("a", 2), ("a", 3), ("b", 4)]]
        + [{"who": "a", "n": 9, "ws": "other"}]
    )
    lookup = {
        "from": "events",
        "localField": "_id",
        "foreignField": "who",
        "pipeline": [{"$match": {"ws": "w"}}, {"$sort": {"n": -1}}, {"$limit": 2}],
        "as": "recent",
    }
    found = await rows(db.people, [{"$lookup": lookup}, {"$sort": {"_id": 1}}])
    assert [[e["n"] for e in p["recent"]] for p in found] == [[3, 2], [4], []]
    counted = {**lookup, "pipeline": [{"$match": {"ws": "w"}}, {"$limit": 2}, {"$count": "n"}]}
    found = await rows(db.people, [{"$lookup": counted}, {"$sort": {"_id": 1}}])
    assert [p["recent"] for p in found] == [[{"n": 2}], [{"n": 1}], []]
    plain = {k: v for k, v in lookup.items() if k != "pipeline"}
    found = await rows(db.people, [{"$match": {"_id": "b"}}, {"$lookup": plain}])
    assert [e["n"] for e in found[0]["recent"]] == [4]


async def test_a_lookup_with_let_is_refused_rather_than_misread() -> None:
    db = embedded_client()["t2"]
    await db.people.insert_one({"_id": "a"})
    with pytest.raises(NotImplementedError):
        await rows(
            db.people,
            [{"$lookup": {"from": "events", "let": {"x": "$_id"}, "pipeline": [], "as": "e"}}],
        )
