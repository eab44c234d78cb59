"""Automatic message rules: create, list, update, delete, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import GraphQL

CREATE = """
mutation Create($input: MessageRuleInput!) {
  createMessageRule(input: $input) {
    rule { id name enabled sentCount triggerKind eventName delaySeconds frequency channel createdAt }
    userErrors { field code }
  }
}
"""
UPDATE = """
mutation Update($id: ID!, $input: MessageRuleInput!) {
  updateMessageRule(id: $id, input: $input) { rule { name enabled } userErrors { field code } }
}
"""
THANKS: dict[str, Any] = {
    "name": "Thanks for upgrading",
    "trigger": {"kind": "EVENT", "eventName": "Upgraded-Plan"},
    "content": {
        "channel": "IN_APP",
        "subject": "Thanks {{contact.name}}",
        "body": "Welcome to {{event.metadata.new_plan}}!",
    },
}
NUDGE: dict[str, Any] = {
    "name": "Try exports",
    "trigger": {"kind": "AUDIENCE"},
    "audience": {
        "event": {"name": "exported-pdf", "performed": False},
        "lastSeenAt": {"lessThanDaysAgo": 30},
    },
    "content": {
        "channel": "WEBHOOK",
        "body": "{{contact.email}} never exported",
        "webhookUrl": "https://hooks.example.com/tally",
    },
}


async def create(gql: GraphQL, input: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql.data(CREATE, input=input))["createMessageRule"]
    return payload


async def test_rules_are_created_listed_updated_and_deleted(gql: GraphQL) -> None:
    thanks = await create(gql, THANKS)
    assert thanks["userErrors"] == []
    rule = thanks["rule"]
    assert (rule["name"], rule["enabled"], rule["sentCount"], rule["triggerKind"]) == (
        "Thanks for upgrading",
        True,
        0,
        "EVENT",
    )
    assert (rule["eventName"], rule["delaySeconds"], rule["frequency"], rule["channel"]) == (
        "upgraded-plan",
        0,
        "ONCE",
        "IN_APP",
    )
    nudge = await create(
        gql, {**NUDGE, "delaySeconds": 3600, "frequency": "EVERY_TIME", "maxSends": 3}
    )
    assert nudge["userErrors"] == []
    listed = await gql.data("{ messageRules { name triggerKind } }")
    assert listed == {
        "messageRules": [
            {"name": "Thanks for upgrading", "triggerKind": "EVENT"},
            {"name": "Try exports", "triggerKind": "AUDIENCE"},
        ]
    }

    off = (await gql.data(UPDATE, id=rule["id"], input={**THANKS, "enabled": False}))[
        "updateMessageRule"
    ]
    assert off == {"rule": {"name": "Thanks for upgrading", "enabled": False}, "userErrors": []}
    deleted = await gql.data(
        "mutation($id: ID!) { deleteMessageRule(id: $id) { rule { name } userErrors { code } } }",
        id=rule["id"],
    )
    assert deleted["deleteMessageRule"] == {
        "rule": {"name": "Thanks for upgrading"},
        "userErrors": [],
    }
    assert [r["name"] for r in (await gql.data("{ messageRules { name } }"))["messageRules"]] == [
        "Try exports"
    ]
    gone = (await gql.data(UPDATE, id=rule["id"], input=THANKS))["updateMessageRule"]
    assert gone["userErrors"] == [{"field": ["id"], "code": "RULE_NOT_FOUND"}]


BAD_RULES: list[tuple[str, dict[str, Any], list[tuple[str, list[str]]]]] = [
    ("blank name", {**THANKS, "name": " "}, [("INVALID_RULE_NAME", ["name"])]),
    ("event trigger without a name", {**THANKS, "trigger": {"kind": "EVENT"}}, [("INVALID_TRIGGER", ["trigger", "eventName"])]),
    ("bad trigger name", {**THANKS, "trigger": {"kind": "EVENT", "eventName": "a.b"}}, [("INVALID_EVENT_NAME", ["trigger", "eventName"])]),
    ("bad metadata key", {**THANKS, "trigger": {"kind": "EVENT", "eventName": "x", "metadata": [{"key": "$x"}]}}, [("INVALID_METADATA_KEY", ["trigger", "metadata", "0", "key"])]),
    ("audience trigger without audience", {**NUDGE, "audience": None}, [("INVALID_TRIGGER", ["audience"])]),
    ("bad audience", {**NUDGE, "audience": {"event": {"name": "$where"}}}, [("INVALID_EVENT_NAME", ["audience", "event", "name"])]),
    ("unknown segment in audience", {**NUDGE, "audience": {"inSegment": "nope"}}, [("SEGMENT_NOT_FOUND", ["audience", "inSegment"])]),
    ("negative delay", {**THANKS, "delaySeconds": -1}, [("INVALID_DELAY", ["delaySeconds"])]),
    ("maxSends on ONCE", {**THANKS, "maxSends": 2}, [("INVALID_FREQUENCY", ["maxSends"])]),
    ("bad exit event", {**THANKS, "exitEventName": "a.b"}, [("INVALID_EVENT_NAME", ["exitEventName"])]),
    ("template with code", {**THANKS, "content": {"channel": "IN_APP", "body": "{{ 7 * 7 }}"}}, [("INVALID_TEMPLATE", ["content", "body"])]),
    ("empty body", {**THANKS, "content": {"channel": "IN_APP", "body": " "}}, [("INVALID_CONTENT", ["content", "body"])]),
    ("webhook without url", {**NUDGE, "content": {"channel": "WEBHOOK", "body": "x"}}, [("INVALID_WEBHOOK_URL", ["content", "webhookUrl"])]),
    ("webhook to loopback", {**NUDGE, "content": {"channel": "WEBHOOK", "body": "x", "webhookUrl": "http://127.0.0.1:9000/x"}}, [("INVALID_WEBHOOK_URL", ["content", "webhookUrl"])]),
    ("webhook to a private network", {**NUDGE, "content": {"channel": "WEBHOOK", "body": "x", "webhookUrl": "https://10.0.0.8/x"}}, [("INVALID_WEBHOOK_URL", ["content", "webhookUrl"])]),
    ("webhook to localhost", {**NUDGE, "content": {"channel": "WEBHOOK", "body": "x", "webhookUrl": "http://localhost/x"}}, [("INVALID_WEBHOOK_URL", ["content", "webhookUrl"])]),
    ("webhook url on in-app", {**THANKS, "content": {"channel": "IN_APP", "body": "x", "webhookUrl": "https://hooks.example.com"}}, [("INVALID_CONTENT", ["content", "webhookUrl"])]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("input", "expected"), [c[1:] for c in BAD_RULES], ids=[c[0] for c in BAD_RULES]
)
async def test_bad_rules_are_refused_with_their_codes(
    gql: GraphQL, input: dict[str, Any], expected: list[tuple[str, list[str]]]
) -> None:
    payload = await create(gql, input)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == expected
    assert payload["rule"] is None
    assert (await gql.data("{ messageRules { id } }"))["messageRules"] == []
