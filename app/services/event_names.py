"""The cap on distinct event names per workspace (each is a key in every contact document
that has it, so the names bound a contact's size): names past it are refused, never dropped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.domain.errors import UserError
from app.store import event_types as store_event_types
from app.store.database import Store


@dataclass(frozen=True)
class NamesCheck:
    new: set[str] = field(default_factory=set)  # not in the catalog yet, and within the cap
    refused: set[str] = field(default_factory=set)  # not in the catalog, past the cap


async def check_names(
    store: Store, *, workspace_id: str, names: Iterable[str], cap: int
) -> NamesCheck:
    """Which names (first come, first served) would take the catalog past `cap` names. Run it
    in the transaction that records the events, and `store.workspaces.note_new_event_names`
    there if any new name is recorded. Names the catalog holds are never refused."""
    ordered = list(dict.fromkeys(names))
    if not ordered:
        return NamesCheck()
    known = await store_event_types.existing_names(store, workspace_id=workspace_id, names=ordered)
    new = [name for name in ordered if name not in known]
    if not new:
        return NamesCheck()
    room = max(cap - await store_event_types.count_names(store, workspace_id=workspace_id), 0)
    return NamesCheck(new=set(new[:room]), refused=set(new[room:]))


def too_many_names(cap: int) -> UserError:
    return UserError(
        "TOO_MANY_EVENT_NAMES",
        f"This workspace has {cap} distinct event names, the most it may have: send this "
        "event under a name it already has (or raise TALLY_MAX_EVENT_NAMES).",
        ("name",),
    )
