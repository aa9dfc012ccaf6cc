"""The dashboard tests reuse the live-server helper of the service tests; one server over the
synthetic test shop and one headless chromium serve every browser test of a session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from browser_helpers import WRITE
from live_server import LiveServer, make_store


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = Path(tmp_path_factory.mktemp("dashboard")) / "shop.duckdb"
    make_store(db)
    with LiveServer(db) as server:
        yield server


@pytest.fixture(scope="session")
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, headers=WRITE, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def browser_page(browser: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A page of a fresh browser context, with the URLs it asked for and its console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page, requests, errors
    context.close()
