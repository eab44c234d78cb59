"""The thin adapter over a collection of the database driver: PyMongo's async client or the
embedded mongomock.

Everything else in `app/store` goes through `Collection` (from `database.Store`), which counts
each call in `tally_store_commands_total{collection,op}` and hides the differences between the
two clients (guide §2): results are awaited only when they are awaitable, cursors are bounded
with `.limit()`. Each call joins the transaction its task runs in (`joining`).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure
from pymongo.results import BulkWriteResult, InsertManyResult, UpdateResult

from app.metrics import Metrics
from app.store.embedded.shapes import Shape, pipeline_shapes, shape_of
from app.store.embedded.transactions import EmbeddedTransaction
from app.store.refusals import as_duplicate, duplicates_only

Doc = dict[str, Any]

# The session of the transaction the current task runs in, if any (real MongoDB only).
_session: ContextVar[Any | None] = ContextVar("tally_store_session", default=None)
# The transaction the current task runs in on the embedded store, if any.
_embedded: ContextVar[EmbeddedTransaction | None] = ContextVar("tally_embedded", default=None)
# Who hears the shape of every query (the test suite; None in production).
_recorder: Callable[[Shape], None] | None = None


def record_shapes(recorder: Callable[[Shape], None] | None) -> None:
    """Hand the shape of every query a store function sends to `recorder` (tests only)."""
    global _recorder
    _recorder = recorder


async def resolve(value: Any) -> Any:
    """The result of a driver call that is a coroutine on one client and not on another."""
    return await value if inspect.isawaitable(value) else value


def in_session() -> bool:
    """True inside `Store.in_transaction` (on a replica set or the embedded store): a refused
    write aborts the transaction there, so code decides before writing."""
    return _session.get() is not None or _embedded.get() is not None


@contextmanager
def joining(
    *, session: Any | None = None, transaction: EmbeddedTransaction | None = None
) -> Iterator[None]:
    """Every collection call the current task makes inside joins the MongoDB `session`, or the
    embedded store's `transaction`."""
    tokens = (_session.set(session), _embedded.set(transaction))
    try:
        yield
    finally:
        _session.reset(tokens[0])
        _embedded.reset(tokens[1])


def _with_session(kwargs: dict[str, Any]) -> dict[str, Any]:
    session = _session.get()
    if session is not None:
        kwargs["session"] = session
    return kwargs


def _record(shape: Shape | None) -> None:
    if _recorder is not None and shape is not None:
        _recorder(shape)


class _Command:
    """The span of one driver call: its time goes to `seconds`; a failure aborts the embedded
    transaction it ran in. (A class: a generator context manager costs more than the call.)"""

    __slots__ = ("seconds", "started", "transaction")

    def __init__(self, seconds: Any, transaction: EmbeddedTransaction | None) -> None:
        self.seconds = seconds
        self.transaction = transaction
        self.started = 0.0

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        self.seconds.inc(time.perf_counter() - self.started)
        if self.transaction is not None and isinstance(error, OperationFailure):
            self.transaction.fail(error)


class Collection:
    """One collection; every method is one call to the driver, counted."""

    def __init__(self, raw: Any, name: str, metrics: Metrics) -> None:
        self._raw = raw
        self.name = name
        self._metrics = metrics
        self._counters: dict[str, tuple[Any, Any]] = {}

    def _command(
        self,
        op: str,
        filter: Mapping[str, Any] | None = None,
        sort: Sequence[tuple[str, int]] | None = None,
    ) -> _Command:
        """Count one call to the driver, and the time spent in it; record the query's shape
        (tests); inside an embedded transaction, refuse when it is aborted, and abort it when
        the call fails."""
        if _recorder is not None and filter is not None:
            _record(shape_of(self.name, op, filter, sort))
        transaction = _embedded.get()
        if transaction is not None:
            transaction.check()
        counters = self._counters.get(op)
        if counters is None:  # the metrics' children, looked up once per operation
            labels = {"collection": self.name, "op": op}
            counters = self._counters[op] = (
                self._metrics.store_commands.labels(**labels),
                self._metrics.store_seconds.labels(**labels),
            )
        counters[0].inc()
        return _Command(counters[1], transaction)

    async def find_one(
        self, filter: Mapping[str, Any], *, projection: Mapping[str, Any] | None = None
    ) -> Doc | None:
        with self._command("find", filter):
            result: Doc | None = await self._raw.find_one(filter, projection, **_with_session({}))
        return result

    async def find(
        self,
        filter: Mapping[str, Any],
        *,
        sort: Sequence[tuple[str, int]] | None = None,
        limit: int,
        projection: Mapping[str, Any] | None = None,
    ) -> list[Doc]:
        """At most `limit` documents (0 = no limit, for callers that know the set is small)."""
        with self._command("find", filter, sort):
            cursor = self._raw.find(filter, projection, **_with_session({}))
            if sort:
                cursor = cursor.sort(list(sort))
            if limit:
                cursor = cursor.limit(limit)
            # bounded by the limit above: the length argument is what mongomock-motor ignores
            found: list[Doc] = await cursor.to_list()
            return found

    async def stream(
        self, filter: Mapping[str, Any], *, sort: Sequence[tuple[str, int]], batch_size: int
    ) -> AsyncIterator[Doc]:
        """Every matching document, fetched `batch_size` at a time (for exports; not timed)."""
        with self._command("find", filter, sort):
            cursor = self._raw.find(filter, **_with_session({})).sort(list(sort))
        async for doc in cursor.batch_size(batch_size):
            yield doc

    async def insert_one(self, document: Doc) -> None:
        with self._command("insert", {}):
            await self._raw.insert_one(document, **_with_session({}))

    async def insert_many(self, documents: list[Doc], *, ordered: bool) -> InsertManyResult:
        with self._command("insert", {}):
            result: InsertManyResult = await self._raw.insert_many(
                documents, ordered=ordered, **_with_session({})
            )
        return result

    async def insert_new(self, documents: list[Doc]) -> set[int]:
        """Insert each document (unordered); the indexes of those a unique index refused.

        Inside a transaction a refused write aborts the transaction: DuplicateKeyError then goes
        up to `Store.in_transaction`, which runs the work again in a new one.
        """
        if not documents:
            return set()
        if len(documents) == 1:  # the same `insert` command, without the bulk machinery
            try:
                await self.insert_one(documents[0])
            except DuplicateKeyError:
                if in_session():
                    raise
                return {0}
            return set()
        try:
            await self.insert_many(documents, ordered=False)
        except BulkWriteError as e:
            refused = duplicates_only(e)
            if refused is None:
                raise
            if in_session():
                raise as_duplicate(e) from e
            return set(refused)
        return set()

    async def update_one(
        self, filter: Mapping[str, Any], update: Mapping[str, Any], *, upsert: bool = False
    ) -> UpdateResult:
        with self._command("update", filter):
            result: UpdateResult = await self._raw.update_one(
                filter, update, upsert=upsert, **_with_session({})
            )
        return result

    async def update_many(
        self, filter: Mapping[str, Any], update: Mapping[str, Any]
    ) -> UpdateResult:
        with self._command("update", filter):
            result: UpdateResult = await self._raw.update_many(filter, update, **_with_session({}))
        return result

    async def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        upsert: bool = False,
        projection: Mapping[str, Any] | None = None,
    ) -> Doc | None:
        """The document after the update (or None when nothing matched and no upsert)."""
        with self._command("find_and_modify", filter):
            result: Doc | None = await self._raw.find_one_and_update(
                filter,
                update,
                projection=projection,
                upsert=upsert,
                return_document=ReturnDocument.AFTER,
                **_with_session({}),
            )
        return result

    async def find_one_and_delete(self, filter: Mapping[str, Any]) -> Doc | None:
        """The document removed, or None when nothing matched."""
        with self._command("find_and_modify", filter):
            result: Doc | None = await self._raw.find_one_and_delete(filter, **_with_session({}))
        return result

    async def bulk_write(self, requests: list[Any], *, ordered: bool) -> BulkWriteResult:
        for request in requests if _recorder is not None else ():
            _record(shape_of(self.name, "bulk_write", getattr(request, "_filter", None)))
        with self._command("bulk_write"):
            result: BulkWriteResult = await self._raw.bulk_write(
                requests, ordered=ordered, **_with_session({})
            )
        return result

    async def bulk_upsert(self, requests: list[UpdateOne]) -> dict[int, Any]:
        """Unordered upserts in one bulk write; the ids of the documents created, by index.

        Outside a transaction, an upsert that lost a race to create the same document (a
        duplicate key) is sent once more: the document exists then, so it updates it.
        """
        if not requests:
            return {}
        try:
            result = await self.bulk_write(list(requests), ordered=False)
            return dict(result.upserted_ids or {})
        except BulkWriteError as e:
            lost = duplicates_only(e)
            if lost is None:
                raise
            if in_session():
                raise as_duplicate(e) from e
            await self.bulk_write([requests[i] for i in lost], ordered=False)
            return {u["index"]: u["_id"] for u in e.details.get("upserted", [])}

    async def delete_one(self, filter: Mapping[str, Any]) -> int:
        with self._command("delete", filter):
            result = await self._raw.delete_one(filter, **_with_session({}))
        return int(result.deleted_count)

    async def delete_many(self, filter: Mapping[str, Any]) -> int:
        with self._command("delete", filter):
            result = await self._raw.delete_many(filter, **_with_session({}))
        return int(result.deleted_count)

    async def count(self, filter: Mapping[str, Any]) -> int:
        with self._command("count", filter):
            return int(await self._raw.count_documents(filter, **_with_session({})))

    async def aggregate(self, pipeline: list[Mapping[str, Any]]) -> list[Doc]:
        for shape in pipeline_shapes(self.name, pipeline) if _recorder is not None else ():
            _record(shape)
        with self._command("aggregate"):
            cursor = await resolve(self._raw.aggregate(pipeline, **_with_session({})))
            return [doc async for doc in cursor]

    async def create_index(self, keys: list[tuple[str, int]], **options: Any) -> None:
        with self._command("create_index"):
            await self._raw.create_index(keys, **options)

    async def drop_index(self, name: str) -> None:
        with self._command("drop_index"):
            await self._raw.drop_index(name)

    async def indexes(self) -> list[Doc]:
        with self._command("list_indexes"):
            cursor = await resolve(self._raw.list_indexes())
            return [doc async for doc in cursor]
