"""Settings from the environment: the forms they take, and one clear line when one is wrong."""

from __future__ import annotations

import pytest

from app.__main__ import main
from app.settings import Settings


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ('["https://shop.example"]', ["https://shop.example"]),
        (
            "https://shop.example, https://app.example:8443/",
            ["https://shop.example", "https://app.example:8443"],
        ),
        ("", []),
    ],
)
def test_cors_origins_take_a_json_list_or_commas(
    monkeypatch: pytest.MonkeyPatch, value: str, origins: list[str]
) -> None:
    monkeypatch.setenv("TALLY_CORS_ORIGINS", value)
    assert Settings().cors_origins == origins


def test_allowed_request_headers_take_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().cors_allow_headers == ["Authorization", "Content-Type"]
    monkeypatch.setenv("TALLY_CORS_ALLOW_HEADERS", "Authorization,Content-Type,X-Request-Id")
    assert Settings().cors_allow_headers == ["Authorization", "Content-Type", "X-Request-Id"]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("TALLY_CORS_ORIGINS", "shop.example", "https://shop.example"),
        ("TALLY_CORS_ORIGINS", '["https://shop.example"', "JSON list"),
        ("TALLY_PORT", "eighty", "integer"),
        ("TALLY_RATE_LIMIT_PER_MINUTE", "0", "greater than or equal to 1"),
    ],
)
def test_a_malformed_setting_stops_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    says: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["serve"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith(f"Bad setting {variable}: ")
    assert says in line
    assert "Traceback" not in err
