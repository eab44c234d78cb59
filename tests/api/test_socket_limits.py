"""WebSockets under the HTTP rules: a revoked key loses its open subscriptions, operations count
against the key's rate limit and its size limit, an unauthenticated socket times out, and a
malformed frame closes the socket without a server fault. Against a live server (a client with
timeouts), both protocols where they differ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.sync.connection import Connection

from app.clock import ManualClock
from app.server import create_app
from app.settings import Settings
from tests.helpers import ADMIN_KEY
from tests.live_server import LiveServer, server_in_thread

TIMEOUT = 20  # seconds: a client never waits longer on a server that failed to act
TRANSPORT, LEGACY = "graphql-transport-ws", "graphql-ws"

pytestmark = pytest.mark.usefixtures("no_fault_logged")


@pytest.fixture
def live(settings: Settings, clock: ManualClock) -> Iterator[LiveServer]:
    limited = settings.model_copy(
        update={
            "rate_limit_per_minute": 5,
            "max_body_bytes": 1024 * 1024,
            "ws_init_timeout_seconds": 1,
        }
    )
    with server_in_thread(create_app(limited, clock=clock)) as server:
        yield server


def post(live: LiveServer, query: str, key: str = ADMIN_KEY, **variables: Any) -> Any:
    response = httpx.post(
        f"{live.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=TIMEOUT,
    )
    return response.json()


def open_socket(live: LiveServer, protocol: str = TRANSPORT) -> Connection:
    return connect(live.ws_url, subprotocols=[protocol], open_timeout=TIMEOUT)  # type: ignore[list-item]


def receive(ws: Connection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
    return message


def init(ws: Connection, key: str = ADMIN_KEY) -> None:
    ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}))
    assert receive(ws)["type"] == "connection_ack"


def closed_with(ws: Connection) -> int | None:
    """The close code once the server closes the socket (messages before it are skipped)."""
    try:
        while True:
            ws.recv(timeout=TIMEOUT)  # TimeoutError: the server never closed it
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def test_revoking_a_key_ends_its_open_subscriptions(live: LiveServer) -> None:
    created = post(
        live, 'mutation { createApiKey(name: "feed", scope: ADMIN) { apiKey { id } secret } }'
    )["data"]["createApiKey"]
    with open_socket(live) as ws:
        init(ws, created["secret"])
        feed = {"query": "subscription { eventTracked { name } }"}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": feed}))
        post(
            live,
            'mutation { trackEvent(input: {name: "a", contact: {userId: "u"}}) { duplicate } }',
        )
        assert receive(ws)["payload"]["data"] == {"eventTracked": {"name": "a"}}
        revoked = post(
            live, "mutation R($id: ID!) { revokeApiKey(id: $id) { userErrors { code } } }",
            id=created["apiKey"]["id"],
        )  # fmt: skip
        assert revoked["data"]["revokeApiKey"]["userErrors"] == []
        assert closed_with(ws) == 4403


def test_socket_operations_count_against_the_keys_rate_limit(live: LiveServer) -> None:
    assert "errors" not in post(live, "{ workspace { id } }")  # 1 of 5 this minute
    with open_socket(live) as ws:
        init(ws)
        answers = []
        for i in range(5):
            query = {"query": "{ workspace { id } }"}
            ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": query}))
            answer = receive(ws)
            answers.append(answer)
            if answer["type"] == "next":
                assert receive(ws)["type"] == "complete"
        assert [a["type"] for a in answers] == ["next", "next", "next", "next", "error"]
        assert answers[4]["id"] == "4"
        assert answers[4]["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert post(live, "{ workspace { id } }")["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


def test_legacy_socket_operations_count_too(live: LiveServer) -> None:
    with open_socket(live, LEGACY) as ws:
        init(ws)
        feed = {"query": "subscription { eventTracked { name } }"}
        for i in range(6):  # five run (and wait for events), the sixth is refused
            ws.send(json.dumps({"id": str(i), "type": "start", "payload": feed}))
        refused = receive(ws)
        assert (refused["type"], refused["id"]) == ("error", "5")
        assert refused["payload"]["extensions"]["code"] == "RATE_LIMITED"  # legacy: one error


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
def test_a_frame_over_the_body_limit_closes_the_socket(live: LiveServer, protocol: str) -> None:
    with open_socket(live, protocol) as ws:
        init(ws)
        padded = {"query": "{ workspace { id } }" + " " * 1_100_000}
        start = "subscribe" if protocol == TRANSPORT else "start"
        ws.send(json.dumps({"id": "1", "type": start, "payload": padded}))
        assert closed_with(ws) == 1009


def test_a_legacy_socket_without_a_key_times_out(live: LiveServer) -> None:
    with open_socket(live, LEGACY) as ws:
        assert closed_with(ws) == 4408
    with open_socket(live, TRANSPORT) as ws:
        assert closed_with(ws) == 4408


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
@pytest.mark.parametrize(
    "frame",
    ['{"type": ' * 100_000 + "1" + "}" * 100_000, "[" * 100_000 + "]" * 100_000, "1" * 5000],
    ids=["deep-object", "deep-list", "huge-number"],
)
def test_a_malformed_first_frame_closes_the_socket(
    live: LiveServer, protocol: str, frame: str
) -> None:
    with open_socket(live, protocol) as ws:
        ws.send(frame)
        assert closed_with(ws) == 4400
    with open_socket(live, protocol) as ws:  # the server still answers
        init(ws)


def test_documents_over_a_socket_are_measured_like_over_http(live: LiveServer) -> None:
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    query = "query { ...F0 } " + chain + " fragment F40 on Query { __typename }"
    with open_socket(live) as ws:
        init(ws)
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        refused = receive(ws)
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"


def test_suggestions_do_not_answer_a_publishable_key_over_a_socket(live: LiveServer) -> None:
    secret = post(live, 'mutation { createApiKey(name: "page", scope: PUBLISHABLE) { secret } }')
    with open_socket(live) as ws:
        init(ws, secret["data"]["createApiKey"]["secret"])
        subscription = "subscription S($c: ContactRef!) { messages(contact: $c) { body } }"
        payload = {"query": subscription, "variables": {"c": {"anonymousI": "v"}}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        refused = receive(ws)
        assert refused["type"] == "error"
        assert "anonymousI" in refused["payload"][0]["message"]
        assert "Did you mean" not in refused["payload"][0]["message"]


def test_a_query_over_legacy_graphql_ws_is_refused_without_a_fault(live: LiveServer) -> None:
    # The legacy protocol runs subscriptions only; Strawberry's refusal was logged as our fault.
    with open_socket(live, LEGACY) as ws:
        init(ws)
        query = {"query": "{ workspace { id } }"}
        ws.send(json.dumps({"id": "1", "type": "start", "payload": query}))
        refused = receive(ws)
        assert refused["type"] == "error"
        assert "not allowed" in refused["payload"]["message"]
