"""Webhook delivery: a signed JSON POST to a public address."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

WEBHOOK_TIMEOUT_SECONDS = 10.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`Tally-Signature`: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


async def private_address(url: str) -> str | None:
    """The loopback/private address the URL's host resolves to, if any."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443)
    except OSError:
        return None  # unresolvable: the POST fails and is retried
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return str(address)
    return None


async def post_webhook(
    client: httpx.AsyncClient,
    *,
    url: str,
    payload: Mapping[str, Any],
    secret: str,
    now: datetime,
    allow_private_hosts: bool,
) -> str | None:
    """None when delivered (a 2xx answer); otherwise why not."""
    if not allow_private_hosts and (address := await private_address(url)):
        return f"refused: {url} resolves to the private address {address}"
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "Tally-Signature": signature(secret, int(now.timestamp()), body),
        "User-Agent": "Tally-Webhooks/1",
    }
    try:
        response = await client.post(
            url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as e:
        return f"{type(e).__name__}: {e}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"
