"""Typing and validation of event metadata and custom attribute values.

A value's type is decided from the value itself (guide §3): string, number, boolean, date, link
(plain URL or rich link) and money. Values are stored as plain BSON values, links and money as
small documents; `stored_type` reads the type back from that shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from app.domain.currencies import ISO_4217_CODES
from app.domain.errors import ErrorList, InvalidInput, UserError
from app.domain.names import key_problem
from app.domain.storable import INT64_MAX, INT64_MIN
from app.domain.timestamps import format_iso, from_unix_seconds, parse_date_time

MAX_STRING_LENGTH = 1000
MAX_URL_LENGTH = 2048
MAX_MONEY_AMOUNT = 2**31 - 1  # MoneyValue.amount is a GraphQL Int (32-bit)


class ValueType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    LINK = "link"
    MONEY = "money"


@dataclass(frozen=True)
class Link:
    url: str
    text: str | None = None


@dataclass(frozen=True)
class Money:
    amount: int  # minor units (cents)
    currency: str  # ISO 4217, upper case


TypedValue = str | int | float | bool | datetime | Link | Money
Stored = str | int | float | bool | datetime | dict[str, object]


def value_type(value: TypedValue) -> ValueType:
    exact = _EXACT_TYPES.get(type(value))
    if exact is not None:  # one lookup where the checks below take up to six
        return exact
    if isinstance(value, bool):
        return ValueType.BOOLEAN
    if isinstance(value, int | float):
        return ValueType.NUMBER
    if isinstance(value, datetime):
        return ValueType.DATE
    if isinstance(value, Link):
        return ValueType.LINK
    if isinstance(value, Money):
        return ValueType.MONEY
    return ValueType.STRING


_EXACT_TYPES: dict[type, ValueType] = {
    str: ValueType.STRING,
    bool: ValueType.BOOLEAN,
    int: ValueType.NUMBER,
    float: ValueType.NUMBER,
    datetime: ValueType.DATE,
    Link: ValueType.LINK,
    Money: ValueType.MONEY,
}


def type_metadata(raw: object, *, max_keys: int) -> dict[str, TypedValue]:
    """Validate a metadata object and type each value; raises InvalidInput with every problem."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput.one("INVALID_METADATA", "metadata is a flat JSON object.", "metadata")
    if len(raw) > max_keys:
        raise InvalidInput.one(
            "TOO_MANY_METADATA_KEYS",
            f"metadata has {len(raw)} keys; at most {max_keys} are accepted.",
            "metadata",
        )
    errors = ErrorList()
    typed: dict[str, TypedValue] = {}
    for key, value in raw.items():
        problem = key_problem(key)
        if problem:
            errors.add("INVALID_METADATA_KEY", problem, "metadata", key)
            continue
        try:
            typed[key] = type_metadata_value(key, value)
        except InvalidInput as e:
            errors.extend([error.under("metadata", key) for error in e.errors])
    errors.raise_if_any()
    return typed


def type_metadata_value(key: str, value: object) -> TypedValue:
    if isinstance(value, dict):
        return _type_object(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and _is_date_key(key):
        date = from_unix_seconds(value) if math.isfinite(value) else None
        if date is None:
            raise _invalid(
                "INVALID_VALUE",
                f"'{key}' is read as Unix seconds and {value!r} is not a valid date "
                "(milliseconds instead of seconds?).",
            )
        return date
    if isinstance(value, str) and _is_url(value):
        return Link(url=value)
    return type_scalar(value)


def type_scalar(value: object) -> str | int | float | bool | datetime:
    """A string, number, boolean or ISO-8601 date-time string; anything else is refused."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise _invalid("INVALID_VALUE", "A whole number fits in 64 bits.")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _invalid("INVALID_VALUE", "A number is finite.")
        return value
    if isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH:
            raise _invalid(
                "VALUE_TOO_LONG",
                f"A string value has at most {MAX_STRING_LENGTH} characters ({len(value)} given).",
            )
        return parse_date_time(value) or value
    if value is None:
        raise _invalid("INVALID_VALUE", "null is not a value: leave the key out.")
    if isinstance(value, list | dict):
        raise _invalid(
            "NESTED_VALUE",
            "Values are flat: a list or object is refused here.",
        )
    raise _invalid("INVALID_VALUE", f"Unsupported value {value!r}.")


def _type_object(value: dict[str, object]) -> Link | Money:
    keys = set(value)
    if "url" in keys and keys <= {"url", "value"}:
        url, text = value["url"], value.get("value")
        if not isinstance(url, str) or not _is_url(url):
            raise _invalid("INVALID_LINK", "A rich link's url is an http(s) URL.")
        if text is not None and (not isinstance(text, str) or len(text) > MAX_STRING_LENGTH):
            raise _invalid(
                "INVALID_LINK", f"A rich link's value is text of at most {MAX_STRING_LENGTH} chars."
            )
        return Link(url=url, text=text)
    if keys == {"amount", "currency"}:
        amount, currency = value["amount"], value["currency"]
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise _invalid(
                "INVALID_MONEY", "amount is a whole number of minor units (34999 for 349.99)."
            )
        if not 0 <= amount <= MAX_MONEY_AMOUNT:
            raise _invalid("INVALID_MONEY", f"amount is between 0 and {MAX_MONEY_AMOUNT}.")
        if not isinstance(currency, str) or currency.upper() not in ISO_4217_CODES:
            raise _invalid("INVALID_MONEY", "currency is an ISO 4217 code such as EUR or USD.")
        return Money(amount=amount, currency=currency.upper())
    raise _invalid(
        "NESTED_VALUE",
        "Values are flat: an object is only a rich link {url, value} or money {amount, currency}.",
    )


def _is_date_key(key: str) -> bool:
    lowered = key.lower()
    return lowered.endswith("_date") or lowered.endswith("_at")


def _is_url(text: str) -> bool:
    if not text[:8].lower().startswith(("http://", "https://")):
        return False
    if len(text) > MAX_URL_LENGTH or any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _invalid(code: str, message: str) -> InvalidInput:
    return InvalidInput([UserError(code, message)])


# ---------------------------------------------------------------- storage and JSON shapes


def to_stored(value: TypedValue) -> Stored:
    if isinstance(value, Link):
        return {"url": value.url, "text": value.text}
    if isinstance(value, Money):
        return {"amount": value.amount, "currency": value.currency}
    return value


def from_stored(value: object) -> TypedValue:
    if isinstance(value, dict):
        if "url" in value:
            return Link(url=str(value["url"]), text=value.get("text"))
        return Money(amount=int(value["amount"]), currency=str(value["currency"]))
    if isinstance(value, str | int | float | bool | datetime):
        return value
    raise TypeError(f"not a stored metadata value: {value!r}")


def to_json(value: TypedValue) -> object:
    """The value in the input convention (what a client would send to get it back)."""
    if isinstance(value, Link):
        return value.url if value.text is None else {"url": value.url, "value": value.text}
    if isinstance(value, Money):
        return {"amount": value.amount, "currency": value.currency}
    if isinstance(value, datetime):
        return format_iso(value)
    return value
