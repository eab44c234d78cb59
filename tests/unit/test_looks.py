"""What a subscription keeps to hear each message or event once: only what a later look may
return again, so its memory does not grow with its life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.clock import ManualClock
from app.services.feed import LOOK_BACK, Looks

START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


async def test_a_delivered_item_is_heard_once_and_forgotten_once_no_look_can_return_it() -> None:
    clock = ManualClock(START)
    looks = Looks(clock=clock, poll_seconds=0)  # a look is due every time
    assert looks.due() == START
    assert looks.first_time("m1", START)
    assert not looks.first_time("m1", START)
    clock.advance(LOOK_BACK * 3)
    assert looks.due() == START  # the look before was at START: it looks back to it
    assert not looks.first_time("m1", START)  # so it may return m1 again: still heard
    clock.advance(timedelta(seconds=1))
    assert looks.due() == START + LOOK_BACK * 2  # no look returns m1 any more
    assert looks.first_time("m1", START)  # forgotten: nothing kept for it
