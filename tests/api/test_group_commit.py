"""Single trackEvents that arrive together are recorded together (app/services/group_commit.py):
fewer transactions, and each request still gets exactly its own outcome."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from app.clock import ManualClock
from app.server import create_app
from app.settings import Settings
from tests.api.test_track_event import CONTACT, TRACK, iso, track
from tests.faults import Faults
from tests.helpers import ADMIN_KEY, GraphQL, total_store_commands
from tests.live_server import server_in_thread

DAY = timedelta(days=1)
UPSERT = """
mutation Upsert($input: ContactInput!) { upsertContact(input: $input) { userErrors { code } } }
"""


async def groups(http: httpx.AsyncClient) -> tuple[float, float]:
    """(transactions of single events, events in them) from tally_event_group_size."""
    text = (await http.get("/metrics")).text
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "tally_event_group_size"
        for sample in family.samples
    }
    return samples["tally_event_group_size_count"], samples["tally_event_group_size_sum"]


async def track_together(
    gql: GraphQL, refs: list[dict[str, str]], offsets: list[timedelta]
) -> list[dict[str, Any]]:
    """A "paid" event per ref, at its offset, all sent at once."""
    return await asyncio.gather(
        *(
            track(gql, name="paid", contact=ref, occurredAt=iso(offset))
            for ref, offset in zip(refs, offsets, strict=True)
        )
    )


def assert_running_summaries(results: list[dict[str, Any]]) -> None:
    """Events of one contact: each answer counts the events up to its own, with their firstAt
    and lastAt."""
    by_count = sorted(results, key=lambda r: r["summary"]["count"])
    assert [r["summary"]["count"] for r in by_count] == list(range(1, len(results) + 1))
    first = last = datetime.fromisoformat(by_count[0]["event"]["occurredAt"])
    for result in by_count:
        occurred = datetime.fromisoformat(result["event"]["occurredAt"])
        first, last = min(first, occurred), max(last, occurred)
        assert datetime.fromisoformat(result["summary"]["firstAt"]) == first
        assert datetime.fromisoformat(result["summary"]["lastAt"]) == last


async def test_concurrent_events_share_transactions_and_each_gets_its_own_summary(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    await track(
        gql, name="viewed-pricing", contact={"userId": "ann"}, occurredAt=iso(timedelta(days=-10))
    )
    before_groups, before_events = await groups(http)
    before_commands = await total_store_commands(http)
    # Out of order on purpose: some older than the first event, some newer.
    offsets = [timedelta(days=-20 + 2 * (i % 9), minutes=i) for i in range(20)]
    results = await asyncio.gather(
        *(
            track(gql, name="viewed-pricing", contact={"userId": "ann"}, occurredAt=iso(offset))
            for offset in offsets
        )
    )
    assert all(r["userErrors"] == [] for r in results)
    after_groups, after_events = await groups(http)
    assert after_events - before_events == 20
    assert after_groups - before_groups < 20  # several events a transaction
    assert await total_store_commands(http) - before_commands < 20 * 6
    # Each summary is the contact's after that very event: counts 2..21, and firstAt / lastAt
    # the earliest / latest of the events counted up to it.
    by_count = sorted(results, key=lambda r: r["summary"]["count"])
    assert [r["summary"]["count"] for r in by_count] == list(range(2, 22))
    first = last = datetime.fromisoformat(iso(timedelta(days=-10)))
    for result in by_count:
        occurred = datetime.fromisoformat(result["event"]["occurredAt"])
        first, last = min(first, occurred), max(last, occurred)
        assert datetime.fromisoformat(result["summary"]["firstAt"]) == first
        assert datetime.fromisoformat(result["summary"]["lastAt"]) == last
    contact = (await gql.data(CONTACT, ref={"userId": "ann"}))["contact"]
    [summary] = contact["eventSummaries"]
    assert summary["count"] == 21
    assert datetime.fromisoformat(summary["firstAt"]) == first
    assert datetime.fromisoformat(summary["lastAt"]) == last


async def test_concurrent_events_at_one_instant_each_get_their_own_count(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    """Without occurredAt a group's events share one instant (the test clock stands still):
    each answer still counts up to its own event and keeps the earlier event's firstAt."""
    await track(gql, name="viewed-pricing", contact={"userId": "eve"}, occurredAt=iso(-DAY))
    before_groups, _ = await groups(http)
    results = await asyncio.gather(
        *(track(gql, name="viewed-pricing", contact={"userId": "eve"}) for _ in range(12))
    )
    assert (await groups(http))[0] - before_groups < 12  # several events a transaction
    assert sorted(r["summary"]["count"] for r in results) == list(range(2, 14))
    for result in results:
        assert result["summary"]["firstAt"] == iso(-DAY)
        assert result["summary"]["lastAt"] == result["event"]["occurredAt"]


async def test_one_contact_by_two_refs_in_a_group_gets_exact_summaries(gql: GraphQL) -> None:
    """A userId and an email naming one user, each ref's events at an instant of its own (the
    lone first ones are written at once, the rest as a group): each answer holds the firstAt
    and lastAt of the events counted up to its own."""
    upserted = await gql.data(UPSERT, input={"ref": {"userId": "gus"}, "email": "gus@x.io"})
    assert upserted["upsertContact"]["userErrors"] == []
    refs = [{"userId": "gus"}] * 12 + [{"email": "gus@x.io"}] * 4
    offsets = [-DAY] * 12 + [-DAY + timedelta(hours=1)] * 4
    results = await track_together(gql, refs, offsets)
    assert_running_summaries(results)


async def test_users_at_instants_of_their_own_each_get_their_own_summary(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    users = [f"user-{i}" for i in range(12)]
    for user in users:
        await track(gql, name="paid", contact={"userId": user}, occurredAt=iso(-3 * DAY))
    before_groups, _ = await groups(http)
    results = await asyncio.gather(
        *(
            track(gql, name="paid", contact={"userId": user}, occurredAt=iso(-timedelta(hours=i)))
            for i, user in enumerate(users)
        )
    )
    assert (await groups(http))[0] - before_groups < 12  # several events a transaction
    for i, result in enumerate(results):
        assert result["contact"]["userId"] == users[i]
        assert result["summary"]["count"] == 2
        assert result["summary"]["firstAt"] == iso(-3 * DAY)
        assert result["summary"]["lastAt"] == iso(-timedelta(hours=i))


async def test_two_anonymous_ids_of_one_user_in_a_group_get_exact_summaries(
    gql: GraphQL,
) -> None:
    """A user keeps the anonymousId of the lead it was converted from and, as an alias, that of
    a lead merged into it: events by both, each at an instant of its own, count as one
    contact's."""
    for visitor in ("v1", "v2"):
        await track(gql, name="visited", contact={"anonymousId": visitor})
        upserted = await gql.data(UPSERT, input={"ref": {"anonymousId": visitor}, "userId": "hal"})
        assert upserted["upsertContact"]["userErrors"] == []
    refs = [{"anonymousId": "v1"}] * 12 + [{"anonymousId": "v2"}] * 4
    offsets = [-DAY] * 12 + [-DAY + timedelta(hours=1)] * 4
    results = await track_together(gql, refs, offsets)
    assert {r["contact"]["userId"] for r in results} == {"hal"}
    assert_running_summaries(results)


TRACK_CONTACT = """
mutation Track($input: TrackEventInput!) {
  trackEvent(input: $input) {
    contact { id lastSeenAt eventSummaries { name count firstAt lastAt } }
    userErrors { code }
  }
}
"""


async def test_a_group_by_two_refs_of_one_user_answers_the_contact_as_left(gql: GraphQL) -> None:
    """A group whose contacts were read before it (refs that may name one contact) answers each
    event's `contact` as the transaction left it: both refs' events added once, to one
    contact, equal to what a read after the group shows."""
    await track(gql, name="visited", contact={"anonymousId": "v9"})
    upserted = await gql.data(UPSERT, input={"ref": {"anonymousId": "v9"}, "userId": "ida"})
    assert upserted["upsertContact"]["userErrors"] == []
    refs = [{"anonymousId": "v9"}, {"userId": "ida"}] * 12
    offsets = [-DAY, -DAY + timedelta(hours=2)] * 12
    answers = await asyncio.gather(
        *(
            gql.data(
                TRACK_CONTACT, input={"name": "paid", "contact": ref, "occurredAt": iso(offset)}
            )
            for ref, offset in zip(refs, offsets, strict=True)
        )
    )
    contacts = [answer["trackEvent"]["contact"] for answer in answers]
    read = (await gql.data(CONTACT, ref={"userId": "ida"}))["contact"]
    assert {c["id"] for c in contacts} == {read["id"]}
    paid = [s for s in read["eventSummaries"] if s["name"] == "paid"]
    assert paid[0]["count"] == 24
    # Events of one group may be answered before later groups of the same burst are written.
    last = max(
        contacts, key=lambda c: next(s["count"] for s in c["eventSummaries"] if s["name"] == "paid")
    )
    assert last["eventSummaries"] == read["eventSummaries"]
    assert last["lastSeenAt"] is not None


async def test_a_group_keeps_each_request_s_own_outcome(gql: GraphQL) -> None:
    inputs: list[dict[str, Any]] = [
        {"name": "bought-game", "contact": {"userId": "bo"}, "idempotencyKey": "order-1"},
        {"name": "bought-game", "contact": {"userId": "bo"}, "idempotencyKey": "order-1"},
        {"name": "not a name!", "contact": {"userId": "bo"}},
        {"name": "bought-game", "contact": {"id": "000000000000000000000000"}},
        {"name": "viewed-page", "contact": {"anonymousId": "visitor-9"}},
        {"name": "bought-game", "contact": {"userId": "cy"}},
    ]
    results = await asyncio.gather(*(track(gql, **i) for i in inputs))
    first, again, bad_name, nobody, lead, other = results
    assert first["userErrors"] == []
    assert not first["duplicate"]
    assert again["duplicate"]
    assert again["event"]["id"] == first["event"]["id"]
    assert [e["code"] for e in bad_name["userErrors"]] == ["INVALID_EVENT_NAME"]
    assert [e["code"] for e in nobody["userErrors"]] == ["CONTACT_NOT_FOUND"]
    assert lead["contact"]["role"] == "LEAD"
    assert lead["summary"]["count"] == 1
    assert other["contact"]["userId"] == "cy"
    assert other["summary"]["count"] == 1
    assert first["summary"]["count"] == 1
    assert first["contact"]["userId"] == "bo"
    bo = (await gql.data(CONTACT, ref={"userId": "bo"}))["contact"]
    assert bo["eventSummaries"][0]["count"] == 1  # the retried order counted once


async def test_a_store_fault_reaches_every_request_of_its_group(
    gql: GraphQL, app: Starlette
) -> None:
    await track(gql, name="used-feature", contact={"userId": "dee"})
    # A burst first: the workspace's lane has seen company, so the next requests that arrive
    # together wait for one another (a quiet lane writes a lone event at once).
    await asyncio.gather(
        *(track(gql, name="warm-up", contact={"userId": "dee"}) for _ in range(12))
    )
    faults = Faults(app.state.services.store)
    faults.before("events", "insert", raise_=ConnectionError("the database went away"))
    try:
        bodies = await asyncio.gather(
            *(
                gql.result(
                    "mutation($i: TrackEventInput!) { trackEvent(input: $i) { duplicate } }",
                    i={"name": "used-feature", "contact": {"userId": f"u{n}"}},
                )
                for n in range(4)
            )
        )
    finally:
        faults.restore()
    for body in bodies:
        assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL_SERVER_ERROR"]
    # The next events go through.
    assert (await track(gql, name="used-feature", contact={"userId": "dee"}))["summary"][
        "count"
    ] == 2


async def test_concurrent_events_over_real_connections_are_each_exact(
    settings: Settings, clock: ManualClock
) -> None:
    """uvicorn on a socket, 40 connections at once: whatever groups the server's event loop
    makes of them, every answer holds its own event's summary."""
    offsets = [timedelta(hours=-((i * 7) % 50), minutes=-i) for i in range(40)]  # out of order
    with server_in_thread(create_app(settings, clock=clock)) as live:
        async with httpx.AsyncClient(
            base_url=live.url,
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=30,
            limits=httpx.Limits(max_connections=40),
        ) as client:

            async def one(offset: timedelta) -> dict[str, Any]:
                variables = {
                    "input": {
                        "name": "viewed-pricing",
                        "contact": {"userId": "eve"},
                        "occurredAt": iso(offset),
                    }
                }
                response = await client.post(
                    "/graphql", json={"query": TRACK, "variables": variables}
                )
                assert response.status_code == 200, response.text
                assert "errors" not in response.json(), response.text
                payload: dict[str, Any] = response.json()["data"]["trackEvent"]
                assert payload["userErrors"] == []
                return payload

            results = await asyncio.gather(*(one(offset) for offset in offsets))
            _, events = await groups(client)
    assert events == 40  # every event went through its workspace's lane
    by_count = sorted(results, key=lambda r: r["summary"]["count"])
    assert [r["summary"]["count"] for r in by_count] == list(range(1, 41))
    first = last = None
    for result in by_count:
        occurred = datetime.fromisoformat(result["event"]["occurredAt"])
        first = occurred if first is None else min(first, occurred)
        last = occurred if last is None else max(last, occurred)
        assert datetime.fromisoformat(result["summary"]["firstAt"]) == first
        assert datetime.fromisoformat(result["summary"]["lastAt"]) == last
