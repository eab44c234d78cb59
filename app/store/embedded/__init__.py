"""The embedded in-memory store (mongomock-motor), made faster and as strict as MongoDB.

One module per concern, applied once to mongomock's classes before the first client is made:

- `copies`: copies of documents (rollback snapshots, results) without `copy.deepcopy`;
- `results`: what a find returns, copied out with its dates made aware in one walk;
- `hash_index`: hash indexes on indexed fields, so lookups and unique checks skip the scan;
- `plain`: filters of strings, ObjectIds and ints decided without mongomock's matcher;
- `uniques`: unique indexes checked against the hash index's candidates, not by a scan;
- `updates` (with `rules`): the updates Tally sends on ingest applied natively, by MongoDB's
  rules;
- `writes`: faster inserts and date handling, and the `bulk_write` fix for PyMongo >= 4.11;
- `lookup`: `$lookup` with a pipeline and `$count` of nothing, as MongoDB runs them;
- `strict`: BSON-type-strict comparisons and the 16 MiB limits (in `./scripts/serve` too);
- `transactions`: transactions that abort on the first error, as the server's do;
- `shapes`: the shape of each query the adapter sends, recorded by the suite.

Only `app/store` imports this package. `tests/unit/test_embedded_*.py` check each against
MongoDB's semantics and fail when an upgrade makes the bulk fix needless.
"""

from __future__ import annotations

from typing import Any

from mongomock_motor import AsyncMongoMockClient

from app.store.embedded import (
    copies,
    hash_index,
    lookup,
    plain,
    results,
    strict,
    uniques,
    updates,
    writes,
)

_patched = False


def _patch_mongomock() -> None:
    global _patched
    if _patched:
        return
    copies.install()
    results.install()
    hash_index.install()
    plain.install()
    uniques.install()
    writes.install()
    updates.install()
    lookup.install()
    strict.install()  # last: it wraps what the others installed
    _patched = True


def embedded_client() -> Any:
    _patch_mongomock()
    return AsyncMongoMockClient(tz_aware=True)
