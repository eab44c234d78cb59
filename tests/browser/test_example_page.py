"""examples/web in a real browser, served from another origin than Tally's: with a
publishable key it tracks an event for its visitor and shows the in-app message a rule sends
back over a cross-origin WebSocket subscription."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from app.settings import Settings
from tests.browser.chromium import chromium
from tests.browser.conftest import tally_app
from tests.browser.servers import serve_app, serve_directory
from tests.helpers import ADMIN_KEY

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "web"
RULE = """
mutation { createMessageRule(input: {name: "Pricing nudge",
  trigger: {kind: EVENT, eventName: "viewed-pricing"},
  content: {channel: IN_APP, subject: "Still deciding?", body: "{{event.metadata.plan}} is 20% off today."}
}) { userErrors { code } } }
"""
KEY = 'mutation { createApiKey(name: "Web page", scope: PUBLISHABLE) { secret } }'
LATER = """
mutation { createMessageRule(input: {name: "Cart reminder",
  trigger: {kind: EVENT, eventName: "abandoned-cart"},
  content: {channel: IN_APP, body: "Your cart misses you."}
}) { userErrors { code } } }
"""
SHOWN = "[...document.querySelectorAll('#messages li')].map(li => li.textContent).join('|')"


async def admin(tally: str, query: str, **variables: object) -> Any:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{tally}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


async def test_the_example_page_shows_the_message_its_event_triggered(
    chromium_path: str, settings: Settings
) -> None:
    with (
        serve_directory(EXAMPLE) as site,
        serve_app(tally_app(settings, cors_origins=[site])) as tally,
    ):
        assert site != tally  # another origin: CORS and the WebSocket origin check apply
        await admin(tally, RULE)
        await admin(tally, LATER)
        key = (await admin(tally, KEY))["createApiKey"]["secret"]
        address = f"{site}/index.html?" + urlencode({"tally": f"{tally}/graphql", "key": key})
        async with chromium(chromium_path, allowed=[site, tally]) as page:
            await page.goto(address)
            await page.wait_for("document.body.dataset.state === 'ready'")
            await page.evaluate("document.getElementById('view-pricing').click()")
            shown = await page.wait_for(SHOWN)
            assert shown == "Still deciding? pro is 20% off today."
            visitor = await page.evaluate("localStorage.getItem('tally.anonymousId')")
            # The page is closed when the next message is sent; opened again, it shows it.
            await page.goto("about:blank")
            await admin(
                tally,
                'mutation($c: ContactRef!) { trackEvent(input: {name: "abandoned-cart", contact: $c}) { duplicate } }',
                c={"anonymousId": visitor},
            )
            await page.goto(address)
            await page.wait_for("document.body.dataset.state === 'ready'")
            shown = await page.wait_for(SHOWN)
            assert shown == "Still deciding? pro is 20% off today.|Your cart misses you."
            ws = f"{tally.replace('http', 'ws')}/graphql"
            assert page.sockets == [ws, ws]
            assert page.blocked == []
            assert page.errors == []
        listed = await admin(
            tally,
            "query($c: ContactRef) { messages(contact: $c) { edges { node { body status } } } }",
            c={"anonymousId": visitor},
        )
        assert [edge["node"] for edge in listed["messages"]["edges"]] == [
            {"body": "Your cart misses you.", "status": "SENT"},
            {"body": "pro is 20% off today.", "status": "SENT"},
        ]
