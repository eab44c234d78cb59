"""Ingestion figures over real HTTP against `python -m app serve` on the embedded store.

Prints the latency of trackEvent against /healthz, events per second of single trackEvent
calls against trackEvents batches of 1,000 (in alternating rounds: `--events` single calls
and `--batches` batches, one batch a round), the store commands each costs (read from
/metrics), and the peak memory of `python -m app import` over growing files. Usage:

    .venv/bin/python scripts/bench_ingest.py [--events 1000] [--batches 5] [--import-lines 1000000]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _bench import KEY, ROOT, env, post, server, store_totals, timed

TRACK = """
mutation Track($input: TrackEventInput!) {
  trackEvent(input: $input) { duplicate summary { count } userErrors { code } }
}
"""
TRACK_MANY = """
mutation TrackMany($inputs: [TrackEventInput!]!) {
  trackEvents(inputs: $inputs) { acceptedCount duplicateCount rejectedCount }
}
"""
USERS = 200


def event(i: int, *, key: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "viewed-pricing",
        "contact": {"userId": f"user-{i % USERS}"},
        "metadata": {
            "path": "/pricing",
            "plan": "pro",
            "price": {"amount": 4900, "currency": "EUR"},
        },
    }
    if key is not None:
        data["idempotencyKey"] = key
    return data


def report(label: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    rate = len(latencies) / sum(latencies)
    print(
        f"{label:<28} median {statistics.median(latencies) * 1000:7.2f} ms"
        f"   p95 {p95 * 1000:7.2f} ms   {rate:8.0f} req/s"
    )


def bench_http(url: str, *, events: int, batches: int) -> None:
    """Single calls and batches in alternating rounds, so that the VM's slow and fast spells
    fall on both."""
    headers = {"Authorization": f"Bearer {KEY}"}
    size = 1000
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        post(client, TRACK, {"input": event(-1)})  # warm-up: schema caches, key check
        print(f"embedded store, one client over HTTP, {USERS} users, 3 metadata values an event")
        report("GET /healthz", timed(events, lambda i: client.get("/healthz").raise_for_status()))

        def one(r: int, i: int) -> None:
            post(client, TRACK, {"input": event(i, key=f"s-{r}-{i}")})

        def batch(b: int, _: int) -> None:
            inputs = [event(i, key=f"b-{b}-{i}") for i in range(size)]
            result = post(client, TRACK_MANY, {"inputs": inputs})["trackEvents"]
            if result["acceptedCount"] != size:
                raise RuntimeError(result)

        single: list[float] = []
        batch_times: list[float] = []
        single_totals = [0.0, 0.0]  # store commands, seconds in the store
        batch_totals = [0.0, 0.0]
        per_round = events // batches
        for r in range(batches):
            before = store_totals(client)
            single += timed(per_round, functools.partial(one, r))
            middle = store_totals(client)
            batch_times += timed(1, functools.partial(batch, r))
            after = store_totals(client)
            for k in (0, 1):
                single_totals[k] += middle[k] - before[k]
                batch_totals[k] += after[k] - middle[k]
        report("trackEvent + idempotencyKey", single)
        singles = len(single)
        single_rate = singles / sum(single)
        batch_rate = batches * size / sum(batch_times)
        single_store = single_totals[1] / singles
        batch_store = batch_totals[1] / (batches * size)
        batch_commands = batch_totals[0] / batches
        print(
            f"{'trackEvents(1000)':<28} median {statistics.median(batch_times) * 1000:7.0f} ms"
            f"   per batch"
        )
        print(
            f"events/s: single {single_rate:,.0f}, batched {batch_rate:,.0f}"
            f" ({batch_rate / single_rate:.1f}x)"
        )
        print(
            f"store commands: {single_totals[0] / singles:.2f} per trackEvent, "
            f"{batch_commands:.1f} per 1,000-event batch ({batch_commands / size:.4f} per event)"
        )
        single_own = 1 / single_rate - single_store
        batch_own = 1 / batch_rate - batch_store
        print(
            f"time per event in the embedded store: single {single_store * 1e6:,.0f} us, "
            f"batched {batch_store * 1e6:,.0f} us"
        )
        print(
            f"time per event outside the store (HTTP, GraphQL, Tally): single "
            f"{single_own * 1e6:,.0f} us, batched {batch_own * 1e6:,.0f} us "
            f"({single_own / batch_own:.1f}x)"
        )


def write_import_file(path: Path, lines: int) -> None:
    with path.open("w") as file:
        for i in range(lines):
            row = event(i)
            row["occurredAt"] = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
            file.write(json.dumps(row) + "\n")


def peak_rss_mib(command: list[str]) -> tuple[float, float]:
    """Peak resident memory of a child process, and its wall time."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{command} failed")
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def bench_import(lines: int) -> None:
    print("\npython -m app import, peak memory (RSS) of the whole process")
    with tempfile.TemporaryDirectory() as folder:
        for count in sorted({10_000, lines // 10, lines}):
            path = Path(folder) / f"events-{count}.jsonl"
            write_import_file(path, count)
            rss, seconds = peak_rss_mib(
                [sys.executable, "-m", "app", "import", "--check", str(path)]
            )
            print(
                f"  --check {count:>9,} lines: {rss:6.0f} MiB peak, {count / seconds:8,.0f} lines/s"
            )
        count = 20_000
        path = Path(folder) / "store.jsonl"
        write_import_file(path, count)
        rss, seconds = peak_rss_mib([sys.executable, "-m", "app", "import", str(path)])
        print(
            f"  into the embedded store, {count:,} lines: {rss:.0f} MiB peak, "
            f"{count / seconds:,.0f} lines/s (the store itself lives in this process)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--import-lines", type=int, default=1_000_000)
    args = parser.parse_args()
    with server() as url:
        bench_http(url, events=args.events, batches=args.batches)
    bench_import(args.import_lines)


if __name__ == "__main__":
    main()
