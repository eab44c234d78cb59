"""Records the size (BSON bytes) of what the store sends and receives: MongoDB caps a query,
a pipeline and every result document at 16 MiB, so none may grow with the data."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import bson

from app.store.client import Collection


@dataclass
class Sizes:
    commands: int = 0
    largest_query: int = 0
    largest_result: int = 0
    queries: list[tuple[str, str, int]] = field(default_factory=list)  # collection, op, bytes

    def sent(self, collection: str, op: str, command: Mapping[str, Any]) -> None:
        size = len(bson.encode(dict(command)))
        self.commands += 1
        self.largest_query = max(self.largest_query, size)
        self.queries.append((collection, op, size))

    def received(self, documents: list[Any]) -> None:
        for document in documents:
            if isinstance(document, Mapping):
                self.largest_result = max(self.largest_result, len(bson.encode(dict(document))))


@contextmanager
def recording_sizes() -> Iterator[Sizes]:
    """Every find, count, aggregate and find_one_and_update of the store, measured."""
    sizes = Sizes()
    originals = {
        name: getattr(Collection, name)
        for name in ("find", "find_one", "count", "aggregate", "find_one_and_update")
    }

    async def find(self: Collection, filter: Any, **options: Any) -> Any:
        sort = options.get("sort")
        sizes.sent(self.name, "find", {"filter": filter, "sort": dict(sort or [])})
        docs = await originals["find"](self, filter, **options)
        sizes.received(docs)
        return docs

    async def find_one(self: Collection, filter: Any, **options: Any) -> Any:
        sizes.sent(self.name, "find", {"filter": filter})
        doc = await originals["find_one"](self, filter, **options)
        sizes.received([doc])
        return doc

    async def count(self: Collection, filter: Any) -> Any:
        sizes.sent(self.name, "count", {"filter": filter})
        return await originals["count"](self, filter)

    async def aggregate(self: Collection, pipeline: Any) -> Any:
        sizes.sent(self.name, "aggregate", {"pipeline": pipeline})
        docs = await originals["aggregate"](self, pipeline)
        sizes.received(docs)
        return docs

    async def find_one_and_update(self: Collection, filter: Any, update: Any, **o: Any) -> Any:
        sizes.sent(self.name, "find_and_modify", {"filter": filter, "update": update})
        doc = await originals["find_one_and_update"](self, filter, update, **o)
        sizes.received([doc])
        return doc

    replacements = {
        "find": find,
        "find_one": find_one,
        "count": count,
        "aggregate": aggregate,
        "find_one_and_update": find_one_and_update,
    }
    for name, replacement in replacements.items():
        setattr(Collection, name, replacement)
    try:
        yield sizes
    finally:
        for name, original in originals.items():
            setattr(Collection, name, original)
