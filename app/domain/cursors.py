"""Opaque pagination cursors: a sort value and an id, base64url-encoded."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from bson import ObjectId

from app.domain.errors import RequestError
from app.domain.timestamps import format_iso, parse_date_time

MAX_PAGE_SIZE = 100


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode()


def decode_cursor(cursor: str, *, parts: int) -> list[str]:
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode().split("\x1f")
    except (binascii.Error, UnicodeError, ValueError):
        decoded = []
    if len(decoded) != parts:
        raise RequestError("INVALID_CURSOR", "after is not a cursor this API returned.")
    return decoded


def check_page_size(first: int) -> int:
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise RequestError("INVALID_PAGE_SIZE", f"first is between 0 and {MAX_PAGE_SIZE}.")
    return first


def encode_instant_cursor(at: datetime, record_id: str) -> str:
    """A cursor for lists ordered by an instant, then by id (activity, messages)."""
    return encode_cursor(format_iso(at), record_id)


def decode_instant_cursor(cursor: str) -> tuple[datetime, str]:
    at_text, record_id = decode_cursor(cursor, parts=2)
    at = parse_date_time(at_text)
    if at is None or not ObjectId.is_valid(record_id):
        raise RequestError("INVALID_CURSOR", "after is not a cursor this API returned.")
    return at, record_id
