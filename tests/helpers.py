"""Small helpers that read like usage: call the API as a client would."""

from __future__ import annotations

import os
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

ADMIN_KEY = "test-admin-key"
# Against a real MongoDB (TALLY_TEST_MONGODB_URI) writes run in transactions: the store counts
# one `transaction` command per transaction, and claiming idempotency keys reads them first
# (docs/semantics.md), so exact command counts differ there by these.
REAL_SERVER = bool(os.environ.get("TALLY_TEST_MONGODB_URI"))
# Inside a transaction (the embedded store's too) idempotency keys are read before they are
# claimed; a replica set also counts the transaction itself.
IN_TRANSACTION = {
    ("idempotency_keys", "find"): 1,
    **({("", "transaction"): 1} if REAL_SERVER else {}),
}


class GraphQL:
    """POSTs GraphQL documents to /graphql with a key, as a backend or GraphiQL would."""

    def __init__(self, http: httpx.AsyncClient, key: str | None = ADMIN_KEY) -> None:
        self.http = http
        self.key = key

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    async def post(self, query: str, **variables: Any) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers()
        )

    async def result(self, query: str, **variables: Any) -> dict[str, Any]:
        """The whole JSON answer ({data, errors}), whatever it holds."""
        response = await self.post(query, **variables)
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """`data` of a request that must succeed without GraphQL errors."""
        response = await self.post(query, **variables)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error_codes(self, query: str, **variables: Any) -> list[str]:
        body = await self.result(query, **variables)
        return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


async def store_commands(http: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    """tally_store_commands_total by (collection, op), read from /metrics."""
    text = (await http.get("/metrics")).text
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "tally_store_commands":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    key = (sample.labels["collection"], sample.labels["op"])
                    counts[key] = sample.value
    return counts


async def total_store_commands(http: httpx.AsyncClient) -> float:
    return sum((await store_commands(http)).values())
