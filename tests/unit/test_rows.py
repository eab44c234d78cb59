"""Import lines as track requests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.cli.rows import default_idempotency_key, request_from_csv, request_from_json
from app.domain.errors import InvalidInput
from app.domain.refs import RefInput


def test_a_json_line_is_a_track_request_with_a_content_key() -> None:
    line = '{"name": "a", "contact": {"anonymousId": "v"}, "occurredAt": "2026-01-01T00:00:00Z"}'
    request = request_from_json(line)
    assert request.contact == RefInput(anonymous_id="v")
    assert request.occurred_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert request.idempotency_key == default_idempotency_key(line)
    assert default_idempotency_key(line + "\n") == default_idempotency_key(line)
    assert default_idempotency_key(line.replace('"a"', '"b"')) != request.idempotency_key
    keyed = request_from_json('{"name": "a", "contact": {"userId": "u"}, "idempotencyKey": "k"}')
    assert keyed.idempotency_key == "k"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("{", "INVALID_LINE"),
        ("[1]", "INVALID_LINE"),
        ('{"name": 1, "contact": {"userId": "u"}}', "INVALID_LINE"),
        ('{"name": "a", "contact": "u"}', "INVALID_LINE"),
        ('{"name": "a", "contact": {"user": "u"}}', "INVALID_LINE"),
        ('{"name": "a", "contact": {"userId": 5}}', "INVALID_LINE"),
        ('{"name": "a", "contact": {"userId": "u"}, "extra": 1}', "INVALID_LINE"),
        ('{"name": "a", "contact": {"userId": "u"}, "idempotencyKey": 5}', "INVALID_LINE"),
        (
            '{"name": "a", "contact": {"userId": "u"}, "occurredAt": "yesterday"}',
            "INVALID_TIMESTAMP",
        ),
    ],
)
def test_unreadable_json_lines(line: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        request_from_json(line)
    assert caught.value.errors[0].code == code


def test_a_csv_row_reads_metadata_cells_as_json_when_they_parse() -> None:
    row = {
        "name": "upgraded-plan",
        "userId": "u1",
        "anonymousId": "",
        "metadata.plan": "pro",
        "metadata.seats": "3",
        "metadata.price": '{"amount": 10, "currency": "EUR"}',
        "metadata.note": "",
    }
    request = request_from_csv(row, raw="raw")
    assert request.contact == RefInput(user_id="u1")
    assert request.metadata == {
        "plan": "pro",
        "seats": 3,
        "price": {"amount": 10, "currency": "EUR"},
    }
    assert request.idempotency_key == default_idempotency_key("raw")
    with pytest.raises(InvalidInput):
        request_from_csv({"name": "a", "userId": "u", "colour": "red"}, raw="r")
