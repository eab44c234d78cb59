"""The app under test: embedded store by default, a real MongoDB with TALLY_TEST_MONGODB_URI."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from app.clock import ManualClock
from app.server import create_app
from app.settings import Settings
from tests.helpers import ADMIN_KEY, GraphQL

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
RUN_ID = uuid.uuid4().hex[:8]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def settings() -> Settings:
    uri = os.environ.get("TALLY_TEST_MONGODB_URI")
    return Settings(
        mongodb_uri=SecretStr(uri) if uri else None,
        # A fresh database per test on a real server, dropped afterwards.
        mongodb_database=f"tally_test_{RUN_ID}_{uuid.uuid4().hex[:8]}",
        admin_key=SecretStr(ADMIN_KEY),
        scheduler_enabled=False,  # tests run the scheduler's rounds themselves
    )


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Starlette]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        yield app
        if not settings.embedded:
            store = app.state.services.store
            await store.drop()


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tally.test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQL:
    return GraphQL(http)
