"""Planned inputs (app/api/input_plans.py) convert exactly as Strawberry does by itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from strawberry.annotation import StrawberryAnnotation
from strawberry.types.arguments import convert_argument
from strawberry.types.base import get_object_definition

from app.api.inputs import ContactInput, ContactRef, TrackEventInput
from app.api.schema import build_schema

AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
CASES: list[tuple[type, dict[str, Any]]] = [
    (TrackEventInput, {"name": "viewed-pricing", "contact": {"userId": "u1"}}),
    (
        TrackEventInput,
        {
            "name": "placed-order",
            "contact": {"anonymousId": "v1"},
            "occurredAt": AT,
            "metadata": {"price": {"amount": 4900, "currency": "EUR"}, "gift": None},
            "idempotencyKey": "order-1",
            "userHash": "ab",
        },
    ),
    (TrackEventInput, {"name": "x", "contact": {"id": "c1"}, "metadata": None}),
    (ContactInput, {"ref": {"email": "a@example.com"}}),
    (
        ContactInput,
        {
            "ref": {"userId": "u1"},
            "email": None,
            "name": "Ana",
            "signedUpAt": AT,
            "customAttributes": {"plan": "pro", "seats": 3, "gone": None},
        },
    ),
]


def convert(cls: type, value: dict[str, Any], *, planned: bool) -> object:
    schema = build_schema()
    definitions = [get_object_definition(c, strict=True) for c in (cls, ContactRef)]
    hooks = [d.from_input for d in definitions]
    try:
        if not planned:
            for definition in definitions:
                definition.from_input = None
        return convert_argument(
            [value],
            StrawberryAnnotation(list[cls]).resolve(),  # type: ignore[valid-type]
            schema.schema_converter.scalar_registry,
            schema.config,
        )
    finally:
        for definition, hook in zip(definitions, hooks, strict=True):
            definition.from_input = hook


@pytest.mark.parametrize(("cls", "value"), CASES)
def test_a_planned_input_equals_strawberrys_own_conversion(
    cls: type, value: dict[str, Any]
) -> None:
    assert get_object_definition(cls, strict=True).from_input is not None
    ours = convert(cls, value, planned=True)
    theirs = convert(cls, value, planned=False)
    assert ours == theirs
    assert repr(ours) == repr(theirs)  # UNSET and None told apart
