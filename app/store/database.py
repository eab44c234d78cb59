"""The database: `Store` (its collections, transactions, health and lifetime) and `open_store`,
which opens PyMongo's AsyncMongoClient on a configured MongoDB or the embedded mongomock-motor
client."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import ReadPreference
from pymongo.errors import DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from app.metrics import Metrics
from app.settings import Settings
from app.store import client as adapter
from app.store.client import Collection
from app.store.embedded.transactions import EmbeddedTransaction

T = TypeVar("T")
log = logging.getLogger(__name__)

_DUPLICATE_RETRIES = 3


class Store:
    """The database: its collections, transactions, health and lifetime."""

    def __init__(
        self,
        *,
        client: Any,
        database: str,
        metrics: Metrics,
        embedded: bool,
        transactions: bool,
        shared: bool,
        owns_client: bool = True,
    ) -> None:
        self._client = client
        self._db = client[database]
        self._metrics = metrics
        self.embedded = embedded
        self.transactions = transactions
        # Other app instances may use this database too (always on MongoDB): what one instance
        # keeps in memory (live feeds, rate counts) must then also go through the store.
        self.shared = shared
        self._owns_client = owns_client
        self._collections: dict[str, Collection] = {}

    def collection(self, name: str) -> Collection:
        if name not in self._collections:
            self._collections[name] = Collection(self._db[name], name, self._metrics)
        return self._collections[name]

    async def ping(self) -> None:
        self._metrics.store_commands.labels(collection="", op="ping").inc()
        await self._db.command("ping")

    @staticmethod
    def in_session() -> bool:
        """True inside `in_transaction` (on a replica set or the embedded store): a refused
        write aborts the transaction there, so code decides before writing."""
        return adapter.in_session()

    async def in_transaction(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` so that all its writes land together.

        On a replica set: one transaction (primary reads, snapshot read concern, majority
        writes), retried on transient errors. On the embedded store, which lives in one process
        and keeps nothing across a crash, `work` orders its writes so that a failure leaves
        nothing half-done that a retry cannot complete; a command that fails aborts the
        transaction as on the server (`EmbeddedTransaction`), and the error reaches the caller.
        """
        if self.in_session():
            return await work()
        if self.embedded:
            return await self._in_embedded_transaction(work)
        if not self.transactions:
            return await work()

        async def callback(active: Any) -> T:
            with adapter.joining(session=active):
                return await work()

        for attempt in range(_DUPLICATE_RETRIES):
            self._metrics.store_commands.labels(collection="", op="transaction").inc()
            async with self._client.start_session() as session:
                try:
                    result: T = await session.with_transaction(
                        callback,
                        read_concern=ReadConcern("snapshot"),
                        write_concern=WriteConcern("majority"),
                        read_preference=ReadPreference.PRIMARY,
                    )
                    return result
                except DuplicateKeyError:
                    # A concurrent transaction committed the same new document (a contact,
                    # say) after ours began: a new transaction sees it and updates it instead.
                    if attempt == _DUPLICATE_RETRIES - 1:
                        raise
        raise AssertionError("unreachable")

    async def _in_embedded_transaction(self, work: Callable[[], Awaitable[T]]) -> T:
        transaction = EmbeddedTransaction()
        with adapter.joining(transaction=transaction):
            result = await work()
            transaction.check()  # the commit: refused when a command failed and work went on
            return result

    async def drop(self) -> None:
        await self._client.drop_database(self._db.name)

    async def close(self) -> None:
        if self._owns_client:
            await adapter.resolve(self._client.close())


def shared_embedded_client() -> Any:
    """An embedded store that several app instances of one process can open together (tests
    run two apps over one store with it: `create_app(store_client=...)`)."""
    from app.store.embedded import embedded_client

    return embedded_client()


async def open_store(settings: Settings, metrics: Metrics, *, client: Any = None) -> Store:
    """The configured store. `client`: an open embedded client shared with other app instances
    (`shared_embedded_client`), which its owner closes."""
    if settings.mongodb_uri is None:
        from app.store.embedded import embedded_client

        return Store(
            client=client or embedded_client(),
            database=settings.mongodb_database,
            metrics=metrics,
            embedded=True,
            transactions=False,
            shared=client is not None,
            owns_client=client is None,
        )
    if client is not None:
        raise ValueError("a shared client is for the embedded store; MongoDB is shared anyway")
    from pymongo import AsyncMongoClient

    client = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(),
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
    )
    try:
        hello = await client.admin.command("hello")
    except BaseException:
        await client.close()
        raise
    replica = "setName" in hello or hello.get("msg") == "isdbgrid"
    if not replica and not settings.mongodb_allow_standalone:
        await client.close()
        raise RuntimeError(
            "TALLY_MONGODB_URI points at a standalone MongoDB server. Tally writes each event "
            "in a transaction, which needs a replica set (a single-node one is fine). Set "
            "TALLY_MONGODB_ALLOW_STANDALONE=1 to run without transactions anyway."
        )
    if not replica:
        log.warning("Standalone MongoDB: events are written without transactions.")
    return Store(
        client=client,
        database=settings.mongodb_database,
        metrics=metrics,
        embedded=False,
        transactions=replica,
        shared=True,
    )
