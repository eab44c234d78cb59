"""What a batch counts, in input order, as if each event were sent after the last: an event that
is not counted (a duplicate, a ref naming nobody, refused by a cap) uses up nothing — not its
idempotency key, not a name's room, not a name's metadata keys (app/services/admission.py).
Concurrent single calls written together (group commit) are judged the same way."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bson import ObjectId
from starlette.applications import Starlette

from app.settings import Settings
from tests.api.test_caps import codes
from tests.api.test_track_event import track
from tests.api.test_track_events import summaries, track_many
from tests.faults import Faults
from tests.helpers import GraphQL

NOBODY = {"id": "000000000000000000000000"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_event_names": 3, "max_metadata_keys_per_name": 2})


def result_codes(results: list[dict[str, Any]]) -> list[list[str]]:
    return [[e["code"] for e in r["userErrors"]] for r in results]


async def test_a_key_sent_with_a_ref_naming_nobody_is_left_for_the_next_event(
    gql: GraphQL,
) -> None:
    payload = await track_many(
        gql,
        [
            {"name": "bought", "contact": NOBODY, "idempotencyKey": "order-7"},
            {"name": "bought", "contact": {"userId": "bo"}, "idempotencyKey": "order-7"},
        ],
    )
    results = payload["results"]
    assert result_codes(results) == [["CONTACT_NOT_FOUND"], []]
    assert [r["duplicate"] for r in results] == [False, False]
    assert await summaries(gql, {"userId": "bo"}) == {"bought": 1}


async def test_a_key_sent_with_a_refused_event_is_left_for_the_next_event(gql: GraphQL) -> None:
    for name in ("a", "b", "c"):  # the catalog is full (3 names)
        await track(gql, name=name, contact={"userId": "ada"})
    payload = await track_many(
        gql,
        [
            {"name": "d", "contact": {"userId": "ada"}, "idempotencyKey": "k"},
            {"name": "a", "contact": {"userId": "ada"}, "idempotencyKey": "k"},
        ],
    )
    assert result_codes(payload["results"]) == [["TOO_MANY_EVENT_NAMES"], []]
    assert payload["acceptedCount"] == 1
    assert (await summaries(gql, {"userId": "ada"}))["a"] == 2


async def test_events_not_counted_take_no_room_under_the_caps(gql: GraphQL) -> None:
    await track(gql, name="paid", contact={"userId": "ada"}, idempotencyKey="k1")
    await track(gql, name="viewed", contact={"userId": "ada"})  # 2 names of 3
    payload = await track_many(
        gql,
        [
            # a retry: a duplicate, whose two new keys are not the name's
            {"name": "paid", "contact": {"userId": "ada"}, "idempotencyKey": "k1",
             "metadata": {"x": 1, "y": 2}},
            {"name": "paid", "contact": {"userId": "bea"}, "metadata": {"z": 3}},
            # a ref naming nobody, whose new name does not enter the catalog
            {"name": "third", "contact": NOBODY},
            {"name": "other-third", "contact": {"userId": "bea"}},
            {"name": "fourth", "contact": {"userId": "bea"}},
        ],
    )  # fmt: skip
    results = payload["results"]
    assert [r["duplicate"] for r in results] == [True, False, False, False, False]
    assert result_codes(results) == [[], [], ["CONTACT_NOT_FOUND"], [], ["TOO_MANY_EVENT_NAMES"]]
    assert await summaries(gql, {"userId": "bea"}) == {"paid": 1, "other-third": 1}


async def test_single_calls_written_together_are_judged_one_by_one(
    gql: GraphQL, app: Starlette
) -> None:
    # A burst first, so that the lane has seen company and the next calls are one group.
    await asyncio.gather(*(track(gql, name="viewed", contact={"userId": "w"}) for _ in range(12)))
    first, second = await asyncio.gather(
        track(gql, name="bought", contact=NOBODY, idempotencyKey="order-9"),
        track(gql, name="bought", contact={"userId": "cy"}, idempotencyKey="order-9"),
    )
    assert codes(first) == [("CONTACT_NOT_FOUND", ["contact", "id"])]
    assert codes(second) == []
    assert not second["duplicate"]
    assert second["summary"]["count"] == 1


async def test_a_contact_gone_while_its_event_is_written_leaves_the_key(
    gql: GraphQL, app: Starlette
) -> None:
    """Without a transaction (a standalone server) a contact may be deleted between the check
    of its ref and the write: the event is refused and its key left for a retry."""
    ada = await track(gql, name="a", contact={"userId": "ada"})
    ada_id = ada["contact"]["id"]
    store = app.state.services.store

    async def delete_ada() -> None:
        await store.collection("contacts").delete_many({"_id": ObjectId(ada_id)})

    faults = Faults(store)
    faults.before("contacts", "find_and_modify", run=delete_ada)
    try:
        gone = await track(gql, name="a", contact={"id": ada_id}, idempotencyKey="k")
    finally:
        faults.restore()
    assert codes(gone) == [("CONTACT_NOT_FOUND", ["contact", "id"])]
    again = await track(gql, name="a", contact={"userId": "ada"}, idempotencyKey="k")
    assert codes(again) == []
    assert not again["duplicate"]
