"""trackEvents and HTTP batching: per-item results, idempotent retries, bulk store costs."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.clock import ManualClock
from app.settings import Settings
from app.store.event_types import SHARDS
from tests.api.test_track_event import CONTACT, EVENT_TYPES, iso, track
from tests.helpers import (
    ADMIN_KEY,
    IN_TRANSACTION,
    GraphQL,
    store_commands,
    total_store_commands,
)

TRACK_MANY = """
mutation TrackMany($inputs: [TrackEventInput!]!) {
  trackEvents(inputs: $inputs) {
    results { index duplicate event { id name occurredAt } userErrors { field code } }
    acceptedCount duplicateCount rejectedCount
  }
}
"""


async def track_many(gql: GraphQL, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql.data(TRACK_MANY, inputs=inputs))["trackEvents"]
    return payload


async def summaries(gql: GraphQL, ref: dict[str, str]) -> dict[str, int]:
    contact = (await gql.data(CONTACT, ref=ref))["contact"]
    return {s["name"]: s["count"] for s in contact["eventSummaries"]} if contact else {}


async def test_mixed_batch_answers_each_input_in_order(gql: GraphQL) -> None:
    payload = await track_many(
        gql,
        [
            {"name": "viewed-pricing", "contact": {"anonymousId": "v1"}},
            {"name": "bad.name", "contact": {"userId": "u1"}},
            {"name": "placed-order", "contact": {"userId": "u1"}, "metadata": {"x": {"y": 1}}},
            {"name": "placed-order", "contact": {"userId": "u1"}, "occurredAt": iso(-timedelta(1))},
            {"name": "viewed-pricing", "contact": {"id": "6b0b9f508f735ba0c8aa86b0"}},
            {"name": "viewed-pricing", "contact": {"anonymousId": "v1"}},
        ],
    )
    assert [r["index"] for r in payload["results"]] == list(range(6))
    assert [[e["code"] for e in r["userErrors"]] for r in payload["results"]] == [
        [],
        ["INVALID_EVENT_NAME"],
        ["NESTED_VALUE"],
        [],
        ["CONTACT_NOT_FOUND"],
        [],
    ]
    assert payload["results"][3]["event"]["occurredAt"] == iso(-timedelta(1))
    assert payload["results"][1]["event"] is None
    assert (payload["acceptedCount"], payload["duplicateCount"], payload["rejectedCount"]) == (
        3,
        0,
        3,
    )
    assert await summaries(gql, {"anonymousId": "v1"}) == {"viewed-pricing": 2}
    assert await summaries(gql, {"userId": "u1"}) == {"placed-order": 1}
    types = {
        t["name"]: (t["count"], t["contactCount"])
        for t in (await gql.data(EVENT_TYPES))["eventTypes"]
    }
    assert types == {"viewed-pricing": (2, 1), "placed-order": (1, 1)}


async def test_keys_repeated_inside_a_batch_count_once(gql: GraphQL) -> None:
    payload = await track_many(
        gql,
        [
            {"name": "placed-order", "contact": {"userId": "u1"}, "idempotencyKey": "o-1"},
            {"name": "placed-order", "contact": {"userId": "u1"}, "idempotencyKey": "o-1"},
            {"name": "placed-order", "contact": {"userId": "u1"}, "idempotencyKey": "o-2"},
        ],
    )
    first, repeat, other = payload["results"]
    assert (first["duplicate"], repeat["duplicate"], other["duplicate"]) == (False, True, False)
    assert repeat["event"]["id"] == first["event"]["id"]
    assert payload["duplicateCount"] == 1
    assert await summaries(gql, {"userId": "u1"}) == {"placed-order": 2}


def nightly_import() -> list[dict[str, Any]]:
    return [
        {
            "name": "used-feature",
            "contact": {"userId": f"user-{i % 7}"},
            "occurredAt": iso(-timedelta(hours=i)),
            "metadata": {"feature": f"f{i % 3}"},
            "idempotencyKey": f"import-{i}",
        }
        for i in range(40)
    ]


async def test_a_retried_batch_changes_no_count(gql: GraphQL) -> None:
    first = await track_many(gql, nightly_import())
    assert first["acceptedCount"] == 40
    before = (await gql.data(EVENT_TYPES))["eventTypes"]
    again = await track_many(gql, nightly_import())
    assert (again["acceptedCount"], again["duplicateCount"]) == (0, 40)
    assert [r["event"]["id"] for r in again["results"]] == [
        r["event"]["id"] for r in first["results"]
    ]
    assert (await gql.data(EVENT_TYPES))["eventTypes"] == before
    assert before[0]["count"] == 40
    assert before[0]["contactCount"] == 7


async def test_two_concurrent_identical_batches_count_once(gql: GraphQL) -> None:
    one, two = await asyncio.gather(
        track_many(gql, nightly_import()), track_many(gql, nightly_import())
    )
    assert one["acceptedCount"] + two["acceptedCount"] == 40
    assert one["duplicateCount"] + two["duplicateCount"] == 40
    counts = [await summaries(gql, {"userId": f"user-{u}"}) for u in range(7)]
    assert sum(c["used-feature"] for c in counts) == 40
    assert (await gql.data(EVENT_TYPES))["eventTypes"][0]["count"] == 40


async def test_batch_and_single_events_agree_on_first_and_last(gql: GraphQL) -> None:
    await track(gql, name="exported-pdf", contact={"userId": "u1"}, occurredAt=iso(-timedelta(3)))
    await track_many(
        gql,
        [
            {"name": "exported-pdf", "contact": {"userId": "u1"}, "occurredAt": iso(-timedelta(5))},
            {"name": "exported-pdf", "contact": {"userId": "u1"}, "occurredAt": iso(-timedelta(1))},
            {"name": "exported-pdf", "contact": {"userId": "u2"}, "occurredAt": iso(-timedelta(2))},
        ],
    )
    contact = (await gql.data(CONTACT, ref={"userId": "u1"}))["contact"]
    assert contact["eventSummaries"] == [
        {
            "name": "exported-pdf",
            "count": 3,
            "firstAt": iso(-timedelta(5)),
            "lastAt": iso(-timedelta(1)),
        }
    ]
    [entry] = (await gql.data(EVENT_TYPES))["eventTypes"]
    assert (entry["count"], entry["contactCount"]) == (4, 2)
    assert (entry["firstAt"], entry["lastAt"]) == (iso(-timedelta(5)), iso(-timedelta(1)))


async def test_a_thousand_events_cost_a_handful_of_store_commands(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    inputs = [
        {
            "name": f"event-{i % 5}",
            "contact": {"userId": f"user-{i}"} if i % 2 else {"anonymousId": f"visitor-{i}"},
            "metadata": {"n": i},
            "idempotencyKey": f"k-{i}",
        }
        for i in range(1000)
    ]
    await track(gql, name="warm-up", contact={"userId": "u0"})  # key and rules now cached
    before = await total_store_commands(http)
    payload = await track_many(gql, inputs)
    spent = await total_store_commands(http) - before
    assert payload["acceptedCount"] == 1000
    assert spent <= 25
    # names known to the catalog (for its cap), keys, contacts, contacts read back, raw events,
    # catalog shards; the five names are new: their name documents, the catalog's size and a
    # note on the workspace
    assert spent == 9 + sum(IN_TRANSACTION.values())
    again = [{**event, "idempotencyKey": f"again-{i}"} for i, event in enumerate(inputs)]
    counted = await store_commands(http)
    assert (await track_many(gql, again))["acceptedCount"] == 1000
    now = await store_commands(http)
    catalog = {k: now[k] - counted.get(k, 0) for k in now if k[0].startswith("event_type")}
    # The names exist now: which names are known (one read), and one write to one shard of
    # each name, none to a name document.
    assert {k: n for k, n in catalog.items() if n} == {
        ("event_types", "find"): 1,
        ("event_type_counts", "bulk_write"): 1,
    }
    types = (await gql.data(EVENT_TYPES))["eventTypes"]
    assert [(t["count"], t["contactCount"]) for t in types if t["name"] != "warm-up"] == [
        (400, 200)
    ] * 5


UPSERT_MANY = """
mutation UpsertMany($inputs: [ContactInput!]!) {
  upsertContacts(inputs: $inputs) {
    results { index contact { userId customAttributes } userErrors { field code } }
    upsertedCount rejectedCount
  }
}
"""


async def test_upsert_contacts_answers_each_input(gql: GraphQL) -> None:
    payload = (
        await gql.data(
            UPSERT_MANY,
            inputs=[
                {"ref": {"userId": "u1"}, "customAttributes": {"plan": "pro"}},
                {"ref": {"userId": "u2"}, "customAttributes": {"a.b": 1}},
                {"ref": {"userId": "u1"}, "customAttributes": {"seats": 3}},
                {"ref": {"userId": ""}},
            ],
        )
    )["upsertContacts"]
    assert [[e["code"] for e in r["userErrors"]] for r in payload["results"]] == [
        [],
        ["INVALID_ATTRIBUTE_NAME"],
        [],
        ["INVALID_CONTACT_REF"],
    ]
    assert payload["results"][2]["contact"]["customAttributes"] == {"plan": "pro", "seats": 3}
    assert (payload["upsertedCount"], payload["rejectedCount"]) == (2, 2)


class TestLimits:
    """With max_batch_size 50 and at most 3 operations per HTTP batch."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"max_batch_size": 50, "max_http_batch_operations": 3})

    async def test_an_oversized_batch_is_refused_whole(
        self, gql: GraphQL, http: httpx.AsyncClient
    ) -> None:
        inputs = [{"name": "x", "contact": {"userId": f"u{i}"}} for i in range(51)]
        body = await gql.result(TRACK_MANY, inputs=inputs)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BATCH_TOO_LARGE"
        assert (await gql.data(EVENT_TYPES))["eventTypes"] == []
        assert (await track_many(gql, inputs[:50]))["acceptedCount"] == 50

    async def test_http_batching_answers_a_list(self, http: httpx.AsyncClient) -> None:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        mutation = (
            'mutation { trackEvent(input: {name: "a", contact: {userId: "u1"}}) '
            "{ summary { count } } }"
        )
        operations = [
            {"query": mutation},
            {"query": mutation},
            {"query": "{ eventTypes { count } }"},
        ]
        answer = await http.post("/graphql", json=operations, headers=headers)
        assert answer.status_code == 200
        body = answer.json()
        assert isinstance(body, list)
        assert len(body) == 3
        # Operations of one batch run concurrently: their order of execution is not the list's.
        assert sorted(b["data"]["trackEvent"]["summary"]["count"] for b in body[:2]) == [1, 2]
        too_many = await http.post("/graphql", json=[*operations, operations[2]], headers=headers)
        assert too_many.status_code == 400
        assert (await GraphQL(http).data(EVENT_TYPES))["eventTypes"][0]["count"] == 2

    async def test_upsert_contacts_over_the_limit_is_refused(self, gql: GraphQL) -> None:
        too_many = [{"ref": {"userId": f"u{i}"}} for i in range(51)]
        assert await gql.error_codes(UPSERT_MANY, inputs=too_many) == ["BATCH_TOO_LARGE"]
        assert (await gql.data(CONTACT, ref={"userId": "u0"}))["contact"] is None


async def test_the_catalog_is_exact_over_its_shards(
    gql: GraphQL, http: httpx.AsyncClient, app: Starlette, clock: ManualClock
) -> None:
    """Concurrent ingestion for one name writes different shard documents (no hot document);
    what the catalog shows is still exact: sums, first/last, and types in first-seen order."""

    people = [{"userId": f"p{i}"} for i in range(40)]
    await track(gql, name="paid", contact=people[39], metadata={"amount": 10},
                occurredAt=iso(-timedelta(days=3)))  # fmt: skip
    clock.advance(timedelta(seconds=1))
    await asyncio.gather(
        *(track(gql, name="paid", contact=p, occurredAt=iso(-timedelta(days=1))) for p in people)
    )
    clock.advance(timedelta(seconds=1))
    await track(gql, name="paid", contact=people[0], metadata={"amount": "ten", "x": True})
    shards = await app.state.services.store.collection("event_type_counts").find(
        {"workspace_id": (await gql.data("{ workspace { id } }"))["workspace"]["id"]}, limit=0
    )
    assert 1 < len(shards) <= SHARDS  # 40 contacts spread over several documents
    [paid] = (await gql.data(EVENT_TYPES))["eventTypes"]
    assert (paid["count"], paid["contactCount"]) == (42, 40)
    assert (paid["firstAt"], paid["lastAt"]) == (iso(-timedelta(days=3)), iso(timedelta(seconds=2)))
    assert paid["metadataKeys"] == [
        {"key": "amount", "type": "number", "types": ["number", "string"]},
        {"key": "x", "type": "boolean", "types": ["boolean"]},
    ]
    await gql.data('mutation { deleteContact(ref: {userId: "p0"}) { userErrors { code } } }')
    [paid] = (await gql.data(EVENT_TYPES))["eventTypes"]
    assert (paid["count"], paid["contactCount"]) == (40, 39)
    # Deletion leaves firstAt/lastAt as they were (docs/identity.md): they name nobody.
    assert paid["lastAt"] == iso(timedelta(seconds=2))


async def test_a_batch_bringing_a_new_name_beside_a_known_one_lists_both(gql: GraphQL) -> None:
    """The batch's catalog shard exists for the known name and is created for the new one: the
    new name gets its catalog entry (the bulk upsert reports which write created a shard)."""
    await track(gql, name="seen", contact={"userId": "u1"})
    payload = await track_many(
        gql,
        [
            {"name": "seen", "contact": {"userId": "u1"}},
            {"name": "new-name", "contact": {"userId": "u1"}},
        ],
    )
    assert payload["acceptedCount"] == 2
    types = (await gql.data(EVENT_TYPES))["eventTypes"]
    assert {t["name"]: t["count"] for t in types} == {"seen": 2, "new-name": 1}
