"""Generated queries and mutations (hypothesis-graphql) never get a server error."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from starlette.testclient import TestClient

from app.api.schema import build_schema
from app.clock import ManualClock
from app.server import create_app
from app.settings import Settings
from tests.helpers import ADMIN_KEY

SCALARS = {
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
    "JSON": st.dictionaries(
        st.text(max_size=5),
        st.one_of(st.integers(), st.text(max_size=10), st.booleans()),
        max_size=3,
    ).map(lambda d: nodes.String(str(d))),
}


@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE])
def test_no_generated_document_gets_a_server_error(
    settings: Settings, clock: ManualClock, mode: Mode
) -> None:
    schema = build_schema(settings).as_str()
    documents = st.one_of(
        from_schema(schema, custom_scalars=SCALARS, mode=mode),
    )

    with TestClient(create_app(settings, clock=clock)) as client:

        @settings_for_fuzz
        @given(document=documents)
        def check(document: str) -> None:
            response = client.post(
                "/graphql",
                json={"query": document},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            )
            assert response.status_code < 500, document
            codes = [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]
            assert "INTERNAL_SERVER_ERROR" not in codes, (document, response.text)

        check()


settings_for_fuzz = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
