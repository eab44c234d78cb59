"""Memos: values made once per key and kept in a plain dict, emptied whole when it is full.

The hot paths keep what they would otherwise make again on every request (a stored date's
aware form, an update path split, a workspace's Tracker): a lookup in a dict, and on a miss
`remember`. Emptying a full memo at once costs less than keeping track of which entry to drop,
and its entries are made again on their next use.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(memo: dict[K, V], key: K, value: V, *, most: int) -> V:
    """`value`, kept in `memo` under `key`; a memo holding `most` entries is emptied first."""
    if len(memo) >= most:
        memo.clear()
    memo[key] = value
    return value
