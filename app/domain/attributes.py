"""Custom attributes of a contact: flat, typed string | number | boolean | date; null removes."""

from __future__ import annotations

from datetime import datetime

from app.domain.errors import ErrorList, InvalidInput
from app.domain.metadata import type_scalar
from app.domain.names import key_problem

AttributeValue = str | int | float | bool | datetime


def type_attributes(raw: object, *, max_keys: int) -> dict[str, AttributeValue | None]:
    """Validated attributes to write; a None value means "remove this attribute"."""
    field = "customAttributes"
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput.one(
            "INVALID_CUSTOM_ATTRIBUTES", "customAttributes is a flat JSON object.", field
        )
    if len(raw) > max_keys:
        raise InvalidInput.one(
            "TOO_MANY_CUSTOM_ATTRIBUTES",
            f"customAttributes has {len(raw)} keys; at most {max_keys} are accepted at once.",
            field,
        )
    errors = ErrorList()
    typed: dict[str, AttributeValue | None] = {}
    for key, value in raw.items():
        problem = key_problem(key)
        if problem:
            errors.add("INVALID_ATTRIBUTE_NAME", problem, field, key)
            continue
        if value is None:
            typed[key] = None
            continue
        try:
            typed[key] = type_scalar(value)
        except InvalidInput as e:
            errors.extend([error.under(field, key) for error in e.errors])
    errors.raise_if_any()
    return typed
