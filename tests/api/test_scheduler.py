"""The scheduler: delayed messages, AUDIENCE rules, signed webhooks with retries, one sender."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.clock import ManualClock
from app.messaging import audience_rounds
from app.messaging.scheduler import Scheduler, retry_delay
from app.server import create_app
from app.settings import Settings
from app.store import leases
from app.store import rules as store_rules
from app.store.workspaces import get_workspace
from tests.api.test_message_rules import create
from tests.api.test_messages import messages, sent_counts
from tests.api.test_track_event import track
from tests.conftest import running
from tests.helpers import GraphQL

HOOK = "https://hooks.example.com/tally"


class Receiver:
    """A webhook endpoint: records what it receives, answers `status`."""

    def __init__(self) -> None:
        self.received: list[httpx.Request] = []
        self.status = 200

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(self.status)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def app(
    settings: Settings, clock: ManualClock, receiver: Receiver
) -> AsyncIterator[Starlette]:
    transport = httpx.MockTransport(receiver.handle)
    async with running(create_app(settings, clock=clock, webhook_transport=transport)) as started:
        yield started


def scheduler(app: Starlette) -> Scheduler:
    found: Scheduler = app.state.services.scheduler
    return found


async def test_a_delayed_message_is_sent_when_due(
    gql: GraphQL, app: Starlette, clock: ManualClock
) -> None:
    await create(gql, {
        "name": "Cart reminder", "trigger": {"kind": "EVENT", "eventName": "added-to-cart"},
        "delaySeconds": 3600, "exitEventName": "purchased",
        "content": {"channel": "IN_APP", "body": "Still thinking?"},
    })  # fmt: skip
    await track(gql, name="added-to-cart", contact={"userId": "ada"})
    await track(gql, name="added-to-cart", contact={"userId": "bob"})
    await track(gql, name="purchased", contact={"userId": "bob"})
    assert await scheduler(app).tick() == 0  # not due yet
    clock.advance(timedelta(hours=1))
    assert await scheduler(app).tick() == 1
    [ada] = await messages(gql, contact={"userId": "ada"})
    assert (ada["status"], ada["sentAt"]) == ("SENT", clock.now().isoformat())
    assert [m["status"] for m in await messages(gql, contact={"userId": "bob"})] == ["CANCELLED"]
    assert await sent_counts(gql) == {"Cart reminder": 1}
    assert await scheduler(app).tick() == 0


async def test_webhooks_are_signed_with_the_workspace_secret(
    gql: GraphQL, app: Starlette, receiver: Receiver
) -> None:
    await create(gql, {
        "name": "Upgrade hook", "trigger": {"kind": "EVENT", "eventName": "upgraded-plan"},
        "content": {"channel": "WEBHOOK", "subject": "Upgrade", "body": "{{contact.userId}} upgraded", "webhookUrl": HOOK},
    })  # fmt: skip
    await track(gql, name="upgraded-plan", contact={"userId": "ada"})
    [queued] = await messages(gql)
    assert queued["status"] == "SCHEDULED"  # webhooks go out with the scheduler's next round
    assert await scheduler(app).tick() == 1
    [request] = receiver.received
    assert str(request.url) == HOOK
    body = json.loads(request.content)
    assert body["message"]["body"] == "ada upgraded"
    assert body["contact"]["userId"] == "ada"
    assert body["rule"]["name"] == "Upgrade hook"
    workspace = await get_workspace(app.state.services.store, workspace_id="default")
    assert workspace is not None
    fields = dict(part.split("=", 1) for part in request.headers["tally-signature"].split(","))
    expected = hmac.new(
        workspace.webhook_secret.encode(),
        f"{fields['t']}.".encode() + request.content,
        hashlib.sha256,
    )
    assert hmac.compare_digest(fields["v1"], expected.hexdigest())
    assert [m["status"] for m in await messages(gql)] == ["SENT"]


async def test_a_failing_webhook_is_retried_with_backoff_then_failed(
    gql: GraphQL, app: Starlette, clock: ManualClock, receiver: Receiver
) -> None:
    receiver.status = 503
    await create(gql, {
        "name": "Flaky", "trigger": {"kind": "EVENT", "eventName": "signed-up"},
        "content": {"channel": "WEBHOOK", "body": "hi", "webhookUrl": HOOK},
    })  # fmt: skip
    await track(gql, name="signed-up", contact={"userId": "ada"})
    query = "{ messages { edges { node { status attempts lastError dueAt } } } }"
    for attempt in range(1, 6):
        assert await scheduler(app).tick() == 1
        node = (await gql.data(query))["messages"]["edges"][0]["node"]
        assert node["attempts"] == attempt
        assert node["lastError"] == "HTTP 503"
        if attempt < 5:
            assert node["status"] == "SCHEDULED"
            assert await scheduler(app).tick() == 0  # waits for its retry time
            clock.advance(retry_delay(attempt))
    assert node["status"] == "FAILED"
    assert len(receiver.received) == 5
    assert await sent_counts(gql) == {"Flaky": 0}


async def test_an_audience_rule_reaches_each_matching_contact_once(
    gql: GraphQL, app: Starlette
) -> None:
    for who in ("ada", "bob", "cy"):
        await track(gql, name="signed-in", contact={"userId": who})
    await track(gql, name="exported-pdf", contact={"userId": "bob"})
    await create(gql, {
        "name": "Try exports", "trigger": {"kind": "AUDIENCE"},
        "audience": {"role": "USER", "event": {"name": "exported-pdf", "performed": False}},
        "content": {"channel": "IN_APP", "body": "Did you know you can export, {{contact.userId}}?"},
    })  # fmt: skip
    await scheduler(app).tick()
    await scheduler(app).tick()
    assert sorted(m["contact"]["userId"] for m in await messages(gql)) == ["ada", "cy"]
    assert {m["status"] for m in await messages(gql)} == {"SENT"}
    await track(gql, name="signed-in", contact={"userId": "dee"})
    await scheduler(app).tick()
    await scheduler(app).tick()
    assert sorted(m["contact"]["userId"] for m in await messages(gql)) == ["ada", "cy", "dee"]
    assert await sent_counts(gql) == {"Try exports": 3}


async def test_two_schedulers_never_send_a_message_twice(
    gql: GraphQL, app: Starlette, clock: ManualClock, settings: Settings, receiver: Receiver
) -> None:
    await create(gql, {
        "name": "Hook", "trigger": {"kind": "EVENT", "eventName": "ordered"}, "frequency": "EVERY_TIME",
        "content": {"channel": "WEBHOOK", "body": "{{event.name}}", "webhookUrl": HOOK},
    })  # fmt: skip
    for i in range(10):
        await track(gql, name="ordered", contact={"userId": f"u{i}"})
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver.handle)) as http:
        other = another_scheduler(app, settings, clock, http)
        first = scheduler(app)
        results = await asyncio.gather(first.tick(), other.tick(), first.tick(), other.tick())
        assert sum(results) == 10
        # The lease lapses: the other instance takes over and finds nothing left to send.
        clock.advance(timedelta(minutes=5))
        assert await other.tick() == 0
    assert len(receiver.received) == 10
    assert len({json.loads(r.content)["message"]["id"] for r in receiver.received}) == 10
    statuses: list[Any] = [m["status"] for m in await messages(gql, first=50)]
    assert statuses == ["SENT"] * 10


def another_scheduler(
    app: Starlette, settings: Settings, clock: ManualClock, http: httpx.AsyncClient
) -> Scheduler:
    """The scheduler of another instance over the app's store."""
    services = app.state.services
    return Scheduler(
        store=services.store, settings=settings, clock=clock, http=http, broker=services.broker
    )


class SlowReceiver(Receiver):
    """A webhook that takes `seconds` of the test clock to answer; while it is answering,
    `meanwhile` runs (another scheduler instance's round, say)."""

    def __init__(self, clock: ManualClock, seconds: float) -> None:
        super().__init__()
        self.clock = clock
        self.seconds = seconds
        self.meanwhile: Any = None

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        self.clock.advance(timedelta(seconds=self.seconds))
        meanwhile, self.meanwhile = self.meanwhile, None  # not from inside its own round
        if meanwhile is not None:
            await meanwhile()
            self.meanwhile = meanwhile
        return httpx.Response(200)


async def hooked_orders(gql: GraphQL, count: int) -> None:
    await create(gql, {
        "name": "Hook", "trigger": {"kind": "EVENT", "eventName": "ordered"}, "frequency": "EVERY_TIME",
        "content": {"channel": "WEBHOOK", "body": "{{event.name}}", "webhookUrl": HOOK},
    })  # fmt: skip
    for i in range(count):
        await track(gql, name="ordered", contact={"userId": f"u{i}"})


def sent_ids(receiver: Receiver) -> list[str]:
    return [json.loads(r.content)["message"]["id"] for r in receiver.received]


async def test_slow_webhooks_never_let_a_second_scheduler_send_twice(
    gql: GraphQL, app: Starlette, clock: ManualClock, settings: Settings
) -> None:
    """Each webhook takes 20 s and the lease is held 30 s: a round of 4 outlasts the lease,
    and the other instance tries its round during every delivery."""
    await hooked_orders(gql, 4)
    slow = SlowReceiver(clock, seconds=20)
    async with httpx.AsyncClient(transport=httpx.MockTransport(slow.handle_async)) as http:
        first, other = (another_scheduler(app, settings, clock, http) for _ in range(2))
        others: list[int] = []

        async def other_round() -> None:
            others.append(await other.tick())

        slow.meanwhile = other_round
        assert await first.tick() == 4
        assert others == [0, 0, 0, 0]  # the lease was renewed before each claim
    assert len(sent_ids(slow)) == len(set(sent_ids(slow))) == 4
    assert [m["status"] for m in await messages(gql, first=50)] == ["SENT"] * 4


async def test_a_round_stops_sending_when_its_lease_is_lost(
    gql: GraphQL, app: Starlette, clock: ManualClock, settings: Settings
) -> None:
    await hooked_orders(gql, 3)
    slow = SlowReceiver(clock, seconds=5)
    async with httpx.AsyncClient(transport=httpx.MockTransport(slow.handle_async)) as http:
        first, other = (another_scheduler(app, settings, clock, http) for _ in range(2))

        async def taken_over() -> None:
            # The first instance stalled past its lease (a long pause): the other took it.
            clock.advance(timedelta(seconds=60))
            assert await leases.acquire(
                app.state.services.store,
                name="scheduler",
                holder=other.holder,
                now=clock.now(),
                seconds=30,
            )

        slow.meanwhile = taken_over
        assert await first.tick() == 1  # the first delivery finishes; nothing more is sent
        slow.meanwhile = None
        assert await other.tick() == 2
    assert len(sent_ids(slow)) == len(set(sent_ids(slow))) == 3


async def test_a_rule_that_cannot_be_evaluated_is_disabled_and_other_workspaces_go_on(
    gql: GraphQL, app: Starlette, http: httpx.AsyncClient
) -> None:
    """The first workspace's audience windows outlive a lowered retention; the second
    workspace's messages are still delivered, and the broken rules say why they stopped."""
    window = {"event": {"name": "visited", "within": {"lastDays": 60, "count": {"gte": 1}}}}
    content = {"channel": "IN_APP", "body": "Hello"}
    weekly = await create(gql, {
        "name": "Weekly", "trigger": {"kind": "AUDIENCE"}, "audience": window, "content": content,
    })  # fmt: skip
    await create(gql, {
        "name": "On visit", "trigger": {"kind": "EVENT", "eventName": "visited"},
        "audience": window, "content": content,
    })  # fmt: skip
    lowered = await gql.data(
        "mutation { updateWorkspace(retentionDays: 30) { userErrors { code } } }"
    )
    assert lowered["updateWorkspace"]["userErrors"] == []
    acme_key = (await gql.data('mutation { createWorkspace(name: "Acme") { adminKey } }'))[
        "createWorkspace"
    ]["adminKey"]
    acme = GraphQL(http, key=acme_key)
    await create(acme, {
        "name": "Welcome", "trigger": {"kind": "AUDIENCE"}, "audience": {"role": "USER"}, "content": content,
    })  # fmt: skip
    await track(acme, name="signed-in", contact={"userId": "ada"})

    await scheduler(app).tick()
    assert [m["status"] for m in await messages(acme)] == ["SENT"]
    # An event of the EVENT rule is recorded; the rule, unable to check its audience, stops.
    tracked = await track(gql, name="visited", contact={"userId": "bob"})
    assert tracked["userErrors"] == []
    rules = (await gql.data("{ messageRules { name enabled disabledReason } }"))["messageRules"]
    assert [(r["name"], r["enabled"]) for r in rules] == [("Weekly", False), ("On visit", False)]
    assert all(r["disabledReason"].startswith("INVALID_WINDOW: lastDays is 1 to 30") for r in rules)
    assert await messages(gql) == []
    # Fixed and enabled again, the rule runs and the reason is gone.
    fixed = window | {"event": {"name": "visited", "within": {"lastDays": 30, "count": {"gte": 1}}}}
    again = await gql.data(
        "mutation($id: ID!, $input: MessageRuleInput!) { updateMessageRule(id: $id, input: $input) "
        "{ rule { enabled disabledReason } userErrors { code } } }",
        id=weekly["rule"]["id"],
        input={
            "name": "Weekly",
            "trigger": {"kind": "AUDIENCE"},
            "audience": fixed,
            "content": content,
        },
    )
    assert again["updateMessageRule"] == {
        "rule": {"enabled": True, "disabledReason": None},
        "userErrors": [],
    }
    await scheduler(app).tick()
    assert [m["contact"]["userId"] for m in await messages(gql)] == ["bob"]


async def test_an_audience_rule_walks_the_contacts_a_span_per_round(
    gql: GraphQL, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audience_rounds, "SPAN", 2)
    for who in ("a", "b", "c", "d", "e"):
        await track(gql, name="signed-in", contact={"userId": who})
    await create(gql, {
        "name": "Hello", "trigger": {"kind": "AUDIENCE"}, "audience": {"role": "USER"},
        "content": {"channel": "IN_APP", "body": "Hello"},
    })  # fmt: skip

    async def reached() -> list[str]:
        return sorted(m["contact"]["userId"] for m in await messages(gql, first=50))

    await scheduler(app).tick()
    assert await reached() == ["a", "b"]  # the first span of 2 contacts
    await scheduler(app).tick()
    await scheduler(app).tick()
    assert await reached() == ["a", "b", "c", "d", "e"]
    await track(gql, name="signed-in", contact={"userId": "f"})
    for _ in range(4):  # a new pass finds the newcomer; nobody gets a second message
        await scheduler(app).tick()
    assert await reached() == ["a", "b", "c", "d", "e", "f"]


async def test_a_workspace_whose_round_fails_does_not_stop_the_others(
    gql: GraphQL, app: Starlette, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault in the store while handling one workspace (here: reading its rules) is logged;
    the workspaces after it are served in the same round, and it is served in the next."""
    content = {"channel": "IN_APP", "body": "Hello"}
    rule = {"name": "Welcome", "trigger": {"kind": "AUDIENCE"}, "audience": {"role": "USER"}}
    await create(gql, {**rule, "content": content})
    await track(gql, name="signed-in", contact={"userId": "ada"})
    acme_key = (await gql.data('mutation { createWorkspace(name: "Acme") { adminKey } }'))[
        "createWorkspace"
    ]["adminKey"]
    acme = GraphQL(http, key=acme_key)
    await create(acme, {**rule, "content": content})
    await track(acme, name="signed-in", contact={"userId": "bob"})
    failing = (await gql.data("{ workspace { id } }"))["workspace"]["id"]
    real = store_rules.all_rules

    async def flaky(store: Any, *, workspace_id: str) -> Any:
        if workspace_id == failing:
            raise ConnectionError("the store went away for a moment")
        return await real(store, workspace_id=workspace_id)

    monkeypatch.setattr(store_rules, "all_rules", flaky)
    await scheduler(app).tick()
    assert [m["status"] for m in await messages(acme)] == ["SENT"]
    assert await messages(gql) == []
    monkeypatch.setattr(store_rules, "all_rules", real)
    await scheduler(app).tick()
    assert [m["status"] for m in await messages(gql)] == ["SENT"]
