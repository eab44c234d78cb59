"""The caps on distinct event names per workspace (each is a key in every contact document
that has it, so the names bound a contact's size) and on distinct metadata keys per name (each
is an entry in the name's catalog documents): what goes past them is refused, never dropped."""

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
    keys: dict[str, set[str]] = field(default_factory=dict)  # metadata keys each name has


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
        return NamesCheck(keys=known)
    room = max(cap - await store_event_types.count_names(store, workspace_id=workspace_id), 0)
    return NamesCheck(new=set(new[:room]), refused=set(new[room:]), keys=known)


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
