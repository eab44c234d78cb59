"""Segment queries over 1k and 10k contacts on the embedded store, over HTTP.

For each population: store commands and time of a nested behavioural filter (a page of 50
with totalCount, summaries and activity), of a saved segment's count, and of "top users of a
feature" ordering. Usage:

    .venv/bin/python scripts/bench_segments.py [--sizes 1000 10000] [--repeat 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from _bench import KEY, post, server, store_totals

TRACK_MANY = """
mutation TrackMany($inputs: [TrackEventInput!]!) {
  trackEvents(inputs: $inputs) { acceptedCount }
}
"""
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
NESTED: dict[str, Any] = {
    "or": [
        {
            "event": {"name": "viewed-pricing", "count": {"gt": 3}},
            "lastSeenAt": {"lessThanDaysAgo": 30},
        },
        {
            "and": [
                {"attribute": {"name": "plan", "string": {"eq": "pro"}}},
                {"not": {"event": {"name": "exported-pdf", "lastAt": {"lessThanDaysAgo": 30}}}},
            ]
        },
        {
            "event": {
                "name": "checked-out",
                "within": {
                    "lastDays": 7,
                    "count": {"gte": 2},
                    "metadata": [{"key": "item", "string": {"contains": "zelda"}}],
                },
            }
        },
    ]
}
NAMES = ["viewed-pricing", "exported-pdf", "checked-out", "created-report"]


def populate(client: httpx.Client, contacts: int) -> int:
    """About 8 events a contact over the last 60 days, sent in batches of 1,000."""
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    sent = 0
    for i in range(contacts * 8):
        person = (i * 7919) % contacts
        event: dict[str, Any] = {
            "name": NAMES[i % len(NAMES)],
            "contact": {"userId": f"user-{person}"},
            "occurredAt": (now - timedelta(hours=(i * 37) % (60 * 24))).isoformat(),
        }
        if event["name"] == "checked-out":
            event["metadata"] = {"item": "Zelda" if i % 3 else "Mario"}
        if i % 10 == 0:
            event["metadata"] = {**event.get("metadata", {}), "plan": "pro"}
        batch.append(event)
        if len(batch) == 1000:
            sent += post(client, TRACK_MANY, {"inputs": batch})["trackEvents"]["acceptedCount"]
            batch = []
    if batch:
        sent += post(client, TRACK_MANY, {"inputs": batch})["trackEvents"]["acceptedCount"]
    upsert = "mutation($i: [ContactInput!]!) { upsertContacts(inputs: $i) { rejectedCount } }"
    for start in range(0, contacts, 1000):
        inputs = [
            {
                "ref": {"userId": f"user-{p}"},
                "customAttributes": {"plan": "pro" if p % 4 else "free"},
            }
            for p in range(start, min(start + 1000, contacts))
        ]
        post(client, upsert, {"i": inputs})
    return sent


def measure(
    client: httpx.Client, label: str, repeat: int, query: str, variables: dict[str, Any]
) -> None:
    times, commands, store_time = [], 0.0, 0.0
    for _ in range(repeat):
        before = store_totals(client)
        started = time.perf_counter()
        post(client, query, variables)
        times.append(time.perf_counter() - started)
        after = store_totals(client)
        commands += after[0] - before[0]
        store_time += after[1] - before[1]
    median = statistics.median(times) * 1000
    print(
        f"  {label:<34} median {median:8.1f} ms   {commands / repeat:4.1f} store commands"
        f"   {store_time / repeat * 1000:8.1f} ms in the store"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    for size in args.sizes:
        with (
            server() as url,
            httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=600
            ) as client,
        ):
            started = time.perf_counter()
            events = populate(client, size)
            loaded = time.perf_counter() - started
            print(f"{size:,} contacts, {events:,} events (loaded in {loaded:.0f} s)")
            measure(client, "nested filter, page of 50", args.repeat, PAGE, {"filter": NESTED})
            segment = post(
                client,
                "mutation($i: SegmentInput!) { createSegment(input: $i) { segment { id } } }",
                {"i": {"name": "bench", "filter": NESTED}},
            )["createSegment"]["segment"]["id"]
            measure(
                client, "saved segment count", args.repeat,
                "query($id: ID!) { segment(id: $id) { count } }", {"id": segment},
            )  # fmt: skip
            top = {"field": "EVENT_COUNT", "direction": "DESC", "eventName": "viewed-pricing"}
            measure(
                client, "top users of a feature, page of 50", args.repeat, PAGE, {"orderBy": top}
            )


if __name__ == "__main__":
    main()
