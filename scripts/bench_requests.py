"""What one `trackEvent` costs beside `/healthz`: over HTTP under 16 connections (wrk), and split
in process (store / GraphQL and Tally / transport).

Over HTTP, `python -m app serve` (uvicorn, one process, embedded store, the rate limit raised)
is loaded by Debian's `wrk` (two threads, 16 connections) for `--seconds` a run, `/healthz` and
single `trackEvent` calls in alternating rounds (three by default; the median of each is
reported). Every trackEvent carries an idempotency key of its own (`wrk-<round>-<thread>-<n>`),
so each is a new event (6 store commands alone); 200 users, three metadata values, as in
bench_ingest. Only 2xx answers are counted (wrk's "Non-2xx" are subtracted), and the events
the server accepted are read back from /metrics to show that every counted answer was a
recorded event, with the events each ingest transaction carried (group commit).

In process, the app runs over httpx's ASGI transport (no sockets), with the collector tuned as
a serving process's (app.collector; `--default-collector` keeps CPython's): per event, the
request time minus a `/healthz` request's time (the transport and Starlette) minus the store's
time (`tally_store_command_seconds`) is GraphQL and Tally's own. Usage:

    .venv/bin/python scripts/bench_requests.py [--rounds 3] [--seconds 10] [--events 2000]
        [--log-level warning] [--no-http] [--default-collector]
        [--profile N]   # and the N functions where in-process trackEvents spend most (cProfile)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib.util
import json
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _bench import KEY, server
from bench_ingest import TRACK, event
from pydantic import SecretStr

from app import collector
from app.server import create_app
from app.settings import Settings

CONNECTIONS = 16
RATE_LIMIT = 100_000_000  # per key per minute: never reached here

if importlib.util.find_spec("sniffio") is None:
    # httpx's ASGI transport tries `import sniffio` on every request (is it running under
    # trio?): without the package, each failed import searches sys.path again, ~25 us a request
    # that a server never pays. Recorded as missing, the import fails at once.
    sys.modules["sniffio"] = None  # type: ignore[assignment]

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
function request()
  n = n + 1
  local body = string.format(%(template)s, n %% 200, "%(run)s", tid, n)
  return wrk.format(nil, nil, nil, body)
end
"""


def lua_script(folder: Path, run: str) -> Path:
    body = {"query": TRACK, "variables": {"input": event(0, key="KEY")}}
    template = json.dumps(body).replace("%", "%%").replace("user-0", "user-%d")
    template = template.replace('"KEY"', '"wrk-%s-%d-%d"')
    path = folder / f"track-{run}.lua"
    path.write_text(LUA % {"key": KEY, "template": json.dumps(template), "run": run})
    return path


def wrk(url: str, *, seconds: int, script: Path | None = None) -> tuple[float, int, int]:
    """(2xx answers a second, 2xx answers, non-2xx answers) of one wrk run."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    if total is None:
        raise RuntimeError(output)
    count = int(total.group(1))
    elapsed = float(total.group(2)) * {"ms": 1e-3, "s": 1.0, "m": 60.0}[total.group(3)]
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    bad = int(refused.group(1)) if refused else 0
    errors = re.search(r"Socket errors: .*", output)
    if errors:
        print(f"    wrk: {errors.group(0)}")
    return (count - bad) / elapsed, count - bad, bad


def accepted_events(client: httpx.Client) -> tuple[float, float]:
    """(events accepted, ingest transactions of single events) so far, from /metrics."""
    text = client.get("/metrics").text
    found = re.search(r'tally_events_ingested_total\{result="accepted"\} ([\d.e+]+)', text)
    groups = re.search(r"tally_event_group_size_count ([\d.e+]+)", text)
    return float(found.group(1)) if found else 0.0, float(groups.group(1)) if groups else 0.0


def bench_http(*, rounds: int, seconds: int, log_level: str) -> None:
    if shutil.which("wrk") is None:
        print(
            "wrk is missing: the HTTP part needs Debian's wrk "
            "(apt-get update && apt-get install -y wrk). Skipped.",
            file=sys.stderr,
        )
        return
    print(f"over HTTP: uvicorn, one process, embedded store, wrk, {CONNECTIONS} connections, ")
    print(
        f"{seconds} s a run, {rounds} alternating rounds, TALLY_LOG_LEVEL={log_level}; "
        "2xx answers a second"
    )
    health_rates, track_rates = [], []
    with (
        server(TALLY_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT), TALLY_LOG_LEVEL=log_level) as url,
        tempfile.TemporaryDirectory() as folder,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client,
    ):
        client.post("/graphql", json={"query": TRACK, "variables": {"input": event(-1)}})
        for r in range(rounds):
            health, _, bad_health = wrk(f"{url}/healthz", seconds=seconds)
            before, groups_before = accepted_events(client)
            track, ok, bad = wrk(
                f"{url}/graphql", seconds=seconds, script=lua_script(Path(folder), f"{r}")
            )
            after, groups_after = accepted_events(client)
            accepted = after - before
            per_group = accepted / max(groups_after - groups_before, 1)
            health_rates.append(health)
            track_rates.append(track)
            print(
                f"  round {r + 1}: /healthz {health:8,.0f}/s ({bad_health} non-2xx)   "
                f"trackEvent {track:6,.0f}/s ({bad} non-2xx; {accepted:,.0f} events accepted for "
                f"{ok:,} 2xx answers, {per_group:.1f} a transaction)   1/{health / track:.1f}"
            )
    health, track = statistics.median(health_rates), statistics.median(track_rates)
    print(f"  median: /healthz {health:,.0f}/s, trackEvent {track:,.0f}/s: 1/{health / track:.1f}")


async def bench_in_process(*, events: int, rounds: int, profile: int) -> None:
    settings = Settings(
        admin_key=SecretStr(KEY), rate_limit_per_minute=RATE_LIMIT, scheduler_enabled=False
    )
    app = create_app(settings)
    metrics = app.state.services.metrics
    headers = {"Authorization": f"Bearer {KEY}"}

    def store_split() -> dict[str, float]:
        return {
            f"{s.labels['op']} {s.labels['collection']}": s.value
            for family in metrics.store_seconds.collect()
            for s in family.samples
            if s.name.endswith("_total")
        }

    def store_seconds() -> float:
        return sum(store_split().values())

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://b", headers=headers
        ) as http,
    ):
        counter = 0

        async def track() -> None:
            nonlocal counter
            counter += 1
            body = {"query": TRACK, "variables": {"input": event(counter, key=f"p-{counter}")}}
            response = await http.post("/graphql", json=body)
            if response.status_code != 200 or "errors" in response.json():
                raise RuntimeError(response.text)

        async def health() -> None:
            (await http.get("/healthz")).raise_for_status()

        async def per_call(call: object, count: int) -> float:
            started = time.perf_counter()
            for _ in range(count):
                await call()  # type: ignore[operator]
            return (time.perf_counter() - started) / count

        for _ in range(200):  # warm-up: caches, the key check, the store's first documents
            await track()
        totals, healths, stores = [], [], []
        split = store_split()
        for _ in range(rounds):
            healths.append(await per_call(health, events))
            before = store_seconds()
            totals.append(await per_call(track, events))
            stores.append((store_seconds() - before) / events)
        commands = {k: (v - split.get(k, 0)) / events / rounds for k, v in store_split().items()}
        total, healthz, store = map(statistics.median, (totals, healths, stores))
        print(
            f"\nin process (httpx ASGI transport), {events} events a round, {rounds} rounds, "
            f"collector thresholds {gc.get_threshold()}:"
        )
        print(f"  trackEvent request {total * 1e6:7,.0f} us   (/healthz {healthz * 1e6:,.0f} us)")
        print(f"  store              {store * 1e6:7,.0f} us")
        for command, seconds in sorted(commands.items(), key=lambda c: -c[1]):
            if seconds > 0:
                print(f"    {command:<30} {seconds * 1e6:5,.0f} us")
        print(f"  GraphQL and Tally  {(total - healthz - store) * 1e6:7,.0f} us")
        print(f"  transport          {healthz * 1e6:7,.0f} us   (a /healthz request)")
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await per_call(track, events)
            profiler.disable()
            print(f"\nprofile of {events} trackEvent calls (cProfile), by own time:")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(profile)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument(
        "--profile", type=int, default=0, help="print the N functions of most own time (cProfile)"
    )
    parser.add_argument("--no-http", action="store_true", help="the in-process split only")
    parser.add_argument(
        "--default-collector",
        action="store_true",
        help="in process, keep CPython's collector thresholds (a server raises its own)",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        help="the server's TALLY_LOG_LEVEL: at info (the default of `python -m app serve`) "
        "uvicorn writes an access log line per request, which halves /healthz",
    )
    args = parser.parse_args()
    if not args.no_http:
        bench_http(rounds=args.rounds, seconds=args.seconds, log_level=args.log_level)
    if not args.default_collector:
        collector.tune()  # as `python -m app serve` does in its process
    asyncio.run(bench_in_process(events=args.events, rounds=args.rounds, profile=args.profile))


if __name__ == "__main__":
    main()
