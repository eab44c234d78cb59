"""Opaque pagination cursors: a sort value and an id, base64url-encoded."""

from __future__ import annotations

import base64
import binascii

from app.domain.errors import RequestError

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
