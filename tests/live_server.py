"""Tally on a real socket for tests that attack it: uvicorn on 127.0.0.1 and a free port.

An attack that blocks the event loop (synchronous validation) cannot be interrupted by an asyncio
timeout in the same loop: these servers run elsewhere, so a client with a timeout fails instead of
hanging. Use `server_in_subprocess` when a regression could keep the process busy for minutes (it
is killed afterwards); `server_in_thread` when the test needs the app object (a clock, its state).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette

from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LiveServer:
    host: str
    port: int
    log: Path | None = None  # the subprocess's stderr (its log)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/graphql"

    def log_text(self) -> str:
        return self.log.read_text() if self.log else ""


@contextmanager
def server_in_thread(app: Starlette) -> Iterator[LiveServer]:
    """`app` served by uvicorn in a thread with its own event loop (lifespan included)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer("127.0.0.1", port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def settings_env(settings: Settings) -> dict[str, str]:
    """The TALLY_* environment that reads back as `settings`."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list | dict | bool):
            value = json.dumps(value)
        env[f"TALLY_{name.upper()}"] = str(value)
    return env


@contextmanager
def server_in_subprocess(settings: Settings, log: Path) -> Iterator[LiveServer]:
    """Tally in its own process, started with `settings`; killed afterwards, whatever it does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env.update(settings_env(settings))
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.live_server"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline().decode()
            if not line.strip().isdigit():
                raise RuntimeError(f"the test server did not start: {log.read_text()}")
            yield LiveServer("127.0.0.1", int(line), log=log)
        finally:
            process.kill()
            process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
            drop_test_database(settings)


def drop_test_database(settings: Settings) -> None:
    """On a real server (TALLY_TEST_MONGODB_URI), the test's database goes afterwards."""
    if settings.mongodb_uri is None:
        return
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(settings.mongodb_uri.get_secret_value())
    with client:
        client.drop_database(settings.mongodb_database)


async def _serve_and_report_port() -> None:
    from app.server import create_app

    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            return
        await asyncio.sleep(0.01)
    print(server.servers[0].sockets[0].getsockname()[1], flush=True)
    await serving


if __name__ == "__main__":
    asyncio.run(_serve_and_report_port())
