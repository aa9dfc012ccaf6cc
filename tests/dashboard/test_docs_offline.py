"""The interactive API docs work without internet: chromium opens ``/docs`` with every request
to another host aborted, and Swagger UI renders every documented operation from the service's
own copy of its files. A screenshot goes to ``docs/screenshots/api-docs.png``.

Needs ``apt-get install -y chromium`` (at /usr/bin/chromium) and ``pip install playwright``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from browser_helpers import SHOTS
from live_server import LiveServer, make_store

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = Path(tmp_path_factory.mktemp("docs")) / "shop.duckdb"
    make_store(db, n_users=60)
    with LiveServer(db) as server:
        yield server


def test_swagger_ui_renders_every_operation_offline(live: LiveServer, browser: Any) -> None:
    spec = httpx.get(f"{live.url}/openapi.json").json()
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    blocked: list[str] = []
    loaded: list[str] = []

    def route(handle: Any) -> None:
        url = handle.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname in LOOPBACK:
            loaded.append(url)
            handle.continue_()
        else:
            blocked.append(url)
            handle.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # one context of the session's chromium (see conftest.py)
    try:
        page = context.new_page()
        page.route("**/*", route)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{live.url}/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        shown = page.eval_on_selector_all(
            ".opblock",
            "els => els.map(e => [e.querySelector('.opblock-summary-method').textContent,"
            " e.querySelector('.opblock-summary-path').getAttribute('data-path')])",
        )
        page.screenshot(path=str(SHOTS / "api-docs.png"), full_page=False)
        title = page.title()
    finally:
        context.close()
    assert not blocked, f"the docs page asked other hosts for {blocked}"
    assert not errors, errors
    assert {(m.strip().upper(), path) for m, path in shown} == operations
    assert any(url.endswith("/docs/static/swagger-ui-bundle.js") for url in loaded)
    assert any(url.endswith("/docs/static/swagger-ui.css") for url in loaded)
    assert "ShopGuide" in title


def test_docs_assets_and_licence_are_served_and_redoc_is_off(live: LiveServer) -> None:
    for name, kind in [("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css"),
                       ("favicon-32x32.png", "image/png")]:  # fmt: skip
        answer = httpx.get(f"{live.url}/docs/static/{name}")
        assert answer.status_code == 200 and kind in answer.headers["content-type"], name
    assert "Apache License" in httpx.get(f"{live.url}/docs/static/LICENSE").text
    assert "SmartBear" in httpx.get(f"{live.url}/docs/static/NOTICE").text
    html = httpx.get(f"{live.url}/docs").text
    assert "cdn" not in html.lower() and "https://" not in html
    assert httpx.get(f"{live.url}/redoc").status_code == 404
