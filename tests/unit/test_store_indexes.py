"""Start-up creates every declared index and retires the ones they replace (app/store/indexes.py)."""

from __future__ import annotations

from pathlib import Path

from app.metrics import Metrics
from app.settings import Settings
from app.store.database import open_store
from app.store.indexes import INDEXES, create_indexes, index_table


async def test_old_type_partial_indexes_are_replaced_and_a_rerun_changes_nothing() -> None:
    store = await open_store(Settings(), Metrics())
    contacts = store.collection("contacts")
    # What an earlier release created: a unique index only a $type-free query could not use.
    await contacts.create_index(
        [("workspace_id", 1), ("user_id", 1)],
        unique=True,
        partialFilterExpression={"user_id": {"$type": "string"}},
    )
    await create_indexes(store)
    await create_indexes(store)  # a second process starting, or a restart
    names = {index["name"]: index for index in await contacts.indexes()}
    assert "workspace_id_1_user_id_1" not in names
    assert names["contacts_user_id"]["partialFilterExpression"] == {"user_id": {"$exists": True}}
    declared = [i for i in INDEXES if i.collection == "contacts"]
    assert len(names) == len(declared) + 1  # and _id
    await contacts.insert_one({"workspace_id": "w", "user_id": "u"})
    await contacts.insert_one({"workspace_id": "w", "anonymous_id": "a"})  # no user_id: no entry
    await contacts.insert_one({"workspace_id": "w", "anonymous_id": "b"})
    assert await contacts.insert_new([{"workspace_id": "w", "user_id": "u"}]) == {0}


def test_the_operations_guide_lists_every_index() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    assert index_table() in guide, "paste app.store.indexes.index_table() into docs/operations.md"
