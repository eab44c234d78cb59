"""Requests per key per minute (fixed windows), as Intercom counts them.

Counted in this process; on MongoDB the counts of all instances are also added up in the
`rate_limits` collection, at most once a second per key, so that several instances share
one limit (to within a second's worth of requests)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.store import rate_limits as store_rate_limits
from app.store.database import Store

WINDOW = 60
SYNC_SECONDS = 1.0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # unix seconds when the window ends


@dataclass
class _Window:
    start: int
    local: int = 0  # counted here and not yet added to the shared count
    shared: int = 0  # all instances' count, as last read
    synced_at: float = 0.0


@dataclass
class RateLimiter:
    limit: int
    store: Store | None = None  # shared counting when set (several instances)
    _windows: dict[str, _Window] = field(default_factory=dict)

    async def hit(self, key_id: str) -> Verdict:
        now = time.time()
        start = int(now) // WINDOW * WINDOW
        window = self._windows.get(key_id)
        if window is None or window.start != start:
            if len(self._windows) > 100_000:
                self._windows.clear()
            window = self._windows[key_id] = _Window(start)
        window.local += 1
        if self.store is not None and now - window.synced_at >= SYNC_SECONDS:
            window.shared = await store_rate_limits.add(
                self.store, key=f"{key_id}:{start}", count=window.local, window_end=start + WINDOW
            )
            window.local, window.synced_at = 0, now
        used = window.shared + window.local
        return Verdict(
            allowed=used <= self.limit,
            limit=self.limit,
            remaining=max(0, self.limit - used),
            reset=start + WINDOW,
        )
