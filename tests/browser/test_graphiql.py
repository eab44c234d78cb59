"""GraphiQL in a real browser, served entirely by Tally: it asks for a key first, then loads
the schema and runs a query; nothing is fetched from anywhere else."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.browser.chromium import chromium
from tests.helpers import ADMIN_KEY


async def test_graphiql_runs_a_query_with_the_key_it_asked_for(
    chromium_path: str, tally: str
) -> None:
    async with chromium(chromium_path, allowed=[tally]) as page:
        await page.goto(f"{tally}/graphql")
        # First screen: how to add the key, and no request made without one.
        prompt = await page.wait_for("document.getElementById('no-key')?.textContent")
        assert "Add an API key" in prompt
        assert [r for r in page.requests if r.startswith("POST")] == []
        await page.evaluate(
            f"document.getElementById('api-key').value = {json.dumps(ADMIN_KEY)};"
            "document.getElementById('use-key').click()"
        )
        await page.wait_for("document.querySelector('.graphiql-query-editor .CodeMirror') !== null")
        await page.evaluate(
            "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
            ".setValue('{ workspace { id retentionDays } }')"
        )
        await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
        result = await page.wait_for(
            "(() => { const r = document.querySelector('.result-window .CodeMirror');"
            " const text = r && r.CodeMirror.getValue(); return text && text.includes('workspace') && text; })()"
        )
        assert json.loads(result) == {"data": {"workspace": {"id": "default", "retentionDays": 90}}}
        assert await page.evaluate("localStorage.getItem('tally.graphiql.apiKey')") == ADMIN_KEY
        # A subscription goes over the WebSocket, with the same key.
        await page.evaluate(
            "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
            ".setValue('subscription { eventTracked { name } }')"
        )
        # GraphiQL reads the editor's document a moment after a change; run too early, it sends
        # the subscription over HTTP (answered 400 SUBSCRIPTION_NEEDS_WEBSOCKET): run again.
        for _ in range(100):
            await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
            await asyncio.sleep(0.1)
            if page.sockets:
                break
        # Tracked until heard: the test cannot see when the subscription has started.
        result = "(() => { const text = document.querySelector('.result-window .CodeMirror')"
        result += ".CodeMirror.getValue(); return text.includes('opened-graphiql') && text; })()"
        async with httpx.AsyncClient() as client:
            for _ in range(100):  # bounded: wait_for below says what never came
                if await page.evaluate(result):
                    break
                tracked = await client.post(
                    f"{tally}/graphql",
                    json={
                        "query": 'mutation { trackEvent(input: {name: "opened-graphiql", contact: {userId: "ada"}}) { duplicate } }'
                    },
                    headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                )
                assert tracked.status_code == 200
                await asyncio.sleep(0.1)
        heard = await page.wait_for(result)
        assert json.loads(heard) == {"data": {"eventTracked": {"name": "opened-graphiql"}}}
        assert page.sockets == [f"{tally.replace('http', 'ws', 1)}/graphql"]
        # The schema was fetched with the key: the Docs pane lists the root types.
        await page.evaluate(
            "document.querySelector('[aria-label=\"Show Documentation Explorer\"]').click()"
        )
        docs = await page.wait_for(
            "(() => { const text = document.querySelector('.graphiql-doc-explorer')?.innerText;"
            " return text && text.includes('Subscription') && text; })()"
        )
        assert all(root in docs for root in ("Query", "Mutation", "Subscription"))
        body = await page.evaluate("document.body.innerText")
        assert "Error fetching schema" not in body
        assert "UNAUTHENTICATED" not in body
        assert page.blocked == []
        assert page.errors == []
