"""What the benchmark scripts share: a server of our own on a free loopback port, and its
metrics."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

KEY = "bench-admin-key"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(**extra: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    values.update({"TALLY_ADMIN_KEY": KEY, "TALLY_LOG_LEVEL": "warning", **extra})
    return values


@contextmanager
def server(**extra: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=ROOT,
        env=env(TALLY_PORT=str(port), **extra),
        stdout=subprocess.DEVNULL,  # uvicorn's access log, at TALLY_LOG_LEVEL=info
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def store_totals(client: httpx.Client) -> tuple[float, float]:
    """Store commands so far, and seconds spent in them, from /metrics."""
    totals = {"tally_store_commands": 0.0, "tally_store_command_seconds": 0.0}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        if family.name in totals:
            totals[family.name] += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return totals["tally_store_commands"], totals["tally_store_command_seconds"]


def timed(count: int, call: Callable[[int], object]) -> list[float]:
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - started)
    return latencies


def post(client: httpx.Client, query: str, variables: dict[str, object]) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(response.text)
    data: dict[str, Any] = body["data"]
    return data
