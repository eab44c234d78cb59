"""The one source of "now". Tests hand the app a ManualClock and move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from app.domain.timestamps import to_utc_ms


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return to_utc_ms(datetime.now(UTC))


class ManualClock:
    def __init__(self, start: datetime) -> None:
        self._now = to_utc_ms(start)

    def now(self) -> datetime:
        return self._now

    def set(self, value: datetime) -> None:
        self._now = to_utc_ms(value)

    def advance(self, delta: timedelta) -> None:
        self._now = to_utc_ms(self._now + delta)
