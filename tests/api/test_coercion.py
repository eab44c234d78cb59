"""Over HTTP, a planned operation's variables coerced by its compiled coercion when it is
sure, and by graphql-core otherwise: the answers, errors included, are the bytes graphql-core's
executor gives (tests/api/test_plans.py's differential harness)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql.execution.values import VariableValues

from app.api.coercion import Variables
from tests.api import test_plans
from tests.api.test_plans import EVENT, TRACK, Differential
from tests.unit.test_plans import requires_plans

pytestmark = [requires_plans, pytest.mark.usefixtures("replayed")]
diff = test_plans.diff
logged = test_plans.logged
replayed = test_plans.replayed

TRACK_MANY = """mutation M($inputs: [TrackEventInput!]!) {
  trackEvents(inputs: $inputs) { acceptedCount duplicateCount rejectedCount }
}"""
UPSERT = """mutation U($input: ContactInput!) {
  upsertContact(input: $input) { contact { userId name } userErrors { code } }
}"""


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the compiled coercion answered, request by request."""
    answered: list[bool] = []
    real = Variables.coerce

    def coerce(self: Variables, inputs: object) -> VariableValues | None:
        values = real(self, inputs)
        answered.append(values is not None)
        return values

    monkeypatch.setattr(Variables, "coerce", coerce)
    return answered


async def test_regular_variables_are_coerced_by_the_plan(
    diff: Differential, answers: list[bool]
) -> None:
    for query, variables in (
        (TRACK, {"input": {**EVENT, "idempotencyKey": "k1"}}),
        (TRACK, {"input": {**EVENT, "occurredAt": "2026-11-28T09:00:00Z", "metadata": None}}),
        (TRACK_MANY, {"inputs": [EVENT, {**EVENT, "contact": {"anonymousId": "a1"}}]}),
        (TRACK_MANY, {"inputs": EVENT}),
        (UPSERT, {"input": {"ref": {"userId": "u2"}, "name": "Ada", "customAttributes": {}}}),
    ):
        answers.clear()
        answer, planned = await diff.compare(query, variables)
        assert planned
        assert "errors" not in answer, answer
        assert answers == [True], (query, variables)


async def test_bad_variables_get_graphql_cores_errors(
    diff: Differential, answers: list[bool]
) -> None:
    for query, variables in (
        (TRACK, {"input": None}),
        (TRACK, {"input": {**EVENT, "name": 3}}),
        (TRACK, {"input": {**EVENT, "nme": "a"}}),
        (TRACK, {"input": {**EVENT, "contact": {"userId": "u", "email": "e@x.io"}}}),
        (TRACK, {"input": {**EVENT, "contact": {"userId": None}}}),
        (TRACK, {"input": {**EVENT, "contact": {"id": 2.5}}}),
        (TRACK, {"input": {**EVENT, "occurredAt": "yesterday"}}),
        (TRACK, {"input": {**EVENT, "userHash": ["a"]}}),
        (TRACK_MANY, {"inputs": [EVENT, None]}),
        (TRACK_MANY, {"inputs": [EVENT, {"name": "x"}, {**EVENT, "name": True}]}),
        (TRACK_MANY, {}),
        (UPSERT, {"input": {"ref": {"userId": "u2"}, "signedUpAt": 2**40}}),
    ):
        answers.clear()
        answer, planned = await diff.compare(query, variables)
        assert planned
        assert answer["data"] is None
        assert answer["errors"][0]["extensions"]["code"], answer
        assert answers == [False], (query, variables)


async def test_a_variable_default_is_graphql_cores_to_apply(
    diff: Differential, answers: list[bool]
) -> None:
    query = """query S($r: ContactRef = {userId: "u1"}, $names: [String!] = ["signed-up"]) {
      contact(ref: $r) { eventSummaries(names: $names) { name count } }
    }"""
    await diff.compare(TRACK, {"input": EVENT})
    expected: list[tuple[dict[str, Any], bool]] = [
        ({}, False),
        ({"r": {"userId": "u1"}}, False),
        ({"r": {"userId": "u1"}, "names": "signed-up"}, True),
        ({"r": {"userId": "u1"}, "names": None}, True),
    ]
    for variables, coerced_by_plan in expected:
        answers.clear()
        answer, planned = await diff.compare(query, variables)
        assert planned
        assert answer["data"]["contact"] is not None
        assert answers == [coerced_by_plan]
