"""Two app instances over one store, as several workers (TALLY_WORKERS) or servers run: what
one instance does, the other sees (docs/operations.md, "Several workers or servers").

On the embedded store the two apps share one client (`shared_embedded_client`); against a
real MongoDB (TALLY_TEST_MONGODB_URI) each opens its own, as separate processes do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Message

from app.clock import ManualClock
from app.messaging.scheduler import Scheduler
from app.server import create_app
from app.settings import Settings
from app.store.database import shared_embedded_client
from tests.api.test_keys import new_key
from tests.api.test_message_rules import create
from tests.api.test_track_event import track
from tests.conftest import running
from tests.helpers import ADMIN_KEY, GraphQL

FEED = 'subscription { eventTracked(names: ["upgraded-plan", "viewed-pricing"]) { id name } }'
PATIENCE = 30  # seconds before a test that hears nothing fails (instead of hanging)


class Instance:
    """One running app and a client of its own."""

    def __init__(self, app: Starlette, http: httpx.AsyncClient) -> None:
        self.app = app
        self.gql = GraphQL(http)

    @property
    def scheduler(self) -> Scheduler:
        found: Scheduler = self.app.state.services.scheduler
        return found


@pytest.fixture
async def instances(settings: Settings, clock: ManualClock) -> AsyncIterator[list[Instance]]:
    polling = settings.model_copy(
        update={"event_feed_poll_seconds": 0.01, "scheduler_interval_seconds": 0.01}
    )
    shared = shared_embedded_client() if settings.embedded else None
    async with (
        running(create_app(polling, clock=clock, store_client=shared)) as a,
        running(create_app(polling, clock=clock, store_client=shared)) as b,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://a") as http_a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=b), base_url="http://b") as http_b,
    ):
        yield [Instance(a, http_a), Instance(b, http_b)]


class Socket:
    """A graphql-transport-ws client talking to an app over ASGI, in the test's event loop
    (Starlette's TestClient runs each app in a thread of its own)."""

    def __init__(self, app: Starlette, key: str = ADMIN_KEY) -> None:
        self.app = app
        self.key = key
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message] = asyncio.Queue()

    async def __aenter__(self) -> Socket:
        scope = {
            "type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "path": "/graphql",
            "raw_path": b"/graphql", "root_path": "", "query_string": b"",
            "headers": [(b"host", b"tally.test"), (b"sec-websocket-protocol", b"graphql-transport-ws")],
            "subprotocols": ["graphql-transport-ws"], "client": ("127.0.0.1", 50000),
            "server": ("tally.test", 80), "state": {},
        }  # fmt: skip
        self.task = asyncio.create_task(self.app(scope, self.to_app.get, self.from_app.put))
        await self.to_app.put({"type": "websocket.connect"})
        assert (await self.receive())["type"] == "websocket.accept"
        await self.send(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.key}"}}
        )
        assert (await self.receive_json())["type"] == "connection_ack"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def send(self, message: dict[str, Any]) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive(self) -> Message:
        return await asyncio.wait_for(self.from_app.get(), PATIENCE)

    async def receive_json(self) -> dict[str, Any]:
        message = await self.receive()
        body: dict[str, Any] = json.loads(message["text"])
        return body

    async def subscribe(self, query: str) -> None:
        await self.send({"id": "1", "type": "subscribe", "payload": {"query": query}})

    async def next_data(self) -> dict[str, Any]:
        message = await self.receive_json()
        assert message["type"] == "next", message
        data: dict[str, Any] = message["payload"]["data"]
        return data


async def tracked_id(gql: GraphQL, name: str) -> str:
    event_id: str = (await track(gql, name=name, contact={"userId": "ada"}))["event"]["id"]
    return event_id


async def test_a_feed_on_one_instance_hears_the_events_tracked_on_the_other(
    instances: list[Instance], clock: ManualClock
) -> None:
    a, b = instances
    await tracked_id(b.gql, "upgraded-plan")  # before the subscription: not in its feed
    clock.advance(timedelta(seconds=1))
    async with Socket(a.app) as feed:
        await feed.subscribe(FEED)
        from_b = await tracked_id(b.gql, "upgraded-plan")
        await tracked_id(b.gql, "signed-in")  # not a name the feed asked for
        from_a = await tracked_id(a.gql, "viewed-pricing")
        heard = [(await feed.next_data())["eventTracked"]["id"] for _ in range(2)]
        assert sorted(heard) == sorted([from_b, from_a])
        # Each event once: the next one heard is the next one tracked, not a repeat of the
        # one tracked here (which a look in the store finds too).
        last = await tracked_id(b.gql, "viewed-pricing")
        assert (await feed.next_data())["eventTracked"] == {"id": last, "name": "viewed-pricing"}
        # A minute on, the feed looks at the last seconds only, and still hears each event once.
        clock.advance(timedelta(minutes=1))
        later = await tracked_id(b.gql, "upgraded-plan")
        assert (await feed.next_data())["eventTracked"] == {"id": later, "name": "upgraded-plan"}
        latest = await tracked_id(b.gql, "upgraded-plan")
        assert (await feed.next_data())["eventTracked"] == {"id": latest, "name": "upgraded-plan"}


REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { userErrors { code } } }"
PAGE_TRACK = 'mutation { trackEvent(input: {name: "viewed-pricing", contact: {anonymousId: "v1"}}) { duplicate } }'


async def test_a_key_revoked_on_one_instance_is_refused_by_the_other_within_the_cache_time(
    instances: list[Instance], clock: ManualClock, settings: Settings
) -> None:
    a, b = instances
    key_id, secret = await new_key(a.gql, "PUBLISHABLE")
    page_a, page_b = GraphQL(a.gql.http, key=secret), GraphQL(b.gql.http, key=secret)
    await page_b.data(PAGE_TRACK)  # B has checked the key
    assert (await a.gql.data(REVOKE, id=key_id))["revokeApiKey"]["userErrors"] == []
    assert (await page_a.post(PAGE_TRACK)).status_code == 401  # at once where it was revoked
    # B trusts what it checked for TALLY_AUTH_CACHE_SECONDS (docs/security.md), no longer.
    await page_b.data(PAGE_TRACK)
    clock.advance(timedelta(seconds=settings.auth_cache_seconds))
    refused = await page_b.post(PAGE_TRACK)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_socket_on_one_instance_closes_once_the_other_revoked_its_key(
    instances: list[Instance], clock: ManualClock, settings: Settings
) -> None:
    a, b = instances
    key_id, secret = await new_key(a.gql, "PUBLISHABLE")
    async with Socket(b.app, key=secret) as page:
        await page.subscribe('subscription { messages(contact: {anonymousId: "v1"}) { body } }')
        await a.gql.data(REVOKE, id=key_id)
        clock.advance(timedelta(seconds=settings.auth_cache_seconds))
        # B checks an open socket's key every second, through its cache (docs/security.md).
        closed = await page.receive()
        assert (closed["type"], closed["code"]) == ("websocket.close", 4403)


async def test_the_rate_limit_counts_the_requests_of_every_instance(
    settings: Settings, clock: ManualClock
) -> None:
    limited = settings.model_copy(update={"rate_limit_per_minute": 2})
    shared = shared_embedded_client() if settings.embedded else None
    async with (
        running(create_app(limited, clock=clock, store_client=shared)) as a,
        running(create_app(limited, clock=clock, store_client=shared)) as b,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://a") as http_a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=b), base_url="http://b") as http_b,
    ):
        query = {"query": "{ workspace { id } }"}
        headers = GraphQL(http_a).headers()
        assert (await http_a.post("/graphql", json=query, headers=headers)).status_code == 200
        assert (await http_b.post("/graphql", json=query, headers=headers)).status_code == 200
        # B alone has answered one request: the third of the minute is past the shared limit.
        third = await http_b.post("/graphql", json=query, headers=headers)
        assert third.status_code == 429
        assert third.headers["x-ratelimit-remaining"] == "0"


async def test_one_scheduler_sends_and_the_subscriber_on_the_other_instance_gets_it(
    instances: list[Instance], clock: ManualClock
) -> None:
    a, b = instances
    await create(a.gql, {
        "name": "Reminder", "trigger": {"kind": "EVENT", "eventName": "added-to-cart"},
        "delaySeconds": 3600, "content": {"channel": "IN_APP", "body": "Still thinking?"},
    })  # fmt: skip
    await track(b.gql, name="added-to-cart", contact={"userId": "ada"})
    await track(b.gql, name="added-to-cart", contact={"userId": "bob"})
    clock.advance(timedelta(hours=1))
    async with Socket(a.app) as inbox:
        await inbox.subscribe('subscription { messages(contact: {userId: "ada"}) { body } }')
        # Both instances' schedulers run a round at once: one holds the lease and sends.
        sent = await asyncio.gather(a.scheduler.tick(), b.scheduler.tick())
        assert sorted(sent) == [0, 2]
        assert await a.scheduler.tick() + await b.scheduler.tick() == 0  # nothing twice
        # Whichever sent it, A's subscriber hears ada's message (from the store if B sent it).
        assert (await inbox.next_data())["messages"] == {"body": "Still thinking?"}
    counts = await a.gql.data("{ messageRules { name sentCount } }")
    assert counts["messageRules"] == [{"name": "Reminder", "sentCount": 2}]
