"""Every TALLY_* setting, in one typed object read from the environment."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_ADMIN_KEY = "tally-dev-admin-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TALLY_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
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
    rate_limit_per_minute: int = Field(default=10_000, ge=1)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_metadata_keys: int = Field(default=20, ge=1, le=200)
    max_custom_attributes: int = Field(default=100, ge=1, le=1000)
    # Caps that keep a contact document far below MongoDB's 16 MiB (each is a key or an entry
    # in it): distinct event names per workspace, custom attributes and aliases per contact,
    # AUDIENCE rules per workspace (each may add its id to a contact's `audience_done`).
    max_event_names: int = Field(default=1000, ge=1, le=10_000)
    max_contact_attributes: int = Field(default=200, ge=1, le=2000)
    max_contact_aliases: int = Field(default=100, ge=1, le=1000)
    max_audience_rules: int = Field(default=100, ge=1, le=1000)
    max_batch_size: int = Field(default=1000, ge=1, le=10_000)
    max_http_batch_operations: int = Field(default=20, ge=1, le=100)
    # How long a checked API key is trusted before the store is asked again. Revoking a key on
    # this instance takes effect at once; on other instances within this many seconds.
    auth_cache_seconds: float = Field(default=5, ge=0)
    webhook_allow_private_hosts: bool = False
    # Origins allowed to call the API from a browser (publishable keys in web pages).
    cors_origins: list[str] = Field(default_factory=list)
    max_query_depth: int = Field(default=15, ge=2)
    max_aliases: int = Field(default=30, ge=1)
    max_tokens: int = Field(default=5000, ge=100)
    log_level: str = "INFO"

    @property
    def embedded(self) -> bool:
        return self.mongodb_uri is None

    def admin_key_value(self) -> str | None:
        if self.admin_key is not None:
            return self.admin_key.get_secret_value()
        return DEV_ADMIN_KEY if self.embedded else None
