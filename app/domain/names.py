"""Rules for the names that become field names in storage: event names and metadata keys.

Anything that passes here is safe as a MongoDB field name: no `$` prefix, no `.`, no NUL.
"""

from __future__ import annotations

import re

from app.domain.errors import InvalidInput
from app.domain.storable import text_problem

MAX_EVENT_NAME_LENGTH = 150
MAX_KEY_LENGTH = 150
_EVENT_NAME_PUNCTUATION = frozenset(" -_:/")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def normalize_event_name(raw: str) -> str:
    """Trimmed and lower-cased; letters, digits, space, `-`, `_`, `:` and `/` only."""
    name = raw.strip().lower()
    if not 1 <= len(name) <= MAX_EVENT_NAME_LENGTH:
        raise InvalidInput.one(
            "INVALID_EVENT_NAME",
            f"An event name has 1 to {MAX_EVENT_NAME_LENGTH} characters.",
        )
    bad = sorted({c for c in name if not (c.isalnum() or c in _EVENT_NAME_PUNCTUATION)})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        raise InvalidInput.one(
            "INVALID_EVENT_NAME",
            f"An event name may hold letters, digits, space, '-', '_', ':' and '/' only; "
            f"found {shown}.",
        )
    return name


def key_problem(key: str) -> str | None:
    """Why `key` cannot be a metadata key or attribute name, or None when it can."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        return f"A key has 1 to {MAX_KEY_LENGTH} characters."
    if key != key.strip():
        return "A key has no leading or trailing spaces."
    if key.startswith("$"):
        return "A key may not start with '$'."
    if "." in key:
        return "A key may not contain '.'."
    if _CONTROL.search(key):
        return "A key may not contain control characters."
    return text_problem(key)
