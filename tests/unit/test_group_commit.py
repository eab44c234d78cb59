"""GroupCommit: what arrives together is written together, each caller gets its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from app.metrics import Metrics
from app.services.group_commit import PROBE, TURNS, GroupCommit

NOW = datetime(2026, 11, 29, tzinfo=UTC)


class Writer:
    """Records each group it is given; fails on "boom"; waits while `release` is clear."""

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


def commit(max_group: int = 100) -> GroupCommit[str, str]:
    return GroupCommit(max_group=max_group, metrics=Metrics())


def adding(
    lane: GroupCommit[str, str], writer: Writer, items: Iterable[str], ws: str = "w"
) -> list[asyncio.Task[str]]:
    return [asyncio.create_task(lane.add(ws, i, now=NOW, record=writer.record)) for i in items]


async def test_a_lone_item_on_a_quiet_lane_is_written_at_once() -> None:
    lanes, writer = commit(), Writer()
    assert [await lanes.add("w", i, now=NOW, record=writer.record) for i in "abc"] == list("ABC")
    assert writer.groups == [["a"], ["b"], ["c"]]


async def test_items_arriving_during_a_write_are_the_next_group_in_order() -> None:
    lanes, writer = commit(), Writer()
    writer.release.clear()
    [first] = adding(lanes, writer, "a")
    await asyncio.sleep(0.01)
    later = adding(lanes, writer, "bcd") + adding(lanes, writer, "z", ws="other")
    await asyncio.sleep(0.01)
    assert writer.groups == [["a"], ["z"]]  # one write a workspace at a time; others go on
    writer.release.set()
    assert await asyncio.gather(first, *later) == list("ABCDZ")
    assert writer.groups == [["a"], ["z"], ["b", "c", "d"]]
    # The lane had company: items that arrive together now wait for one another.
    assert await asyncio.gather(*adding(lanes, writer, "ef")) == ["E", "F"]
    assert writer.groups[-1] == ["e", "f"]


async def test_a_quiet_lane_still_notices_items_that_arrive_together() -> None:
    lanes, writer = commit(), Writer()
    for i in range(PROBE - 1):
        await lanes.add("w", f"{i}", now=NOW, record=writer.record)
    assert await asyncio.gather(*adding(lanes, writer, "xy")) == ["X", "Y"]
    assert writer.groups[-1] == ["x", "y"]


async def test_groups_are_bounded() -> None:
    lanes, writer = commit(max_group=3), Writer()
    writer.release.clear()
    first = adding(lanes, writer, "a")
    await asyncio.sleep(0.01)
    later = adding(lanes, writer, "bcdef")
    await asyncio.sleep(0.01)
    writer.release.set()
    assert await asyncio.gather(*first, *later) == list("ABCDEF")
    assert writer.groups == [["a"], ["b", "c", "d"], ["e", "f"]]


async def test_a_fault_reaches_every_caller_of_its_group_only() -> None:
    lanes, writer = commit(), Writer()
    writer.release.clear()
    first = adding(lanes, writer, "a")
    await asyncio.sleep(0.01)
    failing = adding(lanes, writer, ["c", "boom"])
    await asyncio.sleep(0.01)
    writer.release.set()
    outcomes = await asyncio.gather(*first, *failing, return_exceptions=True)
    assert [type(o) for o in outcomes] == [str, ConnectionError, ConnectionError]
    assert await lanes.add("w", "d", now=NOW, record=writer.record) == "D"


async def test_a_caller_that_goes_away_takes_nothing_down() -> None:
    lanes, writer = commit(), Writer()
    writer.release.clear()
    first = adding(lanes, writer, "a")
    await asyncio.sleep(0.01)
    leaving, staying = adding(lanes, writer, "bc")
    await asyncio.sleep(0.01)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    writer.release.set()
    assert await staying == "C"
    assert await first[0] == "A"
    assert writer.groups == [["a"], ["b", "c"]]  # the caller that left is written all the same


@pytest.mark.parametrize("turns", range(TURNS + 2))
async def test_a_group_cancelled_before_it_writes_fails_its_callers_and_frees_its_lane(
    turns: int,
) -> None:
    """Cancelled before it starts, while it waits for company or for the lane: its callers get
    the cancellation instead of waiting for ever, and the lane takes the next items."""
    lanes, writer = commit(), Writer()
    writer.release.clear()
    first = adding(lanes, writer, "a")
    await asyncio.sleep(0.01)
    group = adding(lanes, writer, "bc")
    await asyncio.sleep(0)  # the callers join the group
    [task] = lanes._tasks
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0.01)
    assert [t.cancelled() for t in group] == [True, True]
    later = adding(lanes, writer, "d")
    writer.release.set()
    await asyncio.sleep(0.01)
    assert [t.done() for t in later] == [True]  # not joined to the cancelled group
    assert await asyncio.gather(*first, *later) == ["A", "D"]
    assert writer.groups == [["a"], ["d"]]
