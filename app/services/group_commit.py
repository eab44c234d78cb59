"""Group commit: single events of one workspace that arrive together are recorded together.

Frontends send events one at a time, and under load many arrive at once. Each would be a
transaction of its own (the names' cap, keys, contacts, raw events, catalog: ~6 commands); as one
group they are one transaction of the same ~6 commands, through the batch pipeline
(`Tracker.track_many`), whose semantics are per event: each request still gets its own outcome,
its own user errors and its own duplicate verdict.

A group opens with its first event and closes when its transaction starts. Its first event
yields to the event loop once, so that requests already received join it; while one group's
transaction runs, the next group gathers every event that arrives meanwhile (on MongoDB, the
round trips of the running transaction). At most one transaction per workspace runs at a time
in a process, and a group holds at most `TALLY_MAX_BATCH_SIZE` events. A lone event pays one
turn of the event loop, not a wait.

The transaction runs in a task of its own, so a request that goes away (a cancelled task) takes
nothing down with it: the others of its group get their outcomes. A fault of the store reaches
every request of the group, as it would reach every event of a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from app.metrics import Metrics

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


# Writes a group's items in one transaction; their outcomes in order (`Tracker.track_many`).
Record = Callable[[list[Item], datetime], Awaitable[list[Outcome]]]


@dataclass
class _Group(Generic[Item, Outcome]):
    record: Record[Item, Outcome]
    items: list[Item] = field(default_factory=list)
    now: datetime | None = None
    done: asyncio.Future[list[Outcome]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit(Generic[Item, Outcome]):
    """One per app: each workspace's open group, and one transaction at a time per workspace."""

    def __init__(self, *, max_group: int, metrics: Metrics) -> None:
        self._max_group = max_group
        self._metrics = metrics
        self._open: dict[str, _Group[Item, Outcome]] = {}
        self._locks: dict[str, asyncio.Lock] = {}  # one per workspace that ever tracked
        self._tasks: set[asyncio.Task[None]] = set()

    async def add(
        self, workspace_id: str, item: Item, *, now: datetime, record: Record[Item, Outcome]
    ) -> Outcome:
        """This item's outcome, once its group is written (by the `record` of its first item)."""
        group = self._open.get(workspace_id)
        if group is None:
            group = self._open[workspace_id] = _Group(record)
            task = asyncio.create_task(self._commit(workspace_id, group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        index = len(group.items)
        group.items.append(item)
        group.now = now if group.now is None else max(group.now, now)
        if len(group.items) >= self._max_group:
            self._close(workspace_id, group)
        outcomes = await asyncio.shield(group.done)
        return outcomes[index]

    async def _commit(self, workspace_id: str, group: _Group[Item, Outcome]) -> None:
        await asyncio.sleep(0)  # requests already received join before the group closes
        lock = self._locks.setdefault(workspace_id, asyncio.Lock())
        try:
            async with lock:
                self._close(workspace_id, group)
                assert group.now is not None
                self._metrics.event_group_size.observe(len(group.items))
                outcomes = await group.record(group.items, group.now)
        except asyncio.CancelledError:
            group.done.cancel()
            raise
        except Exception as e:
            group.done.set_exception(e)
        else:
            group.done.set_result(outcomes)

    def _close(self, workspace_id: str, group: _Group[Item, Outcome]) -> None:
        if self._open.get(workspace_id) is group:
            del self._open[workspace_id]
