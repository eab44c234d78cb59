"""The app under test: embedded store by default, a real MongoDB with TALLY_TEST_MONGODB_URI."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[Starlette]:
    """The app with its lifespan; on a real server its test database is dropped after."""
    async with app.router.lifespan_context(app):
        yield app
        store = app.state.services.store
        if not store.embedded:
            await store.drop()


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Starlette]:
    async with running(create_app(settings, clock=clock)) as started:
        yield started


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tally.test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQL:
    return GraphQL(http)
