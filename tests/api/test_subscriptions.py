"""graphql-transport-ws subscriptions: in-app messages and the live event feed."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.clock import ManualClock
from app.server import create_app
from app.settings import Settings
from tests.helpers import ADMIN_KEY

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
RULE = """
mutation { createMessageRule(input: {name: "Thanks", trigger: {kind: EVENT, eventName: "upgraded-plan"},
  content: {channel: IN_APP, body: "Thanks {{contact.userId}}!"}}) { userErrors { code } } }
"""
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
