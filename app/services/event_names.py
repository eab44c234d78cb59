"""The caps on distinct event names per workspace (each is a key in every contact document
that has it, so the names bound a contact's size) and on distinct metadata keys per name (each
is an entry in the name's catalog documents): what goes past them is refused, never dropped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.domain.errors import UserError
from app.store import event_types as store_event_types
from app.store.database import Store


@dataclass(frozen=True)
class Catalog:
    """What the caps need to know of a workspace's catalog before a batch is admitted."""

    keys: dict[str, set[str]]  # the names it holds, with the metadata keys each has had
    room: int  # names it may still take


async def read_catalog(
    store: Store, *, workspace_id: str, names: Iterable[str], cap: int
) -> Catalog:
    """The catalog as far as these names go. Run it in the transaction that records the
    events, and `store.workspaces.note_new_event_names` there if any new name is recorded.
    Names the catalog holds are never refused."""
    ordered = list(dict.fromkeys(names))
    if not ordered:
        return Catalog(keys={}, room=0)
    known = await store_event_types.existing_names(store, workspace_id=workspace_id, names=ordered)
    if all(name in known for name in ordered):
        return Catalog(keys=known, room=0)
    count = await store_event_types.count_names(store, workspace_id=workspace_id)
    return Catalog(keys=known, room=max(cap - count, 0))


def new_metadata_keys(known: set[str], metadata: Iterable[str], *, cap: int) -> list[str] | None:
    """The keys of an event's metadata its name has not had yet, or None when they would take
    the name past `cap` distinct keys."""
    fresh = [key for key in metadata if key not in known]
    return fresh if len(known) + len(fresh) <= cap else None


def too_many_metadata_keys(cap: int) -> UserError:
    return UserError(
        "TOO_MANY_DISTINCT_METADATA_KEYS",
        f"This event name has had {cap} distinct metadata keys, the most one name may have: "
        "reuse its keys (or raise TALLY_MAX_METADATA_KEYS_PER_NAME).",
        ("metadata",),
    )


def too_many_names(cap: int) -> UserError:
    return UserError(
        "TOO_MANY_EVENT_NAMES",
        f"This workspace has {cap} distinct event names, the most it may have: send this "
        "event under a name it already has (or raise TALLY_MAX_EVENT_NAMES).",
        ("name",),
    )
