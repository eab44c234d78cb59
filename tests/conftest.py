"""The app under test: embedded store by default, a real MongoDB with TALLY_TEST_MONGODB_URI.

On a real server each test gets a database of its own, dropped when the test ends however it
ends (passed, failed, errored; async app or Starlette's synchronous TestClient). The test clock
stands still at NOW, so the TTL dates the app writes (NOW + retention) lie in the past of the
server's wall clock after 2027-02-26: the suite switches the server's TTL monitor off for the
run (a test server's setting; no test waits for a TTL deletion), and refuses to run when it
cannot and those dates have passed.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from app.clock import ManualClock
from app.server import create_app
from app.settings import Settings
from app.store.client import record_shapes
from tests import index_use
from tests.helpers import ADMIN_KEY, GraphQL

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
RUN_ID = uuid.uuid4().hex[:8]
SERVER_URI = os.environ.get("TALLY_TEST_MONGODB_URI")


@pytest.fixture(scope="session", autouse=True)
def ttl_dates_stay() -> Iterator[None]:
    """On a real server: no TTL deletion of the fixed clock's dates during the run."""
    if SERVER_URI is None:
        yield
        return
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    client: MongoClient[dict[str, object]]
    with MongoClient(SERVER_URI) as client:
        try:
            before = client.admin.command({"setParameter": 1, "ttlMonitorEnabled": False})
        except OperationFailure as e:
            if datetime.now(UTC) >= NOW + timedelta(days=90):
                pytest.exit(
                    "The test clock's TTL dates (NOW + retention) are past on this server and "
                    f"its TTL monitor cannot be switched off ({e}): run as a user allowed to "
                    "setParameter, or move tests.conftest.NOW forward.",
                    returncode=2,
                )
            before = None
        try:
            yield
        finally:
            if before is not None:
                client.admin.command({"setParameter": 1, "ttlMonitorEnabled": before["was"]})


TESTS = Path(__file__).resolve().parent


# ---------------------------------------------------------------- the index-use check
# Every query the store sends during the session is recorded by shape; when the session ends,
# each shape is judged against the declared indexes (tests/index_use.py) and the run fails on
# a lookup or page that would scan a workspace or sort it in memory. When the whole suite ran
# (`./scripts/test`, CI), it also fails when a store function sent no query at all. A hook, not
# a test, so that it runs after every test whatever the order or selection.


def pytest_configure(config: pytest.Config) -> None:
    record_shapes(index_use.record)


def _whole_suite(session: pytest.Session) -> bool:
    option = session.config.option
    if option.keyword or option.markexpr or option.deselect or getattr(option, "lf", False):
        return False
    args = [Path(arg.split("::")[0]).resolve() for arg in session.config.args]
    return bool(args) and all(arg in (TESTS, TESTS.parent) for arg in args)


_index_problems: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus != pytest.ExitCode.OK or session.config.option.collectonly:
        return  # failures first; the check judges a run that ran
    whole = _whole_suite(session)
    _index_problems.extend(index_use.problems(index_use.recorded(), unused=whole))
    if whole:
        _index_problems.extend(
            f"store function {name} sent no query during the suite: test it"
            for name in index_use.unrecorded()
        )
    if _index_problems:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _index_problems:
        terminalreporter.section("index use (tests/index_use.py)", red=True)
        for problem in _index_problems:
            terminalreporter.write_line(problem)


@pytest.fixture
def no_fault_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test when the server logged an error or a traceback while it ran (a live
    server's thread included): faults from client input must be coded answers, not ours."""
    with caplog.at_level(logging.WARNING):
        yield
    faults = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR or r.exc_info]
    assert not faults, [r.getMessage() for r in faults]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def make_settings() -> Settings:
    """The settings every test starts from, with a database of its own (the `settings`
    fixture drops it afterwards; a test that calls this itself drops its own)."""
    return Settings(
        mongodb_uri=SecretStr(SERVER_URI) if SERVER_URI else None,
        # A fresh database per test on a real server, dropped afterwards.
        mongodb_database=f"tally_test_{RUN_ID}_{uuid.uuid4().hex[:8]}",
        admin_key=SecretStr(ADMIN_KEY),
        scheduler_enabled=False,  # tests run the scheduler's rounds themselves
    )


@pytest.fixture
def settings() -> Iterator[Settings]:
    settings = make_settings()
    database = settings.mongodb_database
    yield settings
    if SERVER_URI is not None:
        # A finalizer runs whatever the outcome, and whichever way the app was driven.
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]]
        with MongoClient(SERVER_URI) as client:
            client.drop_database(database)


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[Starlette]:
    """The app with its lifespan (its test database goes with the `settings` fixture)."""
    async with app.router.lifespan_context(app):
        yield app


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
