"""A contact document read into the domain's Contact (app/store/contacts.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from app.domain.models import EventSummary
from app.store.contacts import to_contact

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _document(**events: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "workspace_id": "w",
        "role": "USER",
        "created_at": AT,
        "user_id": "u1",
        "events": events,
    }


def test_each_summary_is_read_from_its_own_values() -> None:
    """Equal summaries are built once (a cache): each field of one still tells it apart."""
    later = AT + timedelta(seconds=1)
    base: dict[str, Any] = {"count": 1, "first_at": AT, "last_at": AT}
    variants = [base, {**base, "count": 2}, {**base, "first_at": later}, {**base, "last_at": later}]
    for stored in [*variants, *variants]:
        contact = to_contact(_document(signup=stored, other=base))
        assert contact.summaries == {
            "signup": EventSummary(name="signup", **stored),
            "other": EventSummary(name="other", **base),
        }
