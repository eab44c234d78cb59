"""The store adapter (app/store/client.py, app/store/database.py) over the embedded store."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from pymongo import ReadPreference, UpdateOne
from pymongo.errors import (
    BulkWriteError,
    DuplicateKeyError,
    OperationFailure,
)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from app.metrics import Metrics
from app.settings import Settings
from app.store.client import Collection
from app.store.database import Store, open_store


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
    assert await keys.insert_new([{"ws": "v", "key": "a"}]) == {0}  # one: insert_one
    assert await keys.insert_new([{"ws": "v", "key": "c"}]) == set()
    assert len(await keys.find({}, limit=0)) == 4


class _Refusing:
    """A driver collection whose writes fail with this BulkWriteError (shapes a server sends)."""

    def __init__(self, details: dict[str, Any]) -> None:
        self.details = details
        self.calls = 0

    async def insert_many(self, documents: Any, **_: Any) -> None:
        self.calls += 1
        raise BulkWriteError(self.details)

    async def insert_one(self, document: Any, **_: Any) -> None:
        """What a server answers when the one document of a batch is refused."""
        self.calls += 1
        [error] = self.details["writeErrors"]
        raise DuplicateKeyError(error["errmsg"], error["code"], error)

    async def bulk_write(self, requests: Any, **_: Any) -> None:
        self.calls += 1
        raise BulkWriteError(self.details)


_DUPLICATE = {"index": 0, "code": 11000, "errmsg": "E11000 duplicate key error"}
_WRITE_CONCERN = {"code": 64, "errmsg": "waiting for replication timed out"}


@pytest.mark.parametrize(
    "details",
    [
        {"writeErrors": [], "writeConcernErrors": [_WRITE_CONCERN], "upserted": []},
        {"writeConcernErrors": [_WRITE_CONCERN]},
        {"writeErrors": [_DUPLICATE], "writeConcernErrors": [_WRITE_CONCERN], "upserted": []},
        {"writeErrors": [_DUPLICATE, {"index": 1, "code": 2, "errmsg": "bad"}], "upserted": []},
    ],
)
async def test_write_errors_other_than_duplicates_reach_the_caller(details: dict[str, Any]) -> None:
    raw = _Refusing(details)
    keys = Collection(raw, "keys", Metrics())
    with pytest.raises(BulkWriteError):
        await keys.insert_new([{"k": 1}, {"k": 2}])
    with pytest.raises(BulkWriteError):
        await keys.bulk_upsert([UpdateOne({"k": 1}, {"$inc": {"n": 1}}, upsert=True)])
    assert raw.calls == 2  # nothing sent again


async def test_a_duplicate_in_a_transaction_is_never_retried_inside_it() -> None:
    store = await open_store(Settings(), Metrics())
    raw = _Refusing({"writeErrors": [_DUPLICATE], "upserted": []})
    summaries = Collection(raw, "summaries", Metrics())

    async def work() -> None:
        await summaries.bulk_upsert([UpdateOne({"k": 1}, {"$inc": {"n": 1}}, upsert=True)])

    with pytest.raises(DuplicateKeyError):  # Store.in_transaction runs it anew on a server
        await store.in_transaction(work)
    assert raw.calls == 1
    with pytest.raises(DuplicateKeyError):
        await store.in_transaction(lambda: summaries.insert_new([{"k": 1}]))
    assert raw.calls == 2


async def _store_with_unique_keys() -> Store:
    store = await open_store(Settings(), Metrics())
    await store.collection("keys").create_index([("key", 1)], unique=True)
    await store.collection("keys").insert_one({"key": "a"})
    return store


async def test_a_failed_write_aborts_the_embedded_transaction() -> None:
    store = await _store_with_unique_keys()
    keys = store.collection("keys")

    async def swallows_and_goes_on() -> None:
        with contextlib.suppress(DuplicateKeyError):
            await keys.insert_one({"key": "a"})
        await keys.insert_one({"key": "b"})

    with pytest.raises(OperationFailure) as aborted:
        await store.in_transaction(swallows_and_goes_on)
    assert aborted.value.code == 251  # NoSuchTransaction, as on a replica set
    assert aborted.value.has_error_label("TransientTransactionError")

    async def swallows_and_stops() -> str:
        with contextlib.suppress(DuplicateKeyError):
            await keys.insert_one({"key": "a"})
        return "done"

    with pytest.raises(OperationFailure) as at_commit:
        await store.in_transaction(swallows_and_stops)
    assert at_commit.value.code == 251
    assert [doc["key"] for doc in await keys.find({}, sort=[("key", 1)], limit=0)] == ["a"]


async def test_the_first_error_reaches_the_caller_and_outside_nothing_is_aborted() -> None:
    store = await _store_with_unique_keys()
    keys = store.collection("keys")

    async def refused() -> None:
        await keys.insert_one({"key": "b"})
        await keys.insert_one({"key": "a"})

    with pytest.raises(DuplicateKeyError):
        await store.in_transaction(refused)
    # No rollback on the embedded store: the first write stays (writes are ordered so that a
    # repeat completes the work).
    assert await keys.count({"key": "b"}) == 1
    with contextlib.suppress(DuplicateKeyError):
        await keys.insert_one({"key": "a"})
    await keys.insert_one({"key": "c"})  # no transaction: nothing to abort
    assert await store.in_transaction(lambda: keys.count({})) == 3
    assert not Store.in_session()


class _Session:
    def __init__(self, transactions: list[dict[str, Any]]) -> None:
        self.transactions = transactions

    async def __aenter__(self) -> _Session:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def with_transaction(self, callback: Any, **options: Any) -> Any:
        self.transactions.append(options)
        return await callback(self)


class _ReplicaSet:
    """Just enough of AsyncMongoClient for Store.in_transaction."""

    def __init__(self) -> None:
        self.transactions: list[dict[str, Any]] = []

    def __getitem__(self, name: str) -> Any:
        return {}

    def start_session(self) -> _Session:
        return _Session(self.transactions)


def _replica_store(client: _ReplicaSet) -> Store:
    return Store(
        client=client,
        database="t",
        metrics=Metrics(),
        embedded=False,
        transactions=True,
        shared=True,
    )


async def test_transactions_read_the_primary_at_a_snapshot_and_write_to_a_majority() -> None:
    client = _ReplicaSet()

    async def work() -> bool:
        return Store.in_session()

    assert await _replica_store(client).in_transaction(work) is True
    [options] = client.transactions
    assert options["read_preference"] == ReadPreference.PRIMARY
    assert options["read_concern"] == ReadConcern("snapshot")
    assert options["write_concern"] == WriteConcern("majority")


async def test_a_duplicate_runs_the_work_again_in_a_new_transaction_a_few_times() -> None:
    client = _ReplicaSet()
    runs = 0

    async def loses_once() -> str:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise DuplicateKeyError("E11000", 11000)
        return "done"

    assert await _replica_store(client).in_transaction(loses_once) == "done"
    assert len(client.transactions) == 2

    async def always_loses() -> None:
        raise DuplicateKeyError("E11000", 11000)

    with pytest.raises(DuplicateKeyError):
        await _replica_store(client).in_transaction(always_loses)
    assert len(client.transactions) == 2 + 3
