"""trackEvent through HTTP: the seed's examples, exact summaries, retention, pagination."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from app.clock import ManualClock
from tests.conftest import NOW
from tests.helpers import IN_TRANSACTION, GraphQL, store_commands

TRACK = """
mutation Track($input: TrackEventInput!) {
  trackEvent(input: $input) {
    event {
      id name occurredAt receivedAt metadataJson
      metadata {
        key
        value {
          __typename
          ... on StringValue { string }
          ... on NumberValue { number }
          ... on BooleanValue { boolean }
          ... on DateValue { date }
          ... on LinkValue { url text }
          ... on MoneyValue { amount currency }
        }
      }
    }
    contact { id role userId email anonymousId lastSeenAt }
    summary { name count firstAt lastAt }
    duplicate
    userErrors { field message code }
  }
}
"""

CONTACT = """
query Contact($ref: ContactRef!, $first: Int, $after: String, $names: [String!],
              $since: DateTime, $until: DateTime) {
  contact(ref: $ref) {
    id role
    eventSummaries { name count firstAt lastAt }
    activity(first: $first, after: $after, names: $names, since: $since, until: $until) {
      edges { cursor node { id name occurredAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

EVENT_TYPES = """
{ eventTypes { name count contactCount firstAt lastAt metadataKeys { key type types } } }
"""


async def track(gql: GraphQL, **input: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql.data(TRACK, input=input))["trackEvent"]
    return payload


def iso(delta: timedelta = timedelta(0)) -> str:
    return (NOW + delta).isoformat()


async def test_plan_upgrade_keeps_typed_metadata(gql: GraphQL) -> None:
    payload = await track(
        gql,
        name="Upgraded-Plan",
        contact={"userId": "beth"},
        metadata={
            "new_plan": "Dynamite Pro",
            "new_price": {"amount": 34999, "currency": "eur"},
            "previous_plan": "Starter",
            "previous_price": {"amount": 4900, "currency": "EUR"},
            "changed_at": 1764324000,
            "annual": True,
            "seats": 12,
        },
    )
    assert payload["userErrors"] == []
    assert payload["duplicate"] is False
    event = payload["event"]
    assert event["name"] == "upgraded-plan"
    assert event["occurredAt"] == "2026-11-28T10:00:00+00:00"
    values = {m["key"]: m["value"] for m in event["metadata"]}
    assert values == {
        "new_plan": {"__typename": "StringValue", "string": "Dynamite Pro"},
        "new_price": {"__typename": "MoneyValue", "amount": 34999, "currency": "EUR"},
        "previous_plan": {"__typename": "StringValue", "string": "Starter"},
        "previous_price": {"__typename": "MoneyValue", "amount": 4900, "currency": "EUR"},
        "changed_at": {"__typename": "DateValue", "date": "2025-11-28T10:00:00+00:00"},
        "annual": {"__typename": "BooleanValue", "boolean": True},
        "seats": {"__typename": "NumberValue", "number": 12.0},
    }
    assert event["metadataJson"]["new_price"] == {"amount": 34999, "currency": "EUR"}
    assert event["metadataJson"]["changed_at"] == "2025-11-28T10:00:00+00:00"
    assert payload["contact"]["role"] == "USER"
    assert payload["contact"]["userId"] == "beth"
    assert payload["summary"] == {
        "name": "upgraded-plan",
        "count": 1,
        "firstAt": iso(),
        "lastAt": iso(),
    }


async def test_purchase_with_rich_link_amount_and_invoice(gql: GraphQL) -> None:
    payload = await track(
        gql,
        name="bought-game",
        contact={"email": "Player@Example.com"},
        metadata={
            "item": "The Legend of Zelda",
            "order_number": {"url": "https://shop.example/orders/123", "value": "ORDER-123"},
            "order_date": "2026-11-27T18:30:00+01:00",
            "amount": {"amount": 5999, "currency": "usd"},
            "stripe_invoice": "https://dashboard.stripe.com/invoices/in_123",
        },
    )
    assert payload["userErrors"] == []
    values = {m["key"]: m["value"] for m in payload["event"]["metadata"]}
    assert values["order_number"] == {
        "__typename": "LinkValue",
        "url": "https://shop.example/orders/123",
        "text": "ORDER-123",
    }
    assert values["stripe_invoice"] == {
        "__typename": "LinkValue",
        "url": "https://dashboard.stripe.com/invoices/in_123",
        "text": None,
    }
    assert values["order_date"] == {"__typename": "DateValue", "date": "2026-11-27T17:30:00+00:00"}
    assert values["amount"] == {"__typename": "MoneyValue", "amount": 5999, "currency": "USD"}
    assert payload["event"]["metadataJson"] == {
        "item": "The Legend of Zelda",
        "order_number": {"url": "https://shop.example/orders/123", "value": "ORDER-123"},
        "order_date": "2026-11-27T17:30:00+00:00",
        "amount": {"amount": 5999, "currency": "USD"},
        "stripe_invoice": "https://dashboard.stripe.com/invoices/in_123",
    }
    # An email ref names a user; the email is stored normalized.
    assert payload["contact"]["role"] == "USER"
    assert payload["contact"]["email"] == "player@example.com"


async def test_page_views_count_per_contact_and_in_the_catalog(gql: GraphQL) -> None:
    for _ in range(4):
        await track(gql, name="viewed-pricing", contact={"anonymousId": "visitor-1"})
    payload = await track(
        gql,
        name="viewed-pricing",
        contact={"anonymousId": "visitor-2"},
        metadata={"path": "/pricing", "referrer": "https://news.example/item"},
    )
    assert payload["contact"]["role"] == "LEAD"
    assert payload["contact"]["anonymousId"] == "visitor-2"

    data = await gql.data(CONTACT, ref={"anonymousId": "visitor-1"})
    assert data["contact"]["role"] == "LEAD"
    assert [(s["name"], s["count"]) for s in data["contact"]["eventSummaries"]] == [
        ("viewed-pricing", 4)
    ]
    types = (await gql.data(EVENT_TYPES))["eventTypes"]
    assert types == [
        {
            "name": "viewed-pricing",
            "count": 5,
            "contactCount": 2,
            "firstAt": iso(),
            "lastAt": iso(),
            "metadataKeys": [
                {"key": "path", "type": "string", "types": ["string"]},
                {"key": "referrer", "type": "link", "types": ["link"]},
            ],
        }
    ]


async def test_out_of_order_events_give_exact_summaries(gql: GraphQL) -> None:
    for days in (-1, -5, -3):
        await track(
            gql, name="exported-pdf", contact={"userId": "u1"}, occurredAt=iso(timedelta(days))
        )
    data = await gql.data(CONTACT, ref={"userId": "u1"})
    contact = data["contact"]
    assert contact["eventSummaries"] == [
        {
            "name": "exported-pdf",
            "count": 3,
            "firstAt": iso(timedelta(days=-5)),
            "lastAt": iso(timedelta(days=-1)),
        }
    ]
    times = [e["node"]["occurredAt"] for e in contact["activity"]["edges"]]
    assert times == [iso(timedelta(days=d)) for d in (-1, -3, -5)]


async def test_events_older_than_retention_count_but_are_not_shown(
    gql: GraphQL, clock: ManualClock
) -> None:
    await track(
        gql, name="created-report", contact={"userId": "u1"}, occurredAt=iso(-timedelta(100))
    )
    await track(
        gql, name="created-report", contact={"userId": "u1"}, occurredAt=iso(-timedelta(89))
    )
    contact = (await gql.data(CONTACT, ref={"userId": "u1"}))["contact"]
    assert contact["eventSummaries"][0]["count"] == 2
    assert contact["eventSummaries"][0]["firstAt"] == iso(-timedelta(100))
    shown = [e["node"]["occurredAt"] for e in contact["activity"]["edges"]]
    assert shown == [iso(-timedelta(89))]

    clock.advance(timedelta(days=2))  # the 89-day-old event leaves the window too
    contact = (await gql.data(CONTACT, ref={"userId": "u1"}))["contact"]
    assert contact["activity"]["edges"] == []
    assert contact["eventSummaries"][0]["count"] == 2
    assert contact["eventSummaries"][0]["lastAt"] == iso(-timedelta(89))


async def test_activity_pages_newest_first_with_filters(gql: GraphQL) -> None:
    for hour in range(5):
        await track(
            gql,
            name="viewed-page",
            contact={"userId": "u1"},
            occurredAt=iso(timedelta(hours=-hour)),
        )
    await track(
        gql, name="exported-pdf", contact={"userId": "u1"}, occurredAt=iso(-timedelta(hours=2))
    )

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = await gql.data(
            CONTACT, ref={"userId": "u1"}, first=2, after=after, names=["Viewed-Page"]
        )
        activity = data["contact"]["activity"]
        seen += [e["node"]["occurredAt"] for e in activity["edges"]]
        pages += 1
        if not activity["pageInfo"]["hasNextPage"]:
            break
        after = activity["pageInfo"]["endCursor"]
        assert after == activity["edges"][-1]["cursor"]
    assert pages == 3
    assert seen == [iso(timedelta(hours=-h)) for h in range(5)]

    data = await gql.data(
        CONTACT,
        ref={"userId": "u1"},
        since=iso(timedelta(hours=-3)),
        until=iso(timedelta(hours=-1)),
    )
    window = [
        (e["node"]["name"], e["node"]["occurredAt"]) for e in data["contact"]["activity"]["edges"]
    ]
    # Same instant: the event received last comes first.
    assert window == [
        ("exported-pdf", iso(timedelta(hours=-2))),
        ("viewed-page", iso(timedelta(hours=-2))),
        ("viewed-page", iso(timedelta(hours=-3))),
    ]


async def test_bad_pagination_arguments_are_coded_errors(gql: GraphQL) -> None:
    await track(gql, name="viewed-page", contact={"userId": "u1"})
    assert await gql.error_codes(CONTACT, ref={"userId": "u1"}, after="not-a-cursor") == [
        "INVALID_CURSOR"
    ]
    assert await gql.error_codes(CONTACT, ref={"userId": "u1"}, first=101) == ["INVALID_PAGE_SIZE"]
    assert await gql.error_codes(CONTACT, ref={"userId": "u1"}, names=["a.b"]) == [
        "INVALID_EVENT_NAME"
    ]


async def test_concurrent_events_on_one_new_contact_are_counted_exactly(gql: GraphQL) -> None:
    results = await asyncio.gather(
        *(
            track(
                gql,
                name="used-feature",
                contact={"userId": "busy"},
                occurredAt=iso(timedelta(minutes=-i)),
            )
            for i in range(60)
        )
    )
    assert all(r["userErrors"] == [] for r in results)
    assert len({r["contact"]["id"] for r in results}) == 1
    assert sorted(r["summary"]["count"] for r in results) == list(range(1, 61))
    contact = (await gql.data(CONTACT, ref={"userId": "busy"}))["contact"]
    assert contact["eventSummaries"] == [
        {
            "name": "used-feature",
            "count": 60,
            "firstAt": iso(timedelta(minutes=-59)),
            "lastAt": iso(),
        }
    ]
    types = (await gql.data(EVENT_TYPES))["eventTypes"]
    assert (types[0]["count"], types[0]["contactCount"]) == (60, 1)


async def test_idempotency_key_makes_a_retry_a_duplicate(gql: GraphQL) -> None:
    first = await track(
        gql, name="placed-order", contact={"userId": "u1"}, idempotencyKey="order-1"
    )
    again = await track(
        gql, name="placed-order", contact={"userId": "u1"}, idempotencyKey="order-1"
    )
    other = await track(
        gql, name="placed-order", contact={"userId": "u1"}, idempotencyKey="order-2"
    )
    assert (first["duplicate"], again["duplicate"], other["duplicate"]) == (False, True, False)
    assert again["event"]["id"] == first["event"]["id"]
    assert again["userErrors"] == []
    assert again["summary"]["count"] == 1
    assert other["summary"]["count"] == 2
    types = (await gql.data(EVENT_TYPES))["eventTypes"]
    assert types[0]["count"] == 2


async def test_track_event_costs_six_store_commands_in_its_transaction(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    # The key is now checked; the name, its metadata key and this contact's catalog shard of it
    # exist (a new name costs more: its name document, the catalog's size and a note on the
    # workspace; a new metadata key, a write to the name document).
    await track(gql, name="upgraded-plan", contact={"userId": "u1"}, metadata={"plan": "basic"})
    before = await store_commands(http)
    await track(
        gql,
        name="upgraded-plan",
        contact={"userId": "u1"},
        metadata={"plan": "pro"},
        idempotencyKey="k1",
    )
    after = await store_commands(http)
    spent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert spent == {
        ("event_types", "find"): 1,  # is the name in the catalog (the names' cap)
        ("idempotency_keys", "insert"): 1,
        ("contacts", "find_and_modify"): 1,
        ("events", "insert"): 1,
        ("event_type_counts", "update"): 1,  # one shard of the catalog entry, never a hot one
        **IN_TRANSACTION,
    }
    before = after
    await track(gql, name="upgraded-plan", contact={"userId": "u1"}, metadata={"seats": 3})
    after = await store_commands(http)
    # A metadata key the name never had is noted on its name document (the keys' cap).
    assert after[("event_types", "bulk_write")] - before.get(("event_types", "bulk_write"), 0) == 1
    before = after
    await track(gql, name="downgraded-plan", contact={"userId": "u1"})
    after = await store_commands(http)
    # A name never seen before also gets its catalog name document.
    assert after[("event_types", "bulk_write")] - before.get(("event_types", "bulk_write"), 0) == 1


async def test_ingestion_results_are_counted_in_metrics(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    await track(gql, name="a", contact={"userId": "u1"}, idempotencyKey="k")
    await track(gql, name="a", contact={"userId": "u1"}, idempotencyKey="k")
    await track(gql, name="a.b", contact={"userId": "u1"})
    text = (await http.get("/metrics")).text
    assert 'tally_events_ingested_total{result="accepted"} 1.0' in text
    assert 'tally_events_ingested_total{result="duplicate"} 1.0' in text
    assert 'tally_events_ingested_total{result="rejected"} 1.0' in text
    assert 'tally_graphql_request_duration_seconds_count{operation_type="mutation"} 3.0' in text


async def test_a_workspace_change_applies_to_the_next_track_event(
    gql: GraphQL, clock: ManualClock
) -> None:
    # The retention a retried event's original is shown within is the workspace's as it is now.
    first = await track(gql, name="paid", contact={"userId": "u1"}, idempotencyKey="k")
    clock.advance(timedelta(days=10))
    retried = await track(gql, name="paid", contact={"userId": "u1"}, idempotencyKey="k")
    assert retried["duplicate"] is True
    assert retried["event"]["id"] == first["event"]["id"]
    shorter = "mutation { updateWorkspace(retentionDays: 5) { userErrors { code } } }"
    assert (await gql.data(shorter))["updateWorkspace"]["userErrors"] == []
    retried = await track(gql, name="paid", contact={"userId": "u1"}, idempotencyKey="k")
    assert retried["duplicate"] is True
    assert retried["event"] is None


async def test_an_admin_key_may_name_its_contact_by_any_ref(gql: GraphQL) -> None:
    # (A publishable key may not name one by id: tests/api/test_keys.py.)
    first = await track(gql, name="a", contact={"userId": "u1"})
    contact_id = first["contact"]["id"]
    for ref in ({"id": contact_id}, {"userId": "u1"}):
        payload = await track(gql, name="a", contact=ref)
        assert (payload["userErrors"], payload["contact"]["id"]) == ([], contact_id)
    assert payload["summary"]["count"] == 3
