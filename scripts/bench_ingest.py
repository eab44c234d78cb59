"""Ingestion figures over real HTTP against `python -m app serve` on the embedded store.

Prints the median and p95 latency of trackEvent against /healthz, events per second, and
the store commands one trackEvent costs (read from /metrics). Usage:

    .venv/bin/python scripts/bench_ingest.py [--events 2000]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

KEY = "bench-admin-key"
TRACK = """
mutation Track($input: TrackEventInput!) {
  trackEvent(input: $input) { duplicate summary { count } userErrors { code } }
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server() -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "TALLY_PORT": str(port),
        "TALLY_ADMIN_KEY": KEY,
        "TALLY_LOG_LEVEL": "warning",
        "TALLY_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    env.pop("TALLY_MONGODB_URI", None)
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=root, env=env)
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


def store_commands(client: httpx.Client) -> float:
    total = 0.0
    for family in text_string_to_metric_families(client.get("/metrics").text):
        if family.name == "tally_store_commands":
            total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return total


def timed(count: int, call: Callable[[int], object]) -> list[float]:
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - started)
    return latencies


def report(label: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    rate = len(latencies) / sum(latencies)
    print(
        f"{label:<28} median {statistics.median(latencies) * 1000:7.2f} ms"
        f"   p95 {p95 * 1000:7.2f} ms   {rate:8.0f} req/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    with (
        server() as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client,
    ):

        def track(i: int, *, key: bool = False) -> None:
            event = {
                "name": "viewed-pricing",
                "contact": {"userId": f"user-{i % 200}"},
                "metadata": {
                    "path": "/pricing",
                    "plan": "pro",
                    "price": {"amount": 4900, "currency": "EUR"},
                },
            }
            if key:
                event["idempotencyKey"] = f"bench-{i}"
            response = client.post("/graphql", json={"query": TRACK, "variables": {"input": event}})
            if response.status_code != 200 or "errors" in response.json():
                raise RuntimeError(response.text)

        track(-1)  # warm-up: schema caches, key check
        print(f"embedded store, {args.events} sequential requests each, one client over HTTP")
        report(
            "GET /healthz", timed(args.events, lambda i: client.get("/healthz").raise_for_status())
        )
        before = store_commands(client)
        report("trackEvent", timed(args.events, track))
        plain = (store_commands(client) - before) / args.events
        before = store_commands(client)
        report("trackEvent + idempotencyKey", timed(args.events, lambda i: track(i, key=True)))
        keyed = (store_commands(client) - before) / args.events
        print(f"store commands per trackEvent: {plain:.2f} (with idempotencyKey: {keyed:.2f})")


if __name__ == "__main__":
    main()
