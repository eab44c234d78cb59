"""Headless Chromium driven over the DevTools protocol, with every request outside the test's
own servers refused and recorded (a page that reaches the internet fails its test)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]
WAIT_SECONDS = 30.0  # a bound for a page that never gets there, not a timing assertion


def find_chromium() -> str | None:
    return next(
        (p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
         if p and os.access(p, os.X_OK)),
        None,
    )  # fmt: skip


class Page:
    """One tab: navigate, evaluate JavaScript, and wait for what a user would see."""

    def __init__(self, socket: ClientConnection, allowed: list[str]) -> None:
        self._socket = socket
        self._allowed = allowed
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.blocked: list[str] = []  # requests (and sockets) that tried to leave the servers
        self.sockets: list[str] = []  # WebSocket URLs the page opened
        self.requests: list[str] = []  # "METHOD url" of every request let through
        self.errors: list[str] = []  # uncaught exceptions and console errors, for diagnosis
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader = asyncio.create_task(self._read())

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._waiting[number] = answer
        await self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        result: dict[str, Any] = await answer
        return result

    async def _read(self) -> None:
        async for raw in self._socket:
            message = json.loads(raw)
            if "id" in message:
                answer = self._waiting.pop(message["id"])
                if "error" in message:
                    answer.set_exception(RuntimeError(f"DevTools: {message['error']}"))
                else:
                    answer.set_result(message.get("result", {}))
            else:
                await self._on_event(message["method"], message.get("params", {}))

    async def _on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Fetch.requestPaused":
            request = params["request"]
            url = request["url"]
            if any(url.startswith(origin + "/") for origin in self._allowed):
                self.requests.append(f"{request['method']} {url}")
                self._later(self.send("Fetch.continueRequest", requestId=params["requestId"]))
            else:
                self.blocked.append(url)
                self._later(
                    self.send(
                        "Fetch.failRequest",
                        requestId=params["requestId"],
                        errorReason="BlockedByClient",
                    )
                )
        elif method == "Network.webSocketCreated":
            url = params["url"]
            self.sockets.append(url)
            if not any(url.startswith(o.replace("http", "ws", 1) + "/") for o in self._allowed):
                self.blocked.append(url)  # not stoppable from here, but the test fails
        elif method == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(params["exceptionDetails"])[:500])
        elif method == "Runtime.consoleAPICalled" and params["type"] == "error":
            self.errors.append(json.dumps(params["args"])[:500])

    def _later(self, work: Coroutine[Any, Any, Any]) -> None:
        """Answer an event without blocking the reader (which reads the answer)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        await self.send("Fetch.enable", patterns=[{"urlPattern": "*"}])
        await self.send("Network.enable")
        await self.send("Runtime.enable")
        await self.send("Page.enable")

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'")

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str) -> Any:
        """The expression's value once truthy (polled: the page works on its own time)."""
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                while True:
                    value = await self.evaluate(expression)
                    if value:
                        return value
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(
                f"never true: {expression}\npage errors: {self.errors}\nblocked: {self.blocked}"
            ) from None

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def chromium(executable: str, *, allowed: list[str]) -> AsyncIterator[Page]:
    """A fresh headless Chromium (its own profile) with one page that may reach `allowed`
    origins only."""
    with (
        tempfile.TemporaryDirectory(
            prefix="tally-chromium-", ignore_cleanup_errors=True
        ) as profile,
        tempfile.NamedTemporaryFile(prefix="tally-chromium-", suffix=".log") as log,
    ):
        # Chromium's own log goes to a file: a pipe nobody reads would block it once full.
        process = subprocess.Popen(  # noqa: ASYNC220 (started once; waited for in a thread)
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,  # its own process group: ended whole, helpers included
        )  # fmt: skip
        try:
            browser_url = await _devtools_url(process, Path(log.name))
            port = re.match(r"ws://[^:]+:(\d+)/", browser_url)
            assert port is not None, browser_url
            targets = await asyncio.to_thread(_json, f"http://127.0.0.1:{port.group(1)}/json/list")
            page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            async with connect(page_url, max_size=None) as socket:
                page = Page(socket, allowed)
                await page.start()
                try:
                    yield page
                finally:
                    await page.close()
        finally:
            await asyncio.to_thread(_end, process)


def _end(process: subprocess.Popen[bytes]) -> None:
    """Chromium and the helper processes it started (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    finally:  # helpers still there (or Chromium itself, if it did not end)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def _devtools_url(process: subprocess.Popen[bytes], log: Path) -> str:
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            text = await asyncio.to_thread(log.read_text, errors="replace")
            if match := re.search(r"DevTools listening on (ws://\S+)", text):
                return match.group(1)
            if process.poll() is not None:
                raise RuntimeError(f"Chromium did not start:\n{text[-3000:]}")
            await asyncio.sleep(0.05)


def _json(url: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as answer:  # the browser's own endpoint
        return json.loads(answer.read())
