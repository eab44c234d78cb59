"""Group commit: single events of one workspace that arrive together are recorded together.

Frontends send events one at a time, and under load many arrive at once. Each would be a
transaction of its own (the names' cap, keys, contacts, raw events, catalog: ~6 commands); as one
group they are one transaction of the same ~6 commands, through the batch pipeline
(`Tracker.track_many`), whose semantics are per event: each request still gets its own outcome,
its own user errors and its own duplicate verdict.

Each workspace has a lane: at most one of its transactions runs at a time in a process, and the
next group gathers every event that arrives meanwhile (on MongoDB, during the running
transaction's round trips). A group that opens while its workspace has just seen concurrent
events yields to the event loop a few turns, so that requests already received join it before it
closes (`TURNS`); its transaction then runs in a task of its own, so a request that goes away (a
cancelled task) takes nothing down with it. A group holds at most `TALLY_MAX_BATCH_SIZE` events.

An event that finds its lane idle and quiet (its last group had no company) is written at once,
in the request's own task: suspending a request's deep stack of coroutines and resuming it costs
~50 us, worth paying only where others may join. Every `PROBE`th such event yields all the same,
so that a lane notices load whose requests do not overlap (the embedded store never suspends a
transaction, so nothing joins a group it does not wait for).

A fault of the store reaches every request of the group, as it reaches every event of a batch;
a group's task cancelled (at shutdown) cancels them, and its lane goes on without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Generic, TypeVar

from app.metrics import Metrics

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

# Writes a group's items in one transaction; their outcomes in order (`Tracker.track_many`).
Record = Callable[[list[Item], datetime], Awaitable[list[Outcome]]]

PROBE = 8  # a quiet lane still yields for one lone event in this many
# Turns of the event loop a group waits before it closes: each turn polls the sockets once, so
# requests whose bytes arrived while the last transaction ran are read, run up to here and join.
# Under wrk's 16 connections, 1 turn made groups of ~8 events, 3 of ~15.5 (+11% events/s).
TURNS = 3


@dataclass
class _Group(Generic[Item, Outcome]):
    record: Record[Item, Outcome]
    now: datetime
    items: list[Item] = field(default_factory=list)
    # One per item: a caller that goes away cancels its own only (cheaper than a shield each).
    waiters: list[asyncio.Future[Outcome]] = field(default_factory=list)


@dataclass
class _Lane(Generic[Item, Outcome]):
    """One workspace's: its transactions one at a time, the group gathering meanwhile."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    open: _Group[Item, Outcome] | None = None
    busy: bool = False  # the last group had company: the next one waits for more
    quiet: int = 0  # lone events written at once since the last probe


class GroupCommit(Generic[Item, Outcome]):
    """One per app."""

    def __init__(self, *, max_group: int, metrics: Metrics) -> None:
        self._max_group = max_group
        self._metrics = metrics
        self._lanes: dict[str, _Lane[Item, Outcome]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def add(
        self, workspace_id: str, item: Item, *, now: datetime, record: Record[Item, Outcome]
    ) -> Outcome:
        """This item's outcome, once its group is written (by the `record` of its first item)."""
        lane = self._lanes.get(workspace_id)
        if lane is None:
            lane = self._lanes[workspace_id] = _Lane()
        group = lane.open
        if group is None and not lane.lock.locked() and not lane.busy:
            lane.quiet = (lane.quiet + 1) % PROBE
            if lane.quiet:
                async with lane.lock:  # free: taken without a turn of the loop
                    self._metrics.event_group_size.observe(1)
                    [outcome] = await record([item], now)
                return outcome
        if group is None:
            group = lane.open = _Group(record, now)
            task = asyncio.create_task(self._commit(lane, group))
            self._tasks.add(task)
            task.add_done_callback(partial(self._ended, lane, group))
        waiter: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        group.items.append(item)
        group.waiters.append(waiter)
        group.now = max(group.now, now)
        if len(group.items) >= self._max_group:
            lane.open = None
        return await waiter

    async def _commit(self, lane: _Lane[Item, Outcome], group: _Group[Item, Outcome]) -> None:
        try:
            for _ in range(TURNS):  # requests received meanwhile join before the group closes
                await asyncio.sleep(0)
            async with lane.lock:
                if lane.open is group:
                    lane.open = None
                lane.busy = len(group.items) > 1
                self._metrics.event_group_size.observe(len(group.items))
                outcomes = await group.record(group.items, group.now)
            for waiter, outcome in zip(group.waiters, outcomes, strict=True):
                if not waiter.done():  # done: its caller went away
                    waiter.set_result(outcome)
        except Exception as e:
            for waiter in group.waiters:
                if not waiter.done():
                    waiter.set_exception(e)

    def _ended(
        self, lane: _Lane[Item, Outcome], group: _Group[Item, Outcome], task: asyncio.Task[None]
    ) -> None:
        """However the group's task ended, even cancelled before it started (its coroutine then
        never runs): the lane takes no more items into it and none of its callers waits on."""
        self._tasks.discard(task)
        if lane.open is group:
            lane.open = None
        if task.cancelled():
            for waiter in group.waiters:
                waiter.cancel()
