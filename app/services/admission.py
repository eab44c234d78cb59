"""Which events of a batch are counted: in input order, as if each were sent after the last.

A batch (or a group of single calls, app/services/group_commit.py) is decided in one pass, so
that an event that is not counted — a duplicate, or refused by a cap — uses up nothing: not its
idempotency key, not a name's room in the catalog, not a name's metadata keys. A later event of
the batch with the same key, a new name or new keys is then judged as it would be on its own.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from app.domain.errors import UserError
from app.domain.events import ValidEvent
from app.services.event_names import (
    Catalog,
    new_metadata_keys,
    too_many_metadata_keys,
    too_many_names,
)


@dataclass
class Admission:
    counted: dict[int, list[str]] = field(default_factory=dict)  # index -> keys new to its name
    duplicates: dict[int, str] = field(default_factory=dict)  # index -> its idempotency key
    refused: dict[int, UserError] = field(default_factory=dict)
    new_names: set[str] = field(default_factory=set)  # names the catalog gets from this batch


def admit(
    events: dict[int, ValidEvent],
    *,
    catalog: Catalog,
    taken: Collection[str],
    name_cap: int,
    key_cap: int,
) -> Admission:
    """`events` by input index, in input order; `taken`: the keys already claimed."""
    admission = Admission()
    known = {name: set(keys) for name, keys in catalog.keys.items()}
    room = catalog.room
    claimed = set(taken)
    for index, event in events.items():
        key = event.idempotency_key
        if key is not None and key in claimed:
            admission.duplicates[index] = key
            continue
        new_name = event.name not in known
        if new_name and room <= 0:
            admission.refused[index] = too_many_names(name_cap)
            continue
        fresh = new_metadata_keys(known.get(event.name, set()), event.metadata, cap=key_cap)
        if fresh is None:
            admission.refused[index] = too_many_metadata_keys(key_cap)
            continue
        if new_name:
            room -= 1
            admission.new_names.add(event.name)
        known.setdefault(event.name, set()).update(fresh)
        admission.counted[index] = fresh
        if key is not None:
            claimed.add(key)
    return admission
