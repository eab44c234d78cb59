"""The Starlette app factory: /graphql, /healthz, /readyz, /metrics, and the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from app import collector
from app.api.graphiql import ASSETS, ASSETS_PATH
from app.api.schema import build_schema
from app.api.view import EXPOSED_HEADERS, GraphQLView, Services
from app.clock import Clock, SystemClock
from app.messaging.scheduler import Scheduler
from app.metrics import Metrics
from app.services.auth import Authenticator, bootstrap
from app.services.pending import complete_pending
from app.services.rate_limits import RateLimiter
from app.settings import Settings
from app.store.database import open_store
from app.store.indexes import create_indexes

log = logging.getLogger(__name__)


def create_worker_app() -> Starlette:
    """The app of one uvicorn worker process of `python -m app serve` (TALLY_WORKERS > 1),
    whose collector is tuned as a single serving process's (app.collector)."""
    collector.tune()
    return create_app()


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    store_client: Any = None,
) -> Starlette:
    """The app, built from `settings` (default: the environment's; each uvicorn worker calls
    this with none). `store_client`: an embedded store shared with other app instances
    (`app.store.database.shared_embedded_client`; tests run two instances over one store)."""
    settings = settings or Settings()
    services = Services(settings=settings, clock=clock or SystemClock(), metrics=Metrics())
    schema = build_schema(settings)
    view = GraphQLView(schema, services=services)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await open_store(settings, services.metrics, client=store_client)
        try:
            await create_indexes(store)
            await bootstrap(store, settings=settings, clock=services.clock)
            # Merges and deletions a crash interrupted.
            await complete_pending(store, now=services.clock.now())
            services.store = store
            services.authenticator = Authenticator(
                store=store, clock=services.clock, cache_seconds=settings.auth_cache_seconds
            )
            services.rate_limiter = RateLimiter(
                limit=settings.rate_limit_per_minute, store=store if store.shared else None
            )
            async with httpx.AsyncClient(transport=webhook_transport) as http:
                services.scheduler = Scheduler(
                    store=store,
                    settings=settings,
                    clock=services.clock,
                    http=http,
                    broker=services.broker,
                )
                stop = asyncio.Event()
                task = None
                if settings.scheduler_enabled:
                    task = asyncio.create_task(services.scheduler.run(stop))
                try:
                    yield
                finally:
                    stop.set()
                    if task is not None:
                        await task
        finally:
            services.store = None
            await store.close()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            assert services.store is not None
            await services.store.ping()
        except Exception:
            log.exception("readiness check failed")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        return Response(services.metrics.render(), media_type=services.metrics.content_type)

    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=settings.cors_allow_headers,
                # so that a page can pace itself by the rate limit
                expose_headers=list(EXPOSED_HEADERS),
                max_age=600,
            )
        )
    app = Starlette(
        middleware=middleware,
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="graphiql"),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.schema = schema
    return app
