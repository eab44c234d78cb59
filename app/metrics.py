"""Prometheus metrics, one registry per app so that several apps (tests) never share counts.

Under several worker processes (TALLY_WORKERS > 1, which sets PROMETHEUS_MULTIPROC_DIR before
the workers start), each worker writes its counts to files in that directory and /metrics adds
up every worker's: a scrape sees the whole server whichever worker answers it."""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.store_commands = Counter(
            "tally_store_commands",
            "Calls the storage layer made to the database driver.",
            ["collection", "op"],
            registry=self.registry,
        )
        self.store_seconds = Counter(
            "tally_store_command_seconds",
            "Time spent in calls to the database driver (for the embedded store: its CPU time).",
            ["collection", "op"],
            registry=self.registry,
        )
        self.events_ingested = Counter(
            "tally_events_ingested",
            "Events received, by result: accepted, duplicate or rejected.",
            ["result"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "tally_graphql_request_duration_seconds",
            "Time to execute one GraphQL operation, by operation type.",
            ["operation_type"],
            registry=self.registry,
        )

        self.event_group_size = Histogram(
            "tally_event_group_size",
            "Single events recorded together in one transaction (group commit).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024),
            registry=self.registry,
        )

    def render(self) -> bytes:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not directory:
            return generate_latest(self.registry)
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(every_worker)
