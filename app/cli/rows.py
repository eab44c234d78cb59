"""Lines of an import file (JSONL or CSV) as track requests: pure, no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime

from app.domain.errors import InvalidInput, UserError
from app.domain.events import TrackRequest
from app.domain.refs import RefInput
from app.domain.timestamps import parse_instant

_FIELDS = {"name", "contact", "occurredAt", "metadata", "idempotencyKey"}
_REF_FIELDS = {"id": "id", "userId": "user_id", "email": "email", "anonymousId": "anonymous_id"}
_CSV_REF_COLUMNS = {
    "contactId": "id",
    "userId": "user_id",
    "email": "email",
    "anonymousId": "anonymous_id",
}
_METADATA_PREFIX = "metadata."


def default_idempotency_key(line: str) -> str:
    """Re-importing the same line is a duplicate: the key is the line's content hash."""
    return "import:" + hashlib.sha256(line.strip().encode()).hexdigest()


def _bad_line(message: str, *path: str) -> InvalidInput:
    return InvalidInput([UserError("INVALID_LINE", message, path or None)])


def _occurred_at(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    instant = parse_instant(value) if isinstance(value, str) else None
    if instant is None:
        raise InvalidInput.one(
            "INVALID_TIMESTAMP", "occurredAt is an ISO-8601 date-time.", "occurredAt"
        )
    return instant


def request_from_json(line: str) -> TrackRequest:
    """One JSONL line shaped like a TrackEventInput."""
    try:
        data = json.loads(line)
    except ValueError:
        raise _bad_line("The line is not valid JSON.") from None
    if not isinstance(data, dict):
        raise _bad_line("A line is one JSON object shaped like TrackEventInput.")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise _bad_line(f"Unknown field {unknown[0]!r}; fields are {', '.join(sorted(_FIELDS))}.")
    name, contact, key = data.get("name"), data.get("contact"), data.get("idempotencyKey")
    if not isinstance(name, str):
        raise _bad_line("name is a string.", "name")
    if not isinstance(contact, dict) or not set(contact) <= set(_REF_FIELDS):
        raise _bad_line(
            "contact is an object with one of id, userId, email, anonymousId.", "contact"
        )
    if not all(isinstance(v, str) for v in contact.values()):
        raise _bad_line("contact values are strings.", "contact")
    if key is not None and not isinstance(key, str):
        raise _bad_line("idempotencyKey is a string.", "idempotencyKey")
    return TrackRequest(
        name=name,
        contact=RefInput(**{_REF_FIELDS[k]: v for k, v in contact.items()}),
        occurred_at=_occurred_at(data.get("occurredAt")),
        metadata=data.get("metadata"),
        idempotency_key=key if key is not None else default_idempotency_key(line),
    )


def request_from_csv(row: Mapping[str, str | None], *, raw: str) -> TrackRequest:
    """One CSV row: name, userId | email | anonymousId | contactId, occurredAt, idempotencyKey,
    and metadata.<key> columns whose cells are read as JSON when they parse (12, true,
    {"amount": 100, "currency": "EUR"}) and as text otherwise. Empty cells are left out."""
    cells = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
    metadata: dict[str, object] = {}
    for column, cell in cells.items():
        if column.startswith(_METADATA_PREFIX):
            try:
                metadata[column.removeprefix(_METADATA_PREFIX)] = json.loads(cell)
            except ValueError:
                metadata[column.removeprefix(_METADATA_PREFIX)] = cell
    known = {"name", "occurredAt", "idempotencyKey", *_CSV_REF_COLUMNS}
    unknown = sorted(c for c in cells if c not in known and not c.startswith(_METADATA_PREFIX))
    if unknown:
        raise _bad_line(f"Unknown column {unknown[0]!r}.")
    return TrackRequest(
        name=cells.get("name") or "",
        contact=RefInput(
            **{field: cells.get(column) for column, field in _CSV_REF_COLUMNS.items()}
        ),
        occurred_at=_occurred_at(cells.get("occurredAt")),
        metadata=metadata or None,
        idempotency_key=cells.get("idempotencyKey") or default_idempotency_key(raw),
    )
