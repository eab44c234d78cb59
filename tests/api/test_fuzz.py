"""Generated documents (hypothesis-graphql), over HTTP and WebSocket, and malformed JSON (deep
nesting, unpaired surrogates, huge numbers) never get a server error: no 5xx, no
INTERNAL_SERVER_ERROR, no fault in the log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.api.schema import build_schema
from app.clock import ManualClock
from app.server import create_app
from app.settings import Settings
from tests.helpers import ADMIN_KEY

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
SCALARS = {
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
    "JSON": st.dictionaries(
        st.text(max_size=5),
        st.one_of(st.integers(), st.text(max_size=10), st.booleans()),
        max_size=3,
    ).map(lambda d: nodes.String(str(d))),
}

pytestmark = pytest.mark.usefixtures("no_fault_logged")


@pytest.fixture
def client(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock)) as client:
        yield client


def codes(body: Any) -> list[object]:
    answers = body if isinstance(body, list) else [body]
    return [
        (e.get("extensions") or {}).get("code")
        for a in answers
        if isinstance(a, dict)
        for e in a.get("errors") or []
    ]


@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE])
def test_no_generated_document_gets_a_server_error(
    client: TestClient, settings: Settings, mode: Mode
) -> None:
    documents = from_schema(build_schema(settings).as_str(), custom_scalars=SCALARS, mode=mode)

    @settings_for_fuzz
    @given(document=documents)
    def check(document: str) -> None:
        response = client.post("/graphql", json={"query": document}, headers=AUTH)
        assert response.status_code < 500, document
        assert "INTERNAL_SERVER_ERROR" not in codes(response.json()), (document, response.text)

    check()


def test_no_generated_document_gets_a_server_error_over_a_websocket(
    client: TestClient, settings: Settings
) -> None:
    documents = from_schema(build_schema(settings).as_str(), custom_scalars=SCALARS)
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": AUTH})
        assert ws.receive_json()["type"] == "connection_ack"
        sent = iter(range(1_000_000))

        @fuzz_settings(settings_for_fuzz, max_examples=60)
        @given(document=documents)
        def check(document: str) -> None:
            op = str(next(sent))
            ws.send_json({"id": op, "type": "subscribe", "payload": {"query": document}})
            while True:
                message = ws.receive_json()
                assert message.get("id") == op, message
                if message["type"] == "error":
                    assert "INTERNAL_SERVER_ERROR" not in codes({"errors": message["payload"]})
                    break
                if message["type"] == "complete":
                    break
                assert "INTERNAL_SERVER_ERROR" not in codes(message["payload"]), document

        check()


def nested(depth: int, shape: str) -> str:
    return (
        ("[" * depth + "]" * depth) if shape == "list" else ('{"a": ' * depth + "1" + "}" * depth)
    )


SURROGATES = st.integers(0xD800, 0xDFFF).map(lambda c: f'"x\\u{c:04x}"')
HUGE = st.sampled_from(
    ["1" * 5000, "-" + "9" * 400, "1e400", "-1e400", "1e-400", "12345678901234567890"]
)
DEEP = st.tuples(st.integers(100, 5000), st.sampled_from(["list", "object"])).map(
    lambda t: nested(*t)
)
ODD_VALUES = st.one_of(SURROGATES, HUGE, DEEP)
QUERIES = [
    "{ workspace { id } }",
    "query Q($v: Int) { contacts(first: $v) { totalCount } }",
    "query Q($v: ContactRef!) { contact(ref: $v) { id } }",
    "query Q($v: [String!]) { eventTypes { name } contacts(filter: {event: {name: {in: $v}}}) { totalCount } }",
]


@st.composite
def odd_bodies(draw: st.DrawFn) -> str:
    """A JSON request with an odd value in one place (or an odd value as the whole body)."""
    value = draw(ODD_VALUES)
    query = json.dumps(draw(st.sampled_from(QUERIES)))
    return draw(
        st.sampled_from(
            [
                value,
                f'{{"query": {value}}}',
                f'{{"query": {query}, "variables": {{"v": {value}}}}}',
                f'{{"query": {query}, "variables": {value}}}',
                f'{{"query": {query}, "operationName": {value}}}',
                f'{{"query": {query}, "extensions": {{"x": {value}}}}}',
                f'[{{"query": {query}, "variables": {{"v": {value}}}}}]',
            ]
        )
    )


def test_malformed_json_gets_no_server_error(client: TestClient) -> None:
    @fuzz_settings(settings_for_fuzz, max_examples=100)
    @given(body=odd_bodies())
    def check(body: str) -> None:
        response = client.post(
            "/graphql",
            content=body.encode(),
            headers={**AUTH, "Content-Type": "application/json"},
        )
        assert response.status_code < 500, body[:200]
        assert "INTERNAL_SERVER_ERROR" not in codes(response.json()), body[:200]

    check()


SHORT_DEEP = st.tuples(st.integers(1100, 2000), st.sampled_from(["list", "object"])).map(
    lambda t: nested(*t)
)  # past Python's recursion limit, within a URL's length


def test_malformed_json_in_a_query_string_gets_no_server_error(client: TestClient) -> None:
    @fuzz_settings(settings_for_fuzz, max_examples=60)
    @given(
        value=st.one_of(SURROGATES, HUGE, SHORT_DEEP),
        name=st.sampled_from(["variables", "extensions", "operationName"]),
    )
    def check(value: str, name: str) -> None:
        params = {"query": QUERIES[1], name: value}
        response = client.get("/graphql", params=params, headers=AUTH)
        assert response.status_code < 500, (name, value[:200])
        # (Strawberry answers an unknown operationName in plain text: a 400 all the same.)
        if response.headers["content-type"].startswith("application/json"):
            assert "INTERNAL_SERVER_ERROR" not in codes(response.json()), (name, value[:200])

    check()


def test_malformed_json_frames_get_no_server_error(client: TestClient) -> None:
    @fuzz_settings(settings_for_fuzz, max_examples=40)
    @given(
        frame=st.one_of(
            odd_bodies(),
            odd_bodies().map(
                lambda b: (
                    b.replace('"query"', '"type": "subscribe", "id": "1", "payload": {"query"', 1)
                    + "}"
                )
            ),
        )
    )
    def check(frame: str) -> None:
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": AUTH})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_text(frame)
            code: int | None = None
            try:
                while True:
                    message = ws.receive_json()
                    payload = message.get("payload")
                    errors = payload if message["type"] == "error" else payload or {}
                    assert "INTERNAL_SERVER_ERROR" not in codes(
                        {"errors": errors} if isinstance(errors, list) else errors
                    ), frame[:200]
                    if message["type"] in ("complete", "error"):
                        break
            except WebSocketDisconnect as closed:
                code = closed.code
            assert code in (None, 1009, 4400), (code, frame[:200])

    check()


settings_for_fuzz = fuzz_settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
