from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.errors import InvalidInput
from app.domain.metadata import Link, Money
from app.domain.templates import MAX_OUTPUT_LENGTH, parse_template, render

DATA = {
    "contact": {
        "name": "Ada",
        "email": "ada@example.com",
        "customAttributes": {"plan": "pro", "seats": 3.0},
    },
    "event": {
        "name": "upgraded-plan",
        "occurredAt": datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
        "metadata": {
            "order_number": Link("https://shop.example/o/1", "ORDER-1"),
            "invoice": Link("https://pay.example/in_1"),
            "price": Money(34999, "EUR"),
            "annual": True,
        },
    },
}


def test_placeholders_render_their_values_as_text() -> None:
    template = parse_template(
        "Thanks {{contact.name}} ({{ contact.email }}) for {{event.name}} to "
        "{{contact.customAttributes.plan}} x{{contact.customAttributes.seats}}: "
        "{{event.metadata.price}}, order {{event.metadata.order_number}}, "
        "invoice {{event.metadata.invoice}}, annual {{event.metadata.annual}}, "
        "on {{event.occurredAt}}.",
        field="body",
    )
    assert render(template, DATA) == (
        "Thanks Ada (ada@example.com) for upgraded-plan to pro x3: 349.99 EUR, order ORDER-1, "
        "invoice https://pay.example/in_1, annual true, on 2026-11-28T10:00:00+00:00."
    )


def test_missing_values_render_empty() -> None:
    template = parse_template("Hi {{contact.name}}{{event.metadata.coupon}}!", field="body")
    assert render(template, {"contact": {}}) == "Hi !"


@pytest.mark.parametrize(
    "text",
    [
        "{{contact.password}}",
        "{{contact}}",
        "{{event.metadata}}",
        "{{event.metadata.a.b}}",
        "{{__class__.__mro__}}",
        "{{ contact.name | upper }}",
        "{{ 7 * 7 }}",
        "Hi {{contact.name",
        "x" * 10_001,
    ],
)
def test_templates_that_would_do_more_than_show_a_field_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_template(text, field="body")
    assert caught.value.errors[0].code == "INVALID_TEMPLATE"


def test_output_is_bounded() -> None:
    template = parse_template("{{contact.name}}" * 500, field="body")
    assert len(render(template, {"contact": {"name": "x" * 1000}})) == MAX_OUTPUT_LENGTH
