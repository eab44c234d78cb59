"""A serving process's collector: the young generation's threshold raised, the older
generations' ratios kept (app/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from app import collector
from app.server import create_worker_app


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 7, 9)
    yield
    gc.set_threshold(*saved)


def test_tune_raises_the_young_generation_threshold_only() -> None:
    collector.tune()
    assert gc.get_threshold() == (collector.YOUNG, 7, 9)


def test_each_worker_process_tunes_its_collector() -> None:
    assert isinstance(create_worker_app(), Starlette)
    assert gc.get_threshold()[0] == collector.YOUNG
