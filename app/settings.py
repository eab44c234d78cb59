"""Every TALLY_* setting, in one typed object read from the environment."""

from __future__ import annotations

import json
import re
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_ADMIN_KEY = "tally-dev-admin-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TALLY_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # uvicorn worker processes serving the API (MongoDB only: the embedded store is in-process).
    workers: int = Field(default=1, ge=1, le=256)
    # Unset: the embedded in-memory store (mongomock-motor), which keeps nothing across restarts.
    mongodb_uri: SecretStr | None = None
    mongodb_database: str = "tally"
    # Transactions need a replica set; a standalone server is refused unless this is set.
    mongodb_allow_standalone: bool = False
    # How long a command waits for a suitable server (a primary, for writes and transactions)
    # before it fails: requests and /readyz answer within this rather than PyMongo's 30 s.
    mongodb_timeout_ms: int = Field(default=5000, ge=100, le=120_000)
    # Installed as the default workspace's admin (and operator) key at start-up. Unset on the
    # embedded store: DEV_ADMIN_KEY, so the README's tour works out of the box.
    admin_key: SecretStr | None = None
    retention_days: int = Field(default=90, ge=1, le=3650)
    scheduler_interval_seconds: float = Field(default=10, gt=0)
    # Off: no background scheduler in this process (tests drive it; or a separate worker).
    scheduler_enabled: bool = True
    # How often a live event feed looks in MongoDB for events other instances tracked.
    event_feed_poll_seconds: float = Field(default=1, gt=0, le=60)
    # Subscriptions one API key may hold open on one instance (a site's visitors share one
    # publishable key); each in-app one looks in MongoDB every scheduler interval.
    max_subscriptions_per_key: int = Field(default=10_000, ge=1)
    rate_limit_per_minute: int = Field(default=10_000, ge=1)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # A WebSocket must be acknowledged (connection_init with a valid key) within this long.
    ws_init_timeout_seconds: float = Field(default=60, gt=0)
    # A request body must arrive within this many seconds (HTTP 408 otherwise).
    body_timeout_seconds: float = Field(default=10, gt=0)
    max_metadata_keys: int = Field(default=20, ge=1, le=200)
    max_custom_attributes: int = Field(default=100, ge=1, le=1000)
    # Caps that keep a contact document far below MongoDB's 16 MiB (each is a key or an entry
    # in it): distinct event names per workspace, custom attributes and aliases per contact,
    # AUDIENCE rules per workspace (each may add its id to a contact's `audience_done`).
    max_event_names: int = Field(default=1000, ge=1, le=10_000)
    # Distinct metadata keys one event name may have had (each an entry in its catalog). With
    # the names' cap it bounds `eventTypes { metadataKeys }`: 1,000 + 1,000 x 40 nodes by default,
    # within the default cost limit.
    max_metadata_keys_per_name: int = Field(default=40, ge=1, le=1000)
    max_contact_attributes: int = Field(default=200, ge=1, le=2000)
    max_contact_aliases: int = Field(default=100, ge=1, le=1000)
    max_audience_rules: int = Field(default=100, ge=1, le=1000)
    max_batch_size: int = Field(default=1000, ge=1, le=10_000)
    max_http_batch_operations: int = Field(default=20, ge=1, le=100)
    # How long a checked API key is trusted before the store is asked again. Revoking a key on
    # this instance takes effect at once; on other instances within this many seconds.
    auth_cache_seconds: float = Field(default=5, ge=0)
    webhook_allow_private_hosts: bool = False
    # Origins allowed to call the API from a browser (publishable keys in web pages), over HTTP
    # (CORS) and WebSocket: a JSON list or comma-separated.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Request headers a page on an allowed origin may send (besides the CORS-safelisted ones).
    cors_allow_headers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["Authorization", "Content-Type"]
    )
    max_query_depth: int = Field(default=15, ge=2)
    max_aliases: int = Field(default=30, ge=1)
    max_tokens: int = Field(default=5000, ge=100)
    # Nodes one operation may ask for: page sizes multiplied along each path, summed.
    max_query_cost: int = Field(default=50_000, ge=100)
    log_level: str = "INFO"

    @field_validator("cors_origins", "cors_allow_headers", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """A JSON list, or items separated by commas (an environment variable is text)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        """scheme://host[:port], as a browser sends it in Origin (a trailing / is dropped)."""
        cleaned = [origin.rstrip("/") for origin in origins]
        for origin in cleaned:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(f"{origin!r} is not an origin")
        return cleaned

    @property
    def embedded(self) -> bool:
        return self.mongodb_uri is None

    def admin_key_value(self) -> str | None:
        if self.admin_key is not None:
            return self.admin_key.get_secret_value()
        return DEV_ADMIN_KEY if self.embedded else None


def serving_problem(settings: Settings) -> str | None:
    """Why `serve` cannot run with these (well-formed) settings, in one line; None when it can."""
    if settings.workers > 1 and settings.embedded:
        return (
            "Bad setting TALLY_WORKERS: 1 with the embedded store, which lives in one process; "
            "more workers need TALLY_MONGODB_URI (a MongoDB replica set) "
            f"(got {settings.workers})."
        )
    return None


def settings_problem(error: ValidationError) -> str:
    """One line naming the variable and what it takes, for a malformed setting."""
    first = error.errors()[0]
    name = "TALLY_" + str(first["loc"][0]).upper() if first["loc"] else "a TALLY_ variable"
    expected = _EXPECTED.get(name, first["msg"])
    if name in _SECRET:
        return f"Bad setting {name}: {expected}."
    return f"Bad setting {name}: {expected} (got {first.get('input')!r})."


_SECRET = {"TALLY_ADMIN_KEY", "TALLY_MONGODB_URI"}


_EXPECTED = {
    "TALLY_CORS_ORIGINS": 'origins such as "https://shop.example,https://app.example" or a JSON '
    'list ["https://shop.example"]',
    "TALLY_CORS_ALLOW_HEADERS": 'header names such as "Authorization,Content-Type" or a JSON list',
}
