"""Shared request counts (app/store/rate_limits.py), which only a real MongoDB deployment uses."""

from __future__ import annotations

from app.metrics import Metrics
from app.settings import Settings
from app.store import rate_limits
from app.store.database import open_store


async def test_counts_add_up_per_key_and_window() -> None:
    store = await open_store(Settings(), Metrics())
    assert await rate_limits.add(store, key="k:1", count=3, window_end=120) == 3
    assert await rate_limits.add(store, key="k:1", count=2, window_end=120) == 5
    assert await rate_limits.add(store, key="k:2", count=1, window_end=180) == 1
