"""Browser tests need Chromium: without it they skip, saying why, except where
TALLY_REQUIRE_BROWSER=1 (CI: .ci/run sets it) turns the skip into a failure."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from app.clock import SystemClock
from app.server import create_app
from app.settings import Settings
from tests.browser.chromium import find_chromium
from tests.browser.servers import serve_app


@pytest.fixture
def chromium_path() -> str:
    found = find_chromium()
    if found is None:
        reason = (
            "no Chromium at /usr/bin/chromium (./scripts/test installs Debian's `chromium` when "
            "run as root with apt-get; or install it yourself)"
        )
        if os.environ.get("TALLY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TALLY_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return found


def tally_app(settings: Settings, **changes: object) -> Starlette:
    # The real clock: the page and the server run on their own time.
    return create_app(settings.model_copy(update=changes), clock=SystemClock())


@pytest.fixture
def tally(settings: Settings) -> Iterator[str]:
    """Tally itself on 127.0.0.1 (its origin)."""
    with serve_app(tally_app(settings)) as origin:
        yield origin
