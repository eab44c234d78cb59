"""Automatic message rules as sent, and the checks that make them rules Tally can run."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app.domain.errors import InvalidInput, UserError
from app.domain.filter_values import metadata_conditions
from app.domain.names import normalize_event_name
from app.domain.storable import storable_problems
from app.domain.templates import parse_template

MAX_RULE_NAME = 200
MAX_SUBJECT = 255
MAX_DELAY_SECONDS = 90 * 24 * 3600
MAX_SENDS = 10_000


@dataclass(frozen=True)
class RuleSpec:
    name: str
    trigger_kind: str  # EVENT | AUDIENCE
    event_name: str | None = None
    metadata: list[dict[str, Any]] = field(default_factory=list)  # conditions, API field names
    audience: dict[str, Any] | None = None  # a ContactFilter, API field names
    delay_seconds: int = 0
    exit_event_name: str | None = None
    frequency: str = "ONCE"  # ONCE | EVERY_TIME
    max_sends: int | None = None
    channel: str = "IN_APP"  # IN_APP | WEBHOOK
    subject: str | None = None
    body: str = ""
    webhook_url: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Rule:
    id: str
    spec: RuleSpec
    created_at: datetime
    enabled_at: datetime | None  # events received before it do not trigger the rule
    sent_count: int
    # Why Tally disabled the rule (its audience can no longer be evaluated), until re-enabled.
    disabled_reason: str | None = None
    # AUDIENCE rules: the last contact id the scheduler's current round has looked at.
    audience_cursor: str | None = None


def check_rule(spec: RuleSpec, *, allow_private_hosts: bool) -> RuleSpec:
    """The rule with names normalized; InvalidInput with every problem found."""
    errors: list[UserError] = []

    def refuse(code: str, message: str, *path: str) -> None:
        errors.append(UserError(code, message, path or None))

    def event_name(value: str, *path: str) -> str | None:
        try:
            return normalize_event_name(value)
        except InvalidInput as e:
            refuse("INVALID_EVENT_NAME", e.errors[0].message, *path)
            return None

    if not spec.name.strip() or len(spec.name) > MAX_RULE_NAME:
        refuse("INVALID_RULE_NAME", f"A rule name has 1 to {MAX_RULE_NAME} characters.", "name")
    trigger_event = None
    if spec.trigger_kind == "EVENT":
        if spec.event_name is None:
            refuse(
                "INVALID_TRIGGER", "An EVENT trigger names its eventName.", "trigger", "eventName"
            )
        else:
            trigger_event = event_name(spec.event_name, "trigger", "eventName")
        try:
            metadata_conditions(spec.metadata, ("trigger", "metadata"))
        except InvalidInput as e:
            errors += e.errors
    else:
        if spec.event_name is not None or spec.metadata:
            refuse("INVALID_TRIGGER", "eventName and metadata belong to EVENT triggers.", "trigger")
        if spec.audience is None:
            refuse("INVALID_TRIGGER", "An AUDIENCE trigger needs an audience filter.", "audience")
    exit_event = event_name(spec.exit_event_name, "exitEventName") if spec.exit_event_name else None
    if not 0 <= spec.delay_seconds <= MAX_DELAY_SECONDS:
        refuse(
            "INVALID_DELAY", f"delaySeconds is 0 to {MAX_DELAY_SECONDS} (90 days).", "delaySeconds"
        )
    if spec.max_sends is not None and (
        spec.frequency != "EVERY_TIME" or not 1 <= spec.max_sends <= MAX_SENDS
    ):
        refuse(
            "INVALID_FREQUENCY",
            f"maxSends (1 to {MAX_SENDS}) limits EVERY_TIME rules; ONCE sends once.",
            "maxSends",
        )
    if spec.subject is not None and len(spec.subject) > MAX_SUBJECT:
        refuse(
            "INVALID_CONTENT",
            f"A subject has at most {MAX_SUBJECT} characters.",
            "content",
            "subject",
        )
    for name, text in (("subject", spec.subject), ("body", spec.body)):
        if text is not None:
            try:
                parse_template(text, field=name)
            except InvalidInput as e:
                errors += [error.under("content") for error in e.errors]
    if not spec.body.strip():
        refuse("INVALID_CONTENT", "A message has a body.", "content", "body")
    if spec.channel == "WEBHOOK":
        problem = webhook_url_problem(spec.webhook_url, allow_private_hosts=allow_private_hosts)
        if problem:
            refuse("INVALID_WEBHOOK_URL", problem, "content", "webhookUrl")
    elif spec.webhook_url is not None:
        refuse(
            "INVALID_CONTENT", "webhookUrl belongs to the WEBHOOK channel.", "content", "webhookUrl"
        )
    errors += storable_problems(
        {
            "name": spec.name,
            "trigger": {"eventName": spec.event_name, "metadata": spec.metadata},
            "exitEventName": spec.exit_event_name,
            "content": {"subject": spec.subject, "body": spec.body, "webhookUrl": spec.webhook_url},
        }
    )
    if errors:
        raise InvalidInput(errors)
    return replace(spec, event_name=trigger_event, exit_event_name=exit_event)


def webhook_url_problem(url: str | None, *, allow_private_hosts: bool) -> str | None:
    """Why a webhook URL is refused, or None. Host names are resolved again when delivering."""
    if not url:
        return "The WEBHOOK channel needs a webhookUrl."
    try:
        parts = urlsplit(url)
    except ValueError:
        return "webhookUrl is not a URL."
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048:
        return "webhookUrl is an http(s) URL with a host."
    if allow_private_hosts:
        return None
    refused = (
        "Webhooks to loopback or private addresses are refused "
        "(TALLY_WEBHOOK_ALLOW_PRIVATE_HOSTS=1 allows them)."
    )
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return refused
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if address.is_global else refused
