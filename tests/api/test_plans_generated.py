"""Generated documents (hypothesis-graphql) answered the same with execution plans as by
graphql-core's executor: every Query field over a store with contacts and events, and
trackEvent with every selection (its tracker replayed, as in test_plans)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema
from starlette.testclient import TestClient

from app.api.schema import build_schema
from app.clock import ManualClock
from app.server import create_app
from app.services.tracking import Tracker, TrackOutcome
from app.settings import Settings
from tests.api.test_fuzz import SCALARS, settings_for_fuzz
from tests.api.test_plans import lean_path, replayed  # noqa: F401 (a fixture)
from tests.helpers import ADMIN_KEY
from tests.unit.test_plans import requires_plans

pytestmark = requires_plans

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
QUERY_FIELDS = [
    "contact",
    "contacts",
    "segment",
    "segments",
    "contactExport",
    "messages",
    "messageRules",
    "eventTypes",
    "apiKeys",
    "workspace",
]


@pytest.fixture
def client(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock)) as client:
        for n in range(6):
            event = {
                "name": f"event-{n % 3}",
                "contact": {"userId": f"u{n % 2}"} if n % 3 else {"anonymousId": f"a{n}"},
                "metadata": {"plan": "pro", "seats": n},
            }
            answer = client.post(
                "/graphql",
                json={
                    "query": "mutation T($i: TrackEventInput!) { trackEvent(input: $i) { duplicate } }",
                    "variables": {"i": event},
                },
                headers=AUTH,
            )
            assert answer.json() == {"data": {"trackEvent": {"duplicate": False}}}
        yield client


class Compared:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.lean = lean_path(client.app)  # type: ignore[arg-type]
        self.planned = 0

    def check(self, document: str) -> None:
        answers = []
        for plans in (False, False, True):  # the first caches the document
            self.lean.plans = plans
            response = self.client.post("/graphql", json={"query": document}, headers=AUTH)
            answers.append((response.status_code, response.content))
        self.lean.plans = True
        assert answers[1] == answers[2], (document, answers)
        entry = self.client.app.state.schema.documents.get(document)  # type: ignore[attr-defined]
        self.planned += entry is not None and any(p is not None for p in entry.plans.values())


def run(compared: Compared, documents: Any) -> None:
    @hypothesis_settings(settings_for_fuzz, max_examples=200)
    @given(document=documents)
    def check(document: str) -> None:
        compared.check(document)

    check()


def test_generated_queries_are_answered_alike(client: TestClient, settings: Settings) -> None:
    compared = Compared(client)
    schema = build_schema(settings).as_str()
    # one root field a document (a query of several root fields keeps graphql-core's executor)
    one_field = [from_schema(schema, fields=[f], custom_scalars=SCALARS) for f in QUERY_FIELDS]
    several = from_schema(schema, fields=QUERY_FIELDS, custom_scalars=SCALARS)
    run(compared, st.one_of(*one_field, several))
    assert compared.planned >= 40  # the comparison covers plans, not only declined documents


def test_generated_track_events_are_answered_alike(
    client: TestClient,
    settings: Settings,
    replayed: dict[str, TrackOutcome],  # noqa: F811
) -> None:
    assert Tracker.track.__name__ == "track"
    compared = Compared(client)
    schema = build_schema(settings).as_str()
    run(compared, from_schema(schema, fields=["trackEvent"], custom_scalars=SCALARS))
    assert compared.planned >= 40
