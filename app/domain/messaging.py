"""Which rules an event fires, and what a message says: pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from app.domain.filter_values import COMPARISONS
from app.domain.metadata import Money, TypedValue
from app.domain.models import Contact, Event
from app.domain.rules import Rule
from app.domain.templates import parse_template, render


def fired_by(rules: Sequence[Rule], event: Event) -> list[Rule]:
    """The enabled EVENT rules this event triggers: its name, its metadata conditions, and
    received after the rule was enabled."""
    return [
        rule
        for rule in rules
        if rule.spec.enabled
        and rule.spec.trigger_kind == "EVENT"
        and rule.spec.event_name == event.name
        and rule.enabled_at is not None
        and event.received_at >= rule.enabled_at
        and metadata_matches(rule.spec.metadata, event.metadata)
    ]


def metadata_matches(
    conditions: Sequence[Mapping[str, Any]], metadata: Mapping[str, TypedValue]
) -> bool:
    """MetadataCondition semantics (as in filters): all conditions hold."""
    return all(_holds(condition, metadata.get(condition["key"])) for condition in conditions)


def _holds(condition: Mapping[str, Any], value: TypedValue | None) -> bool:
    checks = [k for k in ("string", "number", "boolean") if condition.get(k) is not None]
    if not checks:
        return value is not None
    for kind in checks:
        spec = condition[kind]
        if kind == "boolean" and not (isinstance(value, bool) and value == spec):
            return False
        if kind == "number" and not _number(spec, value):
            return False
        if kind == "string" and not _string(spec, value):
            return False
    return True


def _number(spec: Mapping[str, Any], value: TypedValue | None) -> bool:
    if isinstance(value, Money):
        value = value.amount
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return all(
        COMPARISONS[op](value, operand) for op, operand in spec.items() if operand is not None
    )


def _string(spec: Mapping[str, Any], value: TypedValue | None) -> bool:
    exists = spec.get("exists")
    if exists is not None and exists != isinstance(value, str):
        return False
    if not isinstance(value, str):
        # ne matches a value that is not this string, including none at all
        return all(op in ("ne", "exists") for op, v in spec.items() if v is not None)
    for op, operand in spec.items():
        if operand is None or op == "exists":
            continue
        if op == "eq" and value != operand:
            return False
        if op == "ne" and value == operand:
            return False
        if op == "in" and value not in operand:
            return False
        if op == "contains" and operand.lower() not in value.lower():
            return False
        if op == "startsWith" and not value.lower().startswith(operand.lower()):
            return False
    return True


def template_data(contact: Contact, event: Event | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "contact": {
            "id": contact.id,
            "userId": contact.user_id,
            "email": contact.email,
            "name": contact.name,
            "anonymousId": contact.anonymous_id,
            "role": contact.role.value,
            "customAttributes": dict(contact.custom_attributes),
        }
    }
    if event is not None:
        data["event"] = {
            "name": event.name,
            "occurredAt": event.occurred_at,
            "metadata": dict(event.metadata),
        }
    return data


def compose(rule: Rule, contact: Contact, event: Event | None) -> tuple[str | None, str]:
    """The rule's subject and body for this contact (and triggering event)."""
    data = template_data(contact, event)
    subject = rule.spec.subject
    body = render(parse_template(rule.spec.body, field="body"), data)
    return (render(parse_template(subject, field="subject"), data) if subject else None), body


def due_at(rule: Rule, *, now: datetime) -> datetime:
    return now + timedelta(seconds=rule.spec.delay_seconds)
