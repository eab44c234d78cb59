"""graphql-transport-ws subscriptions: in-app messages and the live event feed."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.clock import ManualClock
from app.messaging.broker import Broker
from app.server import create_app
from app.settings import Settings
from tests.api.test_keys import sign
from tests.faults import Faults
from tests.helpers import ADMIN_KEY

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
RULE = """
mutation { createMessageRule(input: {name: "Thanks", trigger: {kind: EVENT, eventName: "upgraded-plan"},
  content: {channel: IN_APP, body: "Thanks {{contact.userId}}!"}}) { userErrors { code } } }
"""
MERGE_V1 = 'mutation { upsertContact(input: {ref: {anonymousId: "v1"}, userId: "ada"}) { userErrors { code } } }'
VERIFY = "mutation { updateWorkspace(identityVerification: true) { identitySecret } }"
TRACK = 'mutation { trackEvent(input: {name: "upgraded-plan", contact: {userId: "ada"}}) { duplicate } }'


def post(client: TestClient, query: str) -> dict[str, Any]:
    body: dict[str, Any] = client.post("/graphql", json={"query": query}, headers=AUTH).json()
    assert "errors" not in body, body
    return body


def subscribe(ws: Any, query: str, *, init: dict[str, Any] | None) -> None:
    ws.send_json({"type": "connection_init", "payload": init or {}})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})


def test_an_in_app_message_reaches_the_contacts_subscription(
    settings: Settings, clock: ManualClock
) -> None:
    with TestClient(create_app(settings, clock=clock)) as client:
        post(client, RULE)
        post(
            client,
            'mutation { upsertContact(input: {ref: {userId: "ada"}}) { userErrors { code } } }',
        )
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            subscribe(
                ws,
                'subscription { messages(contact: {userId: "ada"}) { body status rule { name } } }',
                init=AUTH,
            )
            post(client, TRACK)
            message = ws.receive_json()
            assert message["type"] == "next"
            assert message["payload"]["data"]["messages"] == {
                "body": "Thanks ada!",
                "status": "SENT",
                "rule": {"name": "Thanks"},
            }


def test_the_live_event_feed_filters_by_name(settings: Settings, clock: ManualClock) -> None:
    with (
        TestClient(create_app(settings, clock=clock)) as client,
        client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"], headers=AUTH
        ) as ws,
    ):
        subscribe(ws, 'subscription { eventTracked(names: ["upgraded-plan"]) { name } }', init=None)
        post(
            client,
            'mutation { trackEvent(input: {name: "viewed-page", contact: {userId: "ada"}}) { duplicate } }',
        )
        post(client, TRACK)
        assert ws.receive_json()["payload"]["data"]["eventTracked"] == {"name": "upgraded-plan"}


def test_a_socket_without_a_key_is_closed(settings: Settings, clock: ManualClock) -> None:
    with (
        TestClient(create_app(settings, clock=clock)) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer wrong"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4403


def new_publishable_key(client: TestClient) -> str:
    created = post(
        client,
        'mutation { createApiKey(name: "Page", scope: PUBLISHABLE) { secret } }',
    )
    secret: str = created["data"]["createApiKey"]["secret"]
    return secret


def first_error(ws: Any) -> dict[str, Any]:
    """The first error of an operation, sent as an `error` message or inside `next`."""
    message = ws.receive_json()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    first: dict[str, Any] = errors[0]
    return first


def test_websocket_origins_follow_the_cors_setting(settings: Settings, clock: ManualClock) -> None:
    allowed = settings.model_copy(update={"cors_origins": ["https://shop.example"]})
    with TestClient(create_app(allowed, clock=clock)) as client:
        # an allowed origin, the same origin (the test client's host), no Origin (not a browser)
        for headers in ({"Origin": "https://shop.example"}, {"Origin": "http://testserver"}, {}):
            with client.websocket_connect(
                "/graphql", subprotocols=["graphql-transport-ws"], headers=headers
            ) as ws:
                ws.send_json({"type": "connection_init", "payload": AUTH})
                assert ws.receive_json()["type"] == "connection_ack", headers
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(
                "/graphql",
                subprotocols=["graphql-transport-ws"],
                headers={"Origin": "https://evil.example"},
            ),
        ):
            pass
        assert refused.value.code == 1008  # policy violation, before any key is looked at


def test_every_websocket_error_carries_a_code(settings: Settings, clock: ManualClock) -> None:
    with TestClient(create_app(settings, clock=clock)) as client:
        page = {"Authorization": f"Bearer {new_publishable_key(client)}"}
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": page})
            assert ws.receive_json()["type"] == "connection_ack"
            cases = [
                # (An unknown field is beyond a publishable key's scope: FORBIDDEN, checked first.)
                ("subscription { nope }", "FORBIDDEN"),
                (
                    'subscription { messages(nope: 1, contact: {anonymousId: "v"}) { body } }',
                    "GRAPHQL_VALIDATION_FAILED",
                ),
                (
                    "subscription($r: ContactRef!) { messages(contact: $r) { body } }",
                    "BAD_USER_INPUT",
                ),
                (
                    'subscription { messages(contact: {id: "6b0b9f508f735ba0c8aa86b0"}) { body } }',
                    "FORBIDDEN_REF",
                ),
                (
                    'subscription { messages(contact: {userId: "ada"}) { body } }',
                    "IDENTITY_VERIFICATION_REQUIRED",
                ),
                (
                    'subscription { messages(contact: {anonymousId: ""}) { body } }',
                    "INVALID_CONTACT_REF",
                ),
                ("subscription { eventTracked { name } }", "FORBIDDEN"),
            ]
            for number, (query, code) in enumerate(cases):
                ws.send_json({"id": str(number), "type": "subscribe", "payload": {"query": query}})
                error = first_error(ws)
                assert error["extensions"]["code"] == code, (query, error)
                if ws_next_is_complete(query):
                    assert ws.receive_json()["type"] == "complete"


def ws_next_is_complete(query: str) -> bool:
    """Errors raised by a resolver come in `next`, then `complete`; validation errors come
    alone as `error`."""
    return "nope" not in query and "$r" not in query and "eventTracked" not in query


def test_a_visitors_page_waits_for_its_first_message_and_keeps_it_after_sign_up_with_the_hash(
    settings: Settings, clock: ManualClock
) -> None:
    with TestClient(create_app(settings, clock=clock)) as client:
        post(client, RULE.replace("upgraded-plan", "viewed-pricing"))
        post(client, RULE)
        identity = post(client, VERIFY)["data"]["updateWorkspace"]["identitySecret"]
        page = {"Authorization": f"Bearer {new_publishable_key(client)}"}
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            # Subscribed before the visitor's first event: nobody has that anonymousId yet. The
            # page knows whom it signs in as: the hash is not needed yet, and kept for later.
            subscribe(
                ws,
                'subscription { messages(contact: {anonymousId: "v1"}, '
                f'userHash: "{sign(identity, "ada")}") {{ body }} }}',
                init=page,
            )
            post(client, 'mutation { trackEvent(input: {name: "viewed-pricing", contact: {anonymousId: "v1"}}) { duplicate } }')  # fmt: skip
            assert ws.receive_json()["payload"]["data"]["messages"] == {"body": "Thanks !"}
            # The visitor signs up as ada, who exists already: the lead is merged into her.
            post(client, 'mutation { upsertContact(input: {ref: {userId: "ada"}}) { userErrors { code } } }')  # fmt: skip
            post(client, MERGE_V1)
            post(client, TRACK)
            assert ws.receive_json()["payload"]["data"]["messages"] == {"body": "Thanks ada!"}


def test_a_leads_subscription_ends_when_the_lead_becomes_a_user_it_may_not_read(
    settings: Settings, clock: ManualClock
) -> None:
    """A page cannot read a user's messages by subscribing as a lead and merging that lead into
    the user (a publishable key may, without identity verification): the subscription ends."""
    with TestClient(create_app(settings, clock=clock)) as client:
        post(client, RULE)
        post(client, 'mutation { upsertContact(input: {ref: {userId: "ada"}}) { userErrors { code } } }')  # fmt: skip
        key = new_publishable_key(client)
        page = {"Authorization": f"Bearer {key}"}
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            subscribe(
                ws, 'subscription { messages(contact: {anonymousId: "evil"}) { body } }', init=page
            )
            merged = client.post(
                "/graphql",
                json={"query": MERGE_V1.replace("v1", "evil")},
                headers=page,
            ).json()
            assert merged["data"]["upsertContact"]["userErrors"] == []
            post(client, TRACK)  # ada's message, with her userId in its body
            error = first_error(ws)
            assert error["extensions"]["code"] == "IDENTITY_VERIFICATION_REQUIRED", error
            assert ws.receive_json()["type"] == "complete"


def test_a_message_sent_by_another_instance_reaches_a_merged_leads_subscription(
    settings: Settings, clock: ManualClock
) -> None:
    polling = settings.model_copy(update={"scheduler_interval_seconds": 0.05})
    app = create_app(polling, clock=clock)
    with TestClient(app) as client:
        post(client, RULE)
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            subscribe(
                ws, 'subscription { messages(contact: {anonymousId: "v1"}) { body } }', init=AUTH
            )
            post(client, 'mutation { upsertContact(input: {ref: {userId: "ada"}}) { userErrors { code } } }')  # fmt: skip
            post(client, 'mutation { upsertContact(input: {ref: {anonymousId: "v1"}, userId: "ada"}) { userErrors { code } } }')  # fmt: skip
            # What this instance sends from now on, its subscriptions do not hear: as if another
            # instance sent it. The subscription finds it in the store by the lead's alias.
            app.state.services.broker = Broker()
            post(client, TRACK)
            assert ws.receive_json()["payload"]["data"]["messages"] == {"body": "Thanks ada!"}


def test_a_leads_subscription_polling_the_store_ends_when_the_lead_becomes_a_user(
    settings: Settings, clock: ManualClock
) -> None:
    polling = settings.model_copy(update={"scheduler_interval_seconds": 0.05})
    app = create_app(polling, clock=clock)
    with TestClient(app) as client:
        post(client, RULE)
        post(client, 'mutation { upsertContact(input: {ref: {userId: "ada"}}) { userErrors { code } } }')  # fmt: skip
        identity = post(client, VERIFY)["data"]["updateWorkspace"]["identitySecret"]
        page = {"Authorization": f"Bearer {new_publishable_key(client)}"}
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            subscribe(
                ws,
                'subscription { messages(contact: {anonymousId: "v1"}, '
                f'userHash: "{sign(identity, "bob")}") {{ body }} }}',
                init=page,
            )
            app.state.services.broker = Broker()  # as if another instance did what follows
            post(client, MERGE_V1)
            post(client, TRACK)
            error = first_error(ws)
            assert error["extensions"]["code"] == "INVALID_USER_HASH", error
            assert ws.receive_json()["type"] == "complete"


def test_past_the_subscriptions_limit_the_error_is_coded(
    settings: Settings, clock: ManualClock
) -> None:
    with (
        TestClient(create_app(settings, clock=clock)) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init", "payload": AUTH})
        assert ws.receive_json()["type"] == "connection_ack"
        feed = {"query": "subscription { eventTracked { name } }"}
        for number in range(101):  # Strawberry's limit per connection: 100
            ws.send_json({"id": str(number), "type": "subscribe", "payload": feed})
        refused = ws.receive_json()
        assert refused["id"] == "100"
        assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"


def test_a_key_holds_at_most_so_many_subscriptions_open_on_an_instance(
    settings: Settings, clock: ManualClock
) -> None:
    capped = settings.model_copy(update={"max_subscriptions_per_key": 1})
    with TestClient(create_app(capped, clock=clock)) as client:
        post(client, RULE.replace("upgraded-plan", "viewed-pricing"))
        page = {"Authorization": f"Bearer {new_publishable_key(client)}"}
        visit = 'mutation { trackEvent(input: {name: "viewed-pricing", contact: {anonymousId: "V"}}) { duplicate } }'
        inbox = 'subscription { messages(contact: {anonymousId: "V"}) { body } }'
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            subscribe(ws, inbox.replace("V", "v1"), init=page)
            post(client, visit.replace("V", "v1"))
            assert ws.receive_json()["payload"]["data"]["messages"] == {"body": "Thanks !"}
            # The same key on another socket: refused while the first is open.
            with client.websocket_connect(
                "/graphql", subprotocols=["graphql-transport-ws"]
            ) as other:
                subscribe(other, inbox.replace("V", "v2"), init=page)
                post(client, visit.replace("V", "v2"))  # an open one would hear its message
                assert first_error(other)["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
                assert other.receive_json()["type"] == "complete"
            # Another key is not limited by this one's.
            with client.websocket_connect(
                "/graphql", subprotocols=["graphql-transport-ws"]
            ) as admin:
                subscribe(admin, "subscription { eventTracked { name } }", init=AUTH)
                post(client, visit.replace("V", "v3"))
                assert admin.receive_json()["payload"]["data"]["eventTracked"] == {
                    "name": "viewed-pricing"
                }
        # The first socket closed: its subscription no longer counts.
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            subscribe(ws, inbox.replace("V", "v4"), init=page)
            post(client, visit.replace("V", "v4"))
            assert ws.receive_json()["payload"]["data"]["messages"] == {"body": "Thanks !"}


def test_a_subscription_waiting_for_an_unseen_contact_only_looks_it_up(
    settings: Settings, clock: ManualClock
) -> None:
    """What an open subscription costs the store while nobody has its anonymousId: one
    contact lookup a look, and no query for messages."""
    polling = settings.model_copy(update={"scheduler_interval_seconds": 0.01})
    app = create_app(polling, clock=clock)
    with TestClient(app) as client:
        page = {"Authorization": f"Bearer {new_publishable_key(client)}"}
        faults = Faults(app.state.services.store)
        looked_twice = threading.Event()

        async def third_lookup() -> None:
            looked_twice.set()

        # The subscription's first check, then two looks.
        faults.before("contacts", "find", nth=3, run=third_lookup)
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            subscribe(
                ws, 'subscription { messages(contact: {anonymousId: "later"}) { body } }', init=page
            )
            assert looked_twice.wait(timeout=60)  # a bound for a broken build, not a timing
        faults.restore()
        assert ("contacts", "find") in faults.commands
        assert [c for c in faults.commands if c[0] == "messages"] == []
