"""Message templates: `{{contact.name}}`, `{{event.metadata.order_number}}` and nothing else.

No expressions, no code: a placeholder is a dotted path into the data given to `render`, checked
when the rule is saved. A value that is missing renders as nothing; the output is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.errors import InvalidInput
from app.domain.metadata import Link, Money
from app.domain.timestamps import format_iso

MAX_TEMPLATE_LENGTH = 10_000
MAX_OUTPUT_LENGTH = 20_000
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[^.{}\s][^.{}]*)*$")
_ROOTS = {
    "contact": {"id", "userId", "email", "name", "anonymousId", "role", "customAttributes"},
    "event": {"name", "occurredAt", "metadata"},
}
_OPEN_ENDED = {("contact", "customAttributes"), ("event", "metadata")}


@dataclass(frozen=True)
class Template:
    text: str
    paths: tuple[tuple[str, ...], ...]


def parse_template(text: str, *, field: str) -> Template:
    """The template, or InvalidInput (INVALID_TEMPLATE) naming the first bad placeholder."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise InvalidInput.one(
            "INVALID_TEMPLATE", f"A template has at most {MAX_TEMPLATE_LENGTH} characters.", field
        )
    paths = []
    for match in _PLACEHOLDER.finditer(text):
        raw = match.group(1)
        path = tuple(raw.split("."))
        if not _PATH.match(raw) or not _known(path):
            raise InvalidInput.one(
                "INVALID_TEMPLATE",
                f"{{{{{raw}}}}} is not a field a message can show: use contact.name, "
                "contact.email, contact.userId, contact.customAttributes.KEY, event.name, "
                "event.occurredAt or event.metadata.KEY.",
                field,
            )
        paths.append(path)
    if "{{" in _PLACEHOLDER.sub("", text):
        raise InvalidInput.one("INVALID_TEMPLATE", "A '{{' is not closed.", field)
    return Template(text, tuple(paths))


def _known(path: tuple[str, ...]) -> bool:
    if len(path) < 2 or path[0] not in _ROOTS or path[1] not in _ROOTS[path[0]]:
        return False
    if (path[0], path[1]) in _OPEN_ENDED:
        return len(path) == 3
    return len(path) == 2


def render(template: Template, data: Mapping[str, Any]) -> str:
    """The text with each placeholder replaced by its value as text (missing: empty)."""

    def value(match: re.Match[str]) -> str:
        found: Any = data
        for part in match.group(1).split("."):
            found = found.get(part) if isinstance(found, Mapping) else None
        return _text(found)

    return _PLACEHOLDER.sub(value, template.text)[:MAX_OUTPUT_LENGTH]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_iso(value)
    if isinstance(value, Link):
        return value.text or value.url
    if isinstance(value, Money):
        return f"{value.amount / 100:.2f} {value.currency}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
