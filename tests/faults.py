"""A fault-injecting double of the store, for what only a real server shows.

`Faults(store)` wraps every collection the store hands out from then on (and until `restore`):
each store command is recorded as `(collection, op)`, and a rule added with `before` runs just
before the Nth matching command: it raises (a crash, a transient error, a DuplicateKeyError) or
awaits a callback (another request interleaving). Errors the commands raise are recorded too,
so a test can assert that nothing was refused and swallowed.

    faults = Faults(store)
    faults.before("events", "update", raise_=ConnectionError("gone"), nth=2)
    faults.before("contacts", "find_and_modify", run=lambda: track(...))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.store.client import Collection
from app.store.database import Store

_COMMANDS = {
    "find_one": "find",
    "find": "find",
    "insert_one": "insert",
    "insert_many": "insert",
    "insert_new": "insert",
    "update_one": "update",
    "update_many": "update",
    "find_one_and_update": "find_and_modify",
    "find_one_and_delete": "find_and_modify",
    "bulk_write": "bulk_write",
    "bulk_upsert": "bulk_write",
    "delete_one": "delete",
    "delete_many": "delete",
    "count": "count",
    "aggregate": "aggregate",
}


@dataclass
class _Rule:
    collection: str
    op: str
    nth: int
    raise_: BaseException | None
    run: Callable[[], Awaitable[Any]] | None
    seen: int = 0
    fired: bool = False


class Faults:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._real = store.collection
        self.commands: list[tuple[str, str]] = []
        self.errors: list[tuple[str, str, BaseException]] = []
        self._rules: list[_Rule] = []
        self._running = False
        store.collection = self._collection  # type: ignore[method-assign]

    def restore(self) -> None:
        self._store.collection = self._real  # type: ignore[method-assign]

    def before(
        self,
        collection: str,
        op: str,
        *,
        nth: int = 1,
        raise_: BaseException | None = None,
        run: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        """Before the `nth` command `op` (find, update, delete, ...) on `collection` from now."""
        self._rules.append(_Rule(collection, op, nth, raise_, run))

    def _collection(self, name: str) -> Collection:
        return _FaultyCollection(self._real(name), self)  # type: ignore[return-value]

    async def _command(self, collection: str, op: str) -> None:
        if self._running:  # the callback's own commands are not counted against the rules
            return
        self.commands.append((collection, op))
        for rule in self._rules:
            if rule.fired or (rule.collection, rule.op) != (collection, op):
                continue
            rule.seen += 1
            if rule.seen < rule.nth:
                continue
            rule.fired = True
            if rule.run is not None:
                self._running = True
                try:
                    await rule.run()
                finally:
                    self._running = False
            if rule.raise_ is not None:
                raise rule.raise_


class _FaultyCollection:
    def __init__(self, real: Collection, faults: Faults) -> None:
        self._real = real
        self._faults = faults
        self.name = real.name

    def __getattr__(self, attribute: str) -> Any:
        method = getattr(self._real, attribute)
        op = _COMMANDS.get(attribute)
        if op is None:
            return method

        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            await self._faults._command(self.name, op)
            try:
                return await method(*args, **kwargs)
            except Exception as e:
                self._faults.errors.append((self.name, op, e))
                raise

        return wrapped
