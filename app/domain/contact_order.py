"""How a list of contacts is ordered, and the keyset cursors that page through it.

Documents without a value (never seen, never performed the event) sort as MongoDB sorts them:
before every value ascending, after every value descending. The contact id breaks ties.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from app.domain.cursors import decode_cursor, encode_cursor
from app.domain.errors import InvalidInput, RequestError
from app.domain.models import Contact
from app.domain.names import normalize_event_name
from app.domain.timestamps import format_iso, parse_instant

_FIELDS = {
    "CREATED_AT": "created_at",
    "LAST_SEEN_AT": "last_seen_at",
    "SIGNED_UP_AT": "signed_up_at",
    "EVENT_COUNT": "count",
    "EVENT_LAST_AT": "last_at",
}


@dataclass(frozen=True)
class ContactOrder:
    field: str = "CREATED_AT"
    direction: str = "DESC"
    event_name: str | None = None

    @classmethod
    def checked(cls, field: str, direction: str, event_name: str | None) -> ContactOrder:
        if field.startswith("EVENT_"):
            if event_name is None:
                raise RequestError("INVALID_ORDER", f"{field} needs eventName.")
            try:
                event_name = normalize_event_name(event_name)
            except InvalidInput as e:
                raise RequestError("INVALID_EVENT_NAME", e.errors[0].message) from e
        else:
            event_name = None
        return cls(field, direction, event_name)

    @property
    def path(self) -> str:
        if self.event_name is not None:
            return f"events.{self.event_name}.{_FIELDS[self.field]}"
        return _FIELDS[self.field]

    @property
    def sign(self) -> int:
        return 1 if self.direction == "ASC" else -1

    def sort(self) -> list[tuple[str, int]]:
        return [(self.path, self.sign), ("_id", self.sign)]

    def value_of(self, contact: Contact) -> datetime | int | None:
        if self.event_name is not None:
            summary = contact.summaries.get(self.event_name)
            if summary is None:
                return None
            return summary.count if self.field == "EVENT_COUNT" else summary.last_at
        value: datetime | None = getattr(contact, self.path)
        return value

    def cursor(self, contact: Contact) -> str:
        value = self.value_of(contact)
        shown = format_iso(value) if isinstance(value, datetime) else value
        return encode_cursor(json.dumps(shown), contact.id)

    def after(self, cursor: str) -> dict[str, Any]:
        """The query for the contacts that come after `cursor` in this order."""
        raw, contact_id = decode_cursor(cursor, parts=2)
        try:
            shown = json.loads(raw)
            oid = ObjectId(contact_id)
        except (ValueError, TypeError, InvalidId):
            raise RequestError(
                "INVALID_CURSOR", "after is not a cursor this API returned."
            ) from None
        value: Any = shown
        if isinstance(shown, str):
            value = parse_instant(shown)
        if (value is None and shown is not None) or isinstance(value, bool):
            raise RequestError("INVALID_CURSOR", "after is not a cursor this API returned.")
        path, later = self.path, "$gt" if self.sign == 1 else "$lt"
        same = {path: value, "_id": {later: oid}}
        if value is None:
            # Missing values come first ascending (then every value), last descending.
            return {"$or": [same, {path: {"$ne": None}}]} if self.sign == 1 else same
        beyond: list[dict[str, Any]] = [{path: {later: value}}, same]
        if self.sign == -1:
            beyond.append({path: None})
        return {"$or": beyond}
