"""Segment queries over 1k and 10k contacts on the embedded store, in process.

For each population and each kind of filter (event count, event date, `within` window, a
window that 0 satisfies, attribute, not/or combination, top users of a feature): a page of 50
contacts with `totalCount`, summaries and 3 events of activity each, then `count` of the same
filter saved as a segment. Printed per query: store commands, the largest query document and
the largest result document the store handled (BSON bytes: MongoDB refuses either past
16 MiB, so neither may grow with the contacts), and the median time.

The population is written straight into the store (contacts with their summaries, raw events),
in the shapes the app writes, so that 10k contacts load in seconds. Usage:

    .venv/bin/python scripts/bench_segments.py [--sizes 1000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bson import ObjectId
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.clock import SystemClock
from app.server import create_app
from app.settings import Settings
from tests.helpers import ADMIN_KEY, GraphQL, total_store_commands
from tests.sizes import recording_sizes

PAGE = """
query Page($filter: ContactFilter, $orderBy: ContactOrder) {
  contacts(filter: $filter, orderBy: $orderBy, first: 50) {
    totalCount
    edges {
      node {
        userId
        eventSummaries { name count lastAt }
        activity(first: 3) { edges { node { name } } }
      }
    }
  }
}
"""
COUNT = "query($id: ID!) { segment(id: $id) { count } }"
SAVE = "mutation($i: SegmentInput!) { createSegment(input: $i) { segment { id } } }"
RECENT = {"lessThanDaysAgo": 30}
ZELDA = [{"key": "item", "string": {"contains": "zelda"}}]
WINDOW = {"name": "checked-out", "within": {"lastDays": 7, "count": {"gte": 2}, "metadata": ZELDA}}
KINDS: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "event count": ({"event": {"name": "viewed-pricing", "count": {"gt": 3}}}, None),
    "event date": ({"event": {"name": "exported-pdf", "lastAt": {"lessThanDaysAgo": 30}}}, None),
    "within window": ({"event": WINDOW}, None),
    "window that 0 satisfies": (
        {"event": {"name": "checked-out", "within": {"lastDays": 7, "count": {"lt": 1}}}},
        None,
    ),
    "attribute": ({"attribute": {"name": "plan", "string": {"eq": "pro"}}}, None),
    "not / or combination": (
        {
            "or": [
                {
                    "event": {"name": "viewed-pricing", "count": {"gt": 3}},
                    "lastSeenAt": {"lessThanDaysAgo": 30},
                },
                {
                    "and": [
                        {"attribute": {"name": "plan", "string": {"eq": "pro"}}},
                        {
                            "not": {
                                "event": {"name": "exported-pdf", "lastAt": {"lessThanDaysAgo": 30}}
                            }
                        },
                    ]
                },
                {"event": WINDOW},
            ]
        },
        None,
    ),
    "top-k order (EVENT_COUNT)": (
        {},
        {"field": "EVENT_COUNT", "direction": "DESC", "eventName": "viewed-pricing"},
    ),
}
NAMES = ["viewed-pricing", "exported-pdf", "checked-out", "created-report"]


async def populate(app: Any, workspace_id: str, contacts: int) -> int:
    """About 8 events a contact over the last 60 days; contacts carry their summaries."""
    store = app.state.services.store
    now = datetime.now(UTC).replace(microsecond=0)
    people: list[dict[str, Any]] = [
        {
            "_id": ObjectId(),
            "workspace_id": workspace_id,
            "role": "USER",
            "user_id": f"user-{p:06d}",
            "created_at": now - timedelta(days=90),
            "attrs": {"plan": "pro" if p % 4 else "free"},
            "events": {},
        }
        for p in range(contacts)
    ]
    events = []
    for i in range(contacts * 8):
        person = people[(i * 7919) % contacts]
        name = NAMES[i % len(NAMES)]
        at = now - timedelta(hours=(i * 37) % (60 * 24))
        metadata = {"item": "Zelda" if i % 3 else "Mario"} if name == "checked-out" else {}
        events.append(
            {
                "_id": ObjectId(),
                "workspace_id": workspace_id,
                "contact_id": person["_id"],
                "name": name,
                "occurred_at": at,
                "received_at": now,
                "metadata": metadata,
                "expires_at": now + timedelta(days=90),
            }
        )
        summary = person["events"].setdefault(name, {"count": 0, "first_at": at, "last_at": at})
        summary["count"] += 1
        summary["first_at"] = min(summary["first_at"], at)
        summary["last_at"] = max(summary["last_at"], at)
        person["last_seen_at"] = max(person.get("last_seen_at", at), at)
    for start in range(0, len(people), 5000):
        await store.collection("contacts").insert_many(people[start : start + 5000], ordered=True)
    for start in range(0, len(events), 5000):
        await store.collection("events").insert_many(events[start : start + 5000], ordered=True)
    return len(events)


async def measure(
    gql: GraphQL, label: str, repeat: int, query: str, variables: dict[str, Any]
) -> None:
    times, commands, largest_query, largest_result = [], 0.0, 0, 0
    for _ in range(repeat):
        before = await total_store_commands(gql.http)
        with recording_sizes() as sizes:
            started = time.perf_counter()
            await gql.data(query, **variables)
            times.append(time.perf_counter() - started)
        commands = await total_store_commands(gql.http) - before
        largest_query = max(largest_query, sizes.largest_query)
        largest_result = max(largest_result, sizes.largest_result)
    median = statistics.median(times) * 1000
    print(
        f"  {label:<42} {commands:3.0f} commands   largest query {largest_query:6,} B"
        f"   largest result {largest_result:6,} B   median {median:8.1f} ms",
        flush=True,
    )


async def run(size: int, repeat: int) -> None:
    settings = Settings(admin_key=SecretStr(ADMIN_KEY), scheduler_enabled=False)
    app = create_app(settings, clock=SystemClock())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as http,
    ):
        gql = GraphQL(http)
        workspace = (await gql.data("{ workspace { id } }"))["workspace"]["id"]
        started = time.perf_counter()
        events = await populate(app, workspace, size)
        loaded = time.perf_counter() - started
        print(f"{size:,} contacts, {events:,} events (loaded in {loaded:.1f} s)", flush=True)
        for label, (filter, order) in KINDS.items():
            variables: dict[str, Any] = {"filter": filter}
            if order is not None:
                variables["orderBy"] = order
            await measure(gql, f"{label}: page of 50", repeat, PAGE, variables)
            if order is None:
                saved = await gql.data(SAVE, i={"name": label, "filter": filter})
                segment = saved["createSegment"]["segment"]["id"]
                await measure(gql, f"{label}: segment count", repeat, COUNT, {"id": segment})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for size in args.sizes:
        asyncio.run(run(size, args.repeat))


if __name__ == "__main__":
    main()
