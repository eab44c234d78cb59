"""The store adapter (app/store/client.py) over the embedded store."""

from __future__ import annotations

from app.metrics import Metrics
from app.settings import Settings
from app.store.client import open_store


async def test_insert_new_reports_what_a_unique_index_refused_and_keeps_the_rest() -> None:
    store = await open_store(Settings(), Metrics())
    keys = store.collection("keys")
    await keys.create_index([("ws", 1), ("key", 1)], unique=True)
    assert await keys.insert_new([{"ws": "w", "key": "a"}]) == set()
    refused = await keys.insert_new(
        [{"ws": "w", "key": "b"}, {"ws": "w", "key": "a"}, {"ws": "v", "key": "a"}]
    )
    assert refused == {1}
    found = await keys.find({}, sort=[("ws", 1), ("key", 1)], limit=0)
    assert [(doc["ws"], doc["key"]) for doc in found] == [("v", "a"), ("w", "a"), ("w", "b")]
    assert await keys.insert_new([]) == set()
