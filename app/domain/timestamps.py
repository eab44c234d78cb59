"""Instants as stored: UTC, millisecond precision (what a BSON date holds)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.domain.errors import InvalidInput

MAX_FUTURE = timedelta(minutes=5)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def to_utc_ms(value: datetime) -> datetime:
    """The instant in UTC, truncated to the millisecond; a naive value is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:  # most values are in UTC already (clock, store, "Z")
        value = value.astimezone(UTC)
    if value.microsecond % 1000:
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


def parse_date_time(text: str) -> datetime | None:
    """An ISO-8601 date-time ("2026-11-28T10:00:00Z", offset optional = UTC), else None.

    A date without a time of day is not a date-time.
    """
    if not _DATE_TIME.match(text):
        return None
    try:
        return to_utc_ms(datetime.fromisoformat(text))
    except ValueError:
        return None


def parse_instant(text: str) -> datetime | None:
    """An ISO-8601 instant as a DateTime input takes it (a bare date is its midnight UTC)."""
    try:
        return to_utc_ms(datetime.fromisoformat(text))
    except ValueError:
        return None


def from_unix_seconds(seconds: float) -> datetime | None:
    try:
        return to_utc_ms(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, OSError, ValueError):
        return None


def check_occurred_at(occurred_at: datetime | None, *, now: datetime) -> datetime:
    """occurredAt as stored: defaults to now, at most 5 minutes ahead, not before 1970."""
    if occurred_at is None:
        return to_utc_ms(now)
    value = to_utc_ms(occurred_at)
    if value > now + MAX_FUTURE:
        raise InvalidInput.one(
            "INVALID_TIMESTAMP",
            "occurredAt is more than 5 minutes in the future.",
            "occurredAt",
        )
    if value < EPOCH:
        raise InvalidInput.one(
            "INVALID_TIMESTAMP", "occurredAt is before 1970-01-01T00:00:00Z.", "occurredAt"
        )
    return value


def days_before(now: datetime, days: int) -> datetime:
    return to_utc_ms(now - timedelta(days=days))


def format_iso(value: datetime) -> str:
    """ISO-8601 in UTC with "+00:00"; milliseconds only when there are some."""
    value = to_utc_ms(value)
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
