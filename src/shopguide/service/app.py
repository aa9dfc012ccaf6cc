"""The FastAPI application: routers, error handlers, request logging and the dashboard."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopguide import __version__
from shopguide.service import errors
from shopguide.service.limits import BodyLimit
from shopguide.service.routers import (
    campaigns,
    events,
    health,
    insights,
    items,
    lists,
    models,
    privacy,
)
from shopguide.service.routers import search as search_router
from shopguide.service.routers import users as users_router
from shopguide.service.settings import ServiceSettings, load_settings
from shopguide.service.state import ServiceState

log = logging.getLogger("shopguide.service.access")
DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard" / "static"
#: Swagger UI's files, vendored from the npm package ``swagger-ui-dist`` (see its README.md).
SWAGGER_UI = Path(__file__).resolve().parent / "static" / "swagger-ui"
SWAGGER_UI_URL = "/docs/static"


class AccessLog:
    """ASGI middleware: log method, route *template*, status and latency - never the path, query
    or body, which hold user ids - and feed the metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            ms = (time.perf_counter() - started) * 1000.0
            route = scope.get("route")
            # the template without converters: /v1/users/{user_id}/profile, not {user_id:path}
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            name = template or ("static" if status < 400 else "unmatched")
            line = f"{scope['method']} {name}"
            state = scope["app"].state.service if "app" in scope else None
            if state is not None:
                state.metrics.record(line, status, ms)
            log.info("%s %d %.1fms", line, status, ms)


def create_app(
    settings: ServiceSettings | None = None, *, state: ServiceState | None = None
) -> FastAPI:
    """Build the app. The store opens (and the model loads) when the app starts."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = app.state.service = state or ServiceState(settings)
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="ShopGuide",
        version=__version__,
        summary="Shopper profiles, recommendations, campaign audiences and retention.",
        description=(
            "Every route except `/health` needs an `X-API-Key` header. Roles: **read-only** "
            "(profiles, recommendations, analytics), **write** (also ingest events, build "
            "audiences), **admin** (also train models, erase and export users). A missing or "
            "unknown key gets 401, a key with too low a role 403."
        ),
        lifespan=lifespan,
        docs_url=None,  # served below from the vendored files, not from a CDN
        redoc_url=None,  # ReDoc would need a CDN too; /docs covers the same spec
    )
    errors.install(app)
    for module in (
        health,
        events,
        users_router,
        privacy,
        items,
        insights,
        lists,
        search_router,
        models,
        campaigns,
    ):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Swagger UI on the service's own copy of its files (works offline)."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API docs",
            swagger_js_url=f"{SWAGGER_UI_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI_URL}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI_URL}/favicon-32x32.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.mount(SWAGGER_UI_URL, StaticFiles(directory=SWAGGER_UI), name="swagger-ui")
    app.mount("/", StaticFiles(directory=DASHBOARD, html=True), name="dashboard")
    return app


def run(
    settings: ServiceSettings, host: str = "127.0.0.1", port: int = 8000, **uvicorn: Any
) -> None:
    """Serve with uvicorn (access log off: :class:`AccessLog` logs without personal data).

    The store opens here, before uvicorn starts, so that a store that cannot be opened (locked
    by another process, say) raises its :class:`~shopguide.errors.StoreError` to the caller
    instead of failing the app's start-up inside uvicorn.
    """
    import uvicorn as _uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    state = ServiceState(settings)
    try:
        app = create_app(settings, state=state)
    except BaseException:
        state.stop()
        raise
    _uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", **uvicorn)
