"""GroupCommit: what arrives together is written together, each caller gets its own outcome."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from app.metrics import Metrics
from app.services.group_commit import GroupCommit

NOW = datetime(2026, 11, 29, tzinfo=UTC)


class Writer:
    """Records each group it is given; fails on "boom"."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def record(self, items: list[str], now: datetime) -> list[str]:
        self.groups.append(list(items))
        await self.release.wait()
        if "boom" in items:
            raise ConnectionError("the database went away")
        return [item.upper() for item in items]


async def test_items_that_arrive_together_are_one_group_in_order() -> None:
    commit: GroupCommit[str, str] = GroupCommit(max_group=100, metrics=Metrics())
    writer = Writer()
    outcomes = await asyncio.gather(
        *(commit.add("w", item, now=NOW, record=writer.record) for item in "abcd"),
        commit.add("other", "z", now=NOW, record=writer.record),
    )
    assert outcomes == ["A", "B", "C", "D", "Z"]
    assert writer.groups == [["a", "b", "c", "d"], ["z"]]  # one group per workspace


async def test_groups_are_bounded_and_wait_for_the_running_one() -> None:
    commit: GroupCommit[str, str] = GroupCommit(max_group=3, metrics=Metrics())
    writer = Writer()
    writer.release.clear()
    first = [asyncio.create_task(commit.add("w", i, now=NOW, record=writer.record)) for i in "ab"]
    await asyncio.sleep(0.01)
    assert writer.groups == [["a", "b"]]  # running, not finished
    later = [
        asyncio.create_task(commit.add("w", i, now=NOW, record=writer.record)) for i in "cdefg"
    ]
    await asyncio.sleep(0.01)
    assert writer.groups == [["a", "b"]]  # one transaction a workspace at a time
    writer.release.set()
    assert await asyncio.gather(*first, *later) == list("ABCDEFG")
    assert writer.groups == [["a", "b"], ["c", "d", "e"], ["f", "g"]]


async def test_a_fault_reaches_every_caller_of_the_group_only() -> None:
    commit: GroupCommit[str, str] = GroupCommit(max_group=100, metrics=Metrics())
    writer = Writer()
    outcomes = await asyncio.gather(
        *(commit.add("w", item, now=NOW, record=writer.record) for item in ("a", "boom")),
        return_exceptions=True,
    )
    assert [type(o) for o in outcomes] == [ConnectionError, ConnectionError]
    assert await commit.add("w", "c", now=NOW, record=writer.record) == "C"


async def test_a_caller_that_goes_away_takes_nothing_down() -> None:
    commit: GroupCommit[str, str] = GroupCommit(max_group=100, metrics=Metrics())
    writer = Writer()
    writer.release.clear()
    leaving = asyncio.create_task(commit.add("w", "a", now=NOW, record=writer.record))
    staying = asyncio.create_task(commit.add("w", "b", now=NOW, record=writer.record))
    await asyncio.sleep(0.01)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    writer.release.set()
    assert await staying == "B"
    assert writer.groups == [["a", "b"]]  # the first caller's event is written all the same
