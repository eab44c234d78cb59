"""Bodies and values a client controls: deep JSON, odd media types, slow and oversized bodies,
malformed literals and cursors. Each gets a 4xx or a coded error, and no traceback is logged."""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import httpx
import pytest

from app.clock import ManualClock
from app.server import create_app
from app.settings import Settings
from tests.helpers import ADMIN_KEY, GraphQL
from tests.live_server import LiveServer, server_in_thread

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}

pytestmark = pytest.mark.usefixtures("no_fault_logged")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 2000 + b"]" * 2000,
        b'{"a": ' * 2000 + b"1" + b"}" * 2000,
        b'{"query": "{ workspace { id } }", "variables": {"v": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}",
    ],
    ids=["lists", "objects", "in-variables"],
)
async def test_deeply_nested_json_is_a_bad_request(http: httpx.AsyncClient, body: bytes) -> None:
    response = await http.post(
        "/graphql", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_media_types_are_case_insensitive(http: httpx.AsyncClient) -> None:
    for content_type in ("Application/JSON", "APPLICATION/JSON; charset=UTF-8"):
        response = await http.post(
            "/graphql",
            content=b'{"query": "{ workspace { id } }"}',
            headers={**AUTH, "Content-Type": content_type},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"data": {"workspace": {"id": "default"}}}


async def test_a_malformed_date_time_literal_is_a_coded_error(gql: GraphQL) -> None:
    query = '{ contacts { edges { node { activity(since: "last tuesday") { pageInfo { hasNextPage } } } } } }'
    body = await gql.result(query)
    assert body["data"] is None
    assert "ISO-8601" in body["errors"][0]["message"]
    assert "INTERNAL_SERVER_ERROR" not in await gql.error_codes(query)
    by_variable = "query Q($s: DateTime) { contacts { edges { node { activity(since: $s) { pageInfo { hasNextPage } } } } } }"
    assert "ISO-8601" in (await gql.result(by_variable, s="last tuesday"))["errors"][0]["message"]


async def test_a_forged_contacts_cursor_is_invalid(gql: GraphQL) -> None:
    await gql.data(
        'mutation { upsertContact(input: {ref: {userId: "u1"}}) { userErrors { code } } }'
    )
    query = "query Q($after: String) { contacts(after: $after) { edges { node { userId } } } }"
    for forged in ("null\x1fnot-an-object-id", '"2026-01-01T00:00:00Z"\x1f' + "z" * 24):
        cursor = base64.urlsafe_b64encode(forged.encode()).decode()
        assert await gql.error_codes(query, after=cursor) == ["INVALID_CURSOR"], forged


class TestLiveBodies:
    """A real socket: what a client that sends slowly, or sends everything first, sees."""

    @pytest.fixture
    def live(self, settings: Settings, clock: ManualClock) -> Iterator[LiveServer]:
        limited = settings.model_copy(
            update={"max_body_bytes": 64 * 1024, "body_timeout_seconds": 1}
        )
        with server_in_thread(create_app(limited, clock=clock)) as server:
            yield server

    def test_an_oversized_body_sent_whole_gets_413(self, live: LiveServer) -> None:
        # urllib sends the whole body before it reads the answer, as requests does. Past the
        # 64 KiB limit and within what the server reads and drops (4x): a body past that is
        # answered at once, and a client still sending may find the connection closed instead.
        body = json.dumps({"query": "{ workspace { id } }", "pad": "x" * 200_000}).encode()
        request = urllib.request.Request(
            f"{live.url}/graphql",
            data=body,
            headers={**AUTH, "Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 413
        assert json.loads(refused.value.read())["errors"][0]["extensions"]["code"] == (
            "BODY_TOO_LARGE"
        )
        refused.value.close()
        fine = urllib.request.Request(
            f"{live.url}/graphql",
            data=b'{"query": "{ workspace { id } }"}',
            headers={**AUTH, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(fine, timeout=30) as answer:
            assert json.loads(answer.read()) == {"data": {"workspace": {"id": "default"}}}

    def test_a_body_that_never_ends_gets_408(self, live: LiveServer) -> None:
        head, body = _send_in_pieces(live, [b'{"query": "'], length=1000)
        assert head.startswith(b"HTTP/1.1 408"), head
        assert json.loads(body)["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"

    def test_a_body_sent_in_pieces_within_the_bound_is_answered(self, live: LiveServer) -> None:
        pieces = [b'{"query": "{ work', b"space { id", b' } }"}']
        head, body = _send_in_pieces(live, pieces, pause=0.2)
        assert head.startswith(b"HTTP/1.1 200"), head
        assert json.loads(body) == {"data": {"workspace": {"id": "default"}}}

    def test_the_bound_is_for_the_whole_body_not_each_piece(self, live: LiveServer) -> None:
        # Each piece comes well within the 1 s bound, the whole body does not.
        pieces = [b'{"query": "{ work', *[b" "] * 5, b'space { id } }"}']
        head, body = _send_in_pieces(live, pieces, pause=0.3)
        assert head.startswith(b"HTTP/1.1 408"), head
        assert json.loads(body)["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"


def _send_in_pieces(
    live: LiveServer, pieces: list[bytes], *, pause: float = 0, length: int | None = None
) -> tuple[bytes, bytes]:
    """POST a body in `pieces`, `pause` s apart (Content-Length: `length`, or theirs); the
    answer's head and body."""
    length = sum(map(len, pieces)) if length is None else length
    with socket.create_connection((live.host, live.port), timeout=30) as raw:
        raw.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: tally\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + ADMIN_KEY.encode() + b"\r\n"
            b"Content-Length: " + str(length).encode() + b"\r\n\r\n"
        )
        for piece in pieces:
            time.sleep(pause)
            try:
                raw.sendall(piece)
            except OSError:  # answered (408) and closed before the body ended
                break
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = raw.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body
