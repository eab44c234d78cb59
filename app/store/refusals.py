"""How the adapter reads a BulkWriteError: which writes a unique index refused, and nothing else."""

from __future__ import annotations

from pymongo.errors import BulkWriteError, DuplicateKeyError


def duplicates_only(error: BulkWriteError) -> list[int] | None:
    """The indexes of the writes a unique index refused, or None when any failed otherwise
    (a write concern error included: then even the writes that went through may not last)."""
    errors = error.details.get("writeErrors") or []
    if not errors or error.details.get("writeConcernErrors"):
        return None
    duplicates = [e["index"] for e in errors if e.get("code") == 11000]
    return duplicates if len(duplicates) == len(errors) else None


def as_duplicate(error: BulkWriteError) -> DuplicateKeyError:
    """Inside a transaction a refused write aborted it: DuplicateKeyError makes
    `Store.in_transaction` run the work again in a new one (never in the same one)."""
    first = error.details["writeErrors"][0]
    return DuplicateKeyError(first.get("errmsg", "E11000"), 11000, first)
