"""The index-use judge applies MongoDB's planner rules (tests/index_use.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.store.embedded.shapes import Shape, pipeline_shapes, predicate_of
from app.store.indexes import INDEXES, Index
from tests import index_use
from tests.index_use import implies, judge

WS = ("workspace_id", 1)
NEWEST = (WS, ("created_at", -1), ("_id", -1))


def shape(filter: dict[str, Any], sort: tuple[tuple[str, int], ...] = ()) -> Shape:
    return Shape("contacts", "find", predicate_of(filter), sort, "things.test")


def by_user(partial: dict[str, Any]) -> list[Index]:
    return [
        Index("contacts", (WS, ("user_id", 1)), "", unique=True, partial=partial),
        Index("contacts", NEWEST, ""),
    ]


def test_a_type_partial_filter_makes_ref_lookups_scan_the_workspace() -> None:
    lookup = shape({"workspace_id": "w", "user_id": "u1"})
    assert judge(lookup, by_user({"user_id": {"$exists": True}})) == set()
    assert judge(lookup, by_user({"user_id": {"$type": "string"}})) == {"scan"}
    typed = shape({"workspace_id": "w", "user_id": {"$type": "string", "$eq": "u1"}})
    assert judge(typed, by_user({"user_id": {"$type": "string"}})) == set()


@pytest.mark.parametrize(
    ("condition", "implied"),
    [
        ("u1", True),
        ({"$in": ["a", "b"]}, True),
        ({"$in": ["a", None]}, False),
        (None, False),
        ({"$gt": "a"}, True),
        ({"$exists": True}, True),
        ({"$exists": False}, False),
        ({"$ne": "a"}, False),
        ({"$ne": None}, True),
        ({"$nin": ["a", None]}, True),
        ({"$type": "string"}, True),
        ({"$regex": "^a"}, True),
    ],
)
def test_what_implies_exists_true(condition: object, implied: bool) -> None:
    fields = dict(predicate_of({"user_id": condition}).fields)
    assert implies(fields, {"user_id": {"$exists": True}}) is implied
    typed = condition == {"$type": "string"}
    assert implies(fields, {"user_id": {"$type": "string"}}) is typed  # only the same $type


def test_pages_need_an_index_giving_their_order_with_the_tie_break() -> None:
    page = shape({"workspace_id": "w"}, (("created_at", -1), ("_id", -1)))
    assert judge(page, [Index("contacts", NEWEST, "")]) == set()
    reversed_page = shape({"workspace_id": "w"}, (("created_at", 1), ("_id", 1)))
    assert judge(reversed_page, [Index("contacts", NEWEST, "")]) == set()
    mixed = shape({"workspace_id": "w"}, (("created_at", 1), ("_id", -1)))
    assert judge(mixed, [Index("contacts", NEWEST, "")]) == {"sort"}
    without_id = [Index("contacts", (WS, ("created_at", -1)), "")]
    assert judge(page, without_id) == {"sort"}
    assert judge(page, []) == {"scan", "sort"}


def test_keyset_cursors_and_equality_prefixes_keep_the_order() -> None:
    after = shape(
        {
            "workspace_id": "w",
            "contact_id": "c",
            "$or": [{"created_at": {"$lt": 1}}, {"created_at": 1, "_id": {"$lt": 2}}],
        },
        (("created_at", -1), ("_id", -1)),
    )
    by_contact = [Index("contacts", (WS, ("contact_id", 1), *NEWEST[1:]), "")]
    assert judge(after, by_contact) == set()
    assert judge(after, [Index("contacts", NEWEST, "")]) == {"scan"}  # not narrowed by contact


def test_a_filter_on_an_unindexed_field_scans_the_workspace() -> None:
    assert judge(shape({"workspace_id": "w", "attrs.plan": "pro"})) == {"scan"}
    assert judge(shape({"workspace_id": "w", "_id": {"$in": [1, 2]}})) == set()


def test_the_declared_partial_filters_are_all_provable() -> None:
    for index in INDEXES:
        for condition in (index.partial or {}).values():
            assert "$type" not in str(condition), index


def test_coverage_lists_every_public_store_function() -> None:
    names = index_use.store_functions()
    assert {"contacts.find_contact", "messages.find_messages", "rate_limits.add"} <= names
    assert not any(name.startswith(("client.", "indexes.")) for name in names)


def test_in_lists_keep_the_order_of_the_keys_after_them() -> None:
    newest_of = shape(
        {"workspace_id": "w", "contact_id": {"$in": [1, 2]}, "occurred_at": {"$gte": 0}},
        (("contact_id", 1), ("occurred_at", -1), ("_id", -1)),
    )
    by_contact = [Index("contacts", (WS, ("contact_id", 1), ("occurred_at", -1), ("_id", -1)), "")]
    assert judge(newest_of, by_contact) == set()
    merged = shape({"workspace_id": "w", "contact_id": {"$in": [1, 2]}}, (("occurred_at", -1),))
    assert judge(merged, by_contact) == set()  # one scan per contact, merged in order
    ranged = shape({"workspace_id": "w", "contact_id": {"$gt": 1}}, (("occurred_at", -1),))
    assert judge(ranged, by_contact) == {"sort"}


def test_a_function_that_sent_no_query_is_reported() -> None:
    everything = index_use.store_functions()
    assert index_use.unrecorded(set()) == sorted(everything)
    assert index_use.unrecorded(everything - {"contacts.find_contact"}) == ["contacts.find_contact"]
    assert index_use.unrecorded(everything) == []


def _from_store_function(pipeline: list[dict[str, Any]]) -> list[Shape]:
    # A frame whose file is in app/store names the caller, as a store function would.
    store_module = Path(__file__).resolve().parents[2] / "app" / "store" / "fake.py"
    code = compile("shapes = pipeline_shapes('contacts', pipeline)", str(store_module), "exec")
    scope: dict[str, Any] = {"pipeline_shapes": pipeline_shapes, "pipeline": pipeline}
    exec(code, scope)
    found: list[Shape] = scope["shapes"]
    return found


def test_each_lookup_is_judged_as_the_query_it_runs_per_document() -> None:
    lookup = {"from": "events", "localField": "_id", "foreignField": "contact_id", "as": "e"}
    newest = [{"$match": {"workspace_id": "w"}}, {"$sort": {"occurred_at": -1, "_id": -1}}]
    page = {"$match": {"workspace_id": "w", "_id": {"$in": [1]}}}
    outer, inner = _from_store_function([page, {"$lookup": {**lookup, "pipeline": newest}}])
    assert (outer.collection, inner.collection, inner.op) == ("contacts", "events", "lookup")
    assert dict(inner.predicate.fields) == {"contact_id": "eq", "workspace_id": "eq"}
    assert judge(inner) == set()
    unscoped = [{"$match": {"name": "x"}}]  # no workspace_id: the events index is not usable
    _, bad = _from_store_function([page, {"$lookup": {**lookup, "pipeline": unscoped}}])
    assert judge(bad) == {"scan"}
