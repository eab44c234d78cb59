"""Merges and deletions on a busy store: ONCE messages on both sides, events recorded while a
merge or deletion runs, bounded steps, interrupted work completed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId
from starlette.applications import Starlette

from app.clock import ManualClock
from app.services.pending import complete_pending
from app.store import deletions, merges
from tests.api.test_identity import MERGE, UPSERT, catalog, contact
from tests.api.test_keys import sign
from tests.api.test_message_rules import create
from tests.api.test_privacy import DELETE
from tests.api.test_publishable import PK_TRACK, page_key, verification_on
from tests.api.test_publishable import codes as pk_codes
from tests.api.test_track_event import track
from tests.faults import Faults
from tests.helpers import GraphQL

MESSAGES = """
query Messages($contact: ContactRef) {
  messages(contact: $contact, first: 50) {
    edges { node { status lastError rule { name } contact { id } } }
  }
}
"""


async def messages(gql: GraphQL, ref: dict[str, str]) -> list[tuple[str, str, str | None]]:
    data = (await gql.data(MESSAGES, contact=ref))["messages"]
    return sorted(
        (e["node"]["rule"]["name"], e["node"]["status"], e["node"]["lastError"])
        for e in data["edges"]
    )


def rule(name: str, event: str, delay: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "trigger": {"kind": "EVENT", "eventName": event},
        "delaySeconds": delay,
        "content": {"channel": "IN_APP", "body": "Hello"},
    }


async def test_converting_a_lead_when_both_were_sent_a_once_message(
    gql: GraphQL, app: Starlette
) -> None:
    await create(gql, rule("Pricing help", "viewed-pricing"))
    await track(gql, name="viewed-pricing", contact={"anonymousId": "visitor-1"})
    await track(gql, name="viewed-pricing", contact={"userId": "ada"})
    faults = Faults(app.state.services.store)
    payload = (
        await gql.data(UPSERT, input={"ref": {"anonymousId": "visitor-1"}, "userId": "ada"})
    )["upsertContact"]
    faults.restore()
    assert payload["userErrors"] == []
    assert faults.errors == []  # no write was refused (a refusal aborts a transaction)
    # Both were sent: both stay as the person's history; the rule still fires once.
    assert await messages(gql, {"userId": "ada"}) == [
        ("Pricing help", "SENT", None),
        ("Pricing help", "SENT", None),
    ]
    await track(gql, name="viewed-pricing", contact={"userId": "ada"})
    await track(gql, name="viewed-pricing", contact={"anonymousId": "visitor-1"})
    assert len(await messages(gql, {"userId": "ada"})) == 2


async def test_merging_keeps_one_once_message_per_rule_a_sent_one_first(
    gql: GraphQL, app: Starlette, clock: ManualClock
) -> None:
    await create(gql, rule("Cart reminder", "added-to-cart", delay=3600))
    await create(gql, rule("Pricing help", "viewed-pricing", delay=3600))
    await track(gql, name="added-to-cart", contact={"anonymousId": "visitor-1"})
    clock.advance(timedelta(hours=1))
    assert await app.state.services.scheduler.tick() == 1  # the lead's reminder is sent
    await track(gql, name="added-to-cart", contact={"userId": "ada"})
    await track(gql, name="viewed-pricing", contact={"anonymousId": "visitor-1"})
    await track(gql, name="viewed-pricing", contact={"userId": "ada"})

    faults = Faults(app.state.services.store)
    merged = (
        await gql.data(MERGE, **{"from": {"anonymousId": "visitor-1"}, "into": {"userId": "ada"}})
    )["mergeContacts"]
    faults.restore()
    assert merged["userErrors"] == []
    assert faults.errors == []
    # The reminder was already sent to the person: the user's scheduled one is cancelled. Both
    # pricing messages were scheduled: the user's is kept, the lead's cancelled. Each says why.
    assert await messages(gql, {"userId": "ada"}) == [
        ("Cart reminder", "CANCELLED", merges.SUPERSEDED),
        ("Cart reminder", "SENT", None),
        ("Pricing help", "CANCELLED", merges.SUPERSEDED),
        ("Pricing help", "SCHEDULED", None),
    ]
    clock.advance(timedelta(hours=1))
    assert await app.state.services.scheduler.tick() == 1
    await track(gql, name="added-to-cart", contact={"userId": "ada"})
    assert [m[1] for m in await messages(gql, {"userId": "ada"})] == [
        "CANCELLED", "SENT", "CANCELLED", "SENT",
    ]  # fmt: skip


async def test_an_event_recorded_while_a_merge_starts_is_counted_once(
    gql: GraphQL, app: Starlette
) -> None:
    await track(gql, name="viewed-page", contact={"anonymousId": "visitor-1"})
    await track(gql, name="viewed-page", contact={"userId": "ada"})
    faults = Faults(app.state.services.store)

    async def another_request() -> None:
        await track(gql, name="viewed-page", contact={"anonymousId": "visitor-1"})

    # Reads: the lead, the user (by the service), then the lead again inside the merge's
    # transaction: the other request lands between the service's reads and the transaction.
    faults.before("contacts", "find", nth=3, run=another_request)
    merged = (
        await gql.data(MERGE, **{"from": {"anonymousId": "visitor-1"}, "into": {"userId": "ada"}})
    )["mergeContacts"]
    faults.restore()
    assert merged["userErrors"] == []
    ada = await contact(gql, {"userId": "ada"})
    assert ada is not None
    assert [(s["name"], s["count"]) for s in ada["eventSummaries"]] == [("viewed-page", 3)]
    assert len(ada["activity"]["edges"]) == 3
    assert await catalog(gql) == {"viewed-page": (3, 1)}


async def test_an_event_recorded_while_a_deletion_starts_is_deleted_with_it(
    gql: GraphQL, app: Starlette
) -> None:
    await track(gql, name="viewed-page", contact={"userId": "ada"})
    await track(gql, name="viewed-page", contact={"userId": "bob"})
    faults = Faults(app.state.services.store)

    async def another_request() -> None:
        await track(gql, name="viewed-page", contact={"userId": "ada"})
        await track(gql, name="exported-pdf", contact={"userId": "ada"})

    # Reads: the contact (by the service), then again inside the deletion's transaction.
    faults.before("contacts", "find", nth=2, run=another_request)
    payload = (await gql.data(DELETE, ref={"userId": "ada"}))["deleteContact"]
    faults.restore()
    assert payload["deletedEventCount"] == 3
    assert await catalog(gql) == {"viewed-page": (1, 1)}


async def test_a_merge_moves_events_in_bounded_chunks(
    gql: GraphQL, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(merges, "CHUNK", 2)
    for _ in range(5):
        await track(gql, name="viewed-page", contact={"anonymousId": "visitor-1"})
    await track(gql, name="viewed-page", contact={"userId": "ada"})
    faults = Faults(app.state.services.store)
    await gql.data(MERGE, **{"from": {"anonymousId": "visitor-1"}, "into": {"userId": "ada"}})
    faults.restore()
    assert faults.commands.count(("events", "update")) == 3  # 2 + 2 + 1
    ada = await contact(gql, {"userId": "ada"})
    assert ada is not None
    assert len(ada["activity"]["edges"]) == 6


async def test_an_interrupted_deletion_is_completed_by_the_sweep(
    gql: GraphQL, app: Starlette, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deletions, "CHUNK", 2)
    store = app.state.services.store
    for _ in range(5):
        await track(gql, name="viewed-page", contact={"userId": "ada"})
    ada = await contact(gql, {"userId": "ada"})
    assert ada is not None
    faults = Faults(store)
    faults.before("events", "delete", nth=2, raise_=ConnectionError("the process died"))
    failed = await gql.result(DELETE, ref={"userId": "ada"})
    faults.restore()
    assert failed["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    # The person is gone at once; 3 of the raw events are left for the sweep.
    assert await contact(gql, {"userId": "ada"}) is None
    assert await catalog(gql) == {}
    events = store.collection("events")
    assert await events.count({"contact_id": ObjectId(ada["id"])}) == 3

    # A sweep leaves young jobs to the request that started them; at start-up, or in the
    # scheduler's next rounds, the job is older.
    assert await complete_pending(store, now=clock.now()) == 0
    later = clock.now() + timedelta(minutes=2)
    assert await complete_pending(store, now=later) == 1
    assert await events.count({"contact_id": ObjectId(ada["id"])}) == 0
    assert await complete_pending(store, now=later) == 0


async def test_an_interrupted_merge_is_completed_by_the_sweep(
    gql: GraphQL, app: Starlette, clock: ManualClock
) -> None:
    await create(gql, rule("Welcome", "viewed-page"))
    for _ in range(3):
        await track(gql, name="viewed-page", contact={"anonymousId": "visitor-1"})
    await track(gql, name="viewed-page", contact={"userId": "ada"})
    lead = await contact(gql, {"anonymousId": "visitor-1"})
    assert lead is not None
    store = app.state.services.store
    faults = Faults(store)
    # Inside the first step, after the summaries were folded, before the messages are settled.
    faults.before("messages", "find", raise_=ConnectionError("the process died"))
    failed = await gql.result(
        MERGE, **{"from": {"anonymousId": "visitor-1"}, "into": {"userId": "ada"}}
    )
    faults.restore()
    assert failed["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await complete_pending(store, now=clock.now() + timedelta(minutes=2)) == 1
    assert await contact(gql, {"id": lead["id"]}) is None
    ada = await contact(gql, {"userId": "ada"})
    assert ada is not None
    assert ada["eventSummaries"][0]["count"] == 4
    assert len(ada["activity"]["edges"]) == 4
    assert await catalog(gql) == {"viewed-page": (4, 1)}
    assert await messages(gql, {"userId": "ada"}) == [
        ("Welcome", "SENT", None),
        ("Welcome", "SENT", None),
    ]
    await track(gql, name="viewed-page", contact={"userId": "ada"})
    assert len(await messages(gql, {"userId": "ada"})) == 2


async def test_halfway_through_a_merge_the_anonymous_id_needs_the_users_hash(
    gql: GraphQL, http: httpx.AsyncClient, app: Starlette
) -> None:
    secret = await verification_on(gql)
    page = await page_key(gql, http)
    await page.data(PK_TRACK, input={"name": "viewed-page", "contact": {"anonymousId": "v1"}})
    await track(gql, name="viewed-page", contact={"userId": "ada"})
    faults = Faults(app.state.services.store)
    faults.before("events", "update", raise_=ConnectionError("the process died"))
    await gql.result(MERGE, **{"from": {"anonymousId": "v1"}, "into": {"userId": "ada"}})
    faults.restore()
    # Writes by v1 now reach ada: the page needs ada's hash, as once the merge is done.
    event = {"name": "viewed-page", "contact": {"anonymousId": "v1"}}
    assert await pk_codes(page, PK_TRACK, **event) == ["INVALID_USER_HASH"]
    assert await pk_codes(page, PK_TRACK, **event, userHash=sign(secret, "ada")) == []


@pytest.mark.parametrize("ref", [{"anonymousId": "visitor-1"}, {"userId": "ada"}])
async def test_deleting_a_person_halfway_through_a_merge_finishes_it_first(
    gql: GraphQL, app: Starlette, ref: dict[str, str]
) -> None:
    for _ in range(2):
        await track(gql, name="viewed-page", contact={"anonymousId": "visitor-1"})
    await track(gql, name="viewed-page", contact={"userId": "ada"})
    await track(gql, name="viewed-page", contact={"userId": "bob"})
    ada = await contact(gql, {"userId": "ada"})
    assert ada is not None
    faults = Faults(app.state.services.store)
    faults.before("events", "update", raise_=ConnectionError("the process died"))
    await gql.result(MERGE, **{"from": {"anonymousId": "visitor-1"}, "into": {"userId": "ada"}})
    faults.restore()
    # The lead and the user are one person now: deleting either deletes all of it.
    payload = (await gql.data(DELETE, ref=ref))["deleteContact"]
    assert payload == {"deletedContactId": ada["id"], "deletedEventCount": 3, "userErrors": []}
    assert await contact(gql, {"anonymousId": "visitor-1"}) is None
    assert await contact(gql, {"userId": "ada"}) is None
    assert await catalog(gql) == {"viewed-page": (1, 1)}


async def test_a_merge_interrupted_before_its_job_was_recorded_is_finished_by_a_deletion(
    gql: GraphQL, app: Starlette
) -> None:
    """Without transactions (the embedded store, a standalone server) a crash can fall between
    the plan fixed on the lead and the job: the plan on the lead is enough to finish it."""
    await track(gql, name="viewed-page", contact={"anonymousId": "visitor-1"})
    await track(gql, name="viewed-page", contact={"userId": "ada"})
    ada = await contact(gql, {"userId": "ada"})
    assert ada is not None
    faults = Faults(app.state.services.store)
    faults.before("jobs", "update", raise_=ConnectionError("the process died"))
    await gql.result(MERGE, **{"from": {"anonymousId": "visitor-1"}, "into": {"userId": "ada"}})
    faults.restore()
    payload = (await gql.data(DELETE, ref={"anonymousId": "visitor-1"}))["deleteContact"]
    assert payload == {"deletedContactId": ada["id"], "deletedEventCount": 2, "userErrors": []}
    assert await catalog(gql) == {}
