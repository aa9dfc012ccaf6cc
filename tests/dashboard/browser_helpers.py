"""What the browser tests share: chromium's place and flags, logging in, waiting for a page,
and the screenshots the docs show.

Every run takes the pictures; they go to ``$SHOPGUIDE_SCREENSHOTS`` when it is set (``make
screenshots`` sets it to ``docs/screenshots``, the pictures docs/dashboard.md shows) and to a
temporary folder otherwise, so a test run leaves the working tree as it was."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from live_server import LiveServer, headers

#: Where each page's picture goes (see the module docs).
SHOTS = Path(
    os.environ.get("SHOPGUIDE_SCREENSHOTS") or tempfile.mkdtemp(prefix="shopguide-screenshots-")
)
WRITE = headers("write")


def loaded(page: Any, name: str) -> None:
    """Wait until the dashboard has drawn page ``name``."""
    page.wait_for_selector(f"body[data-page='{name}']", timeout=30_000)


def shot(page: Any, name: str) -> None:
    """Save a picture of what the window shows as ``<SHOTS>/<name>.png`` (the top of
    the page: a whole long list would make pictures of a megabyte, stored again each time)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def log_in(page: Any, url: str) -> None:
    """Open the dashboard at ``url`` and log in with the write key (if not remembered)."""
    page.goto(url + "/")
    page.wait_for_selector("#key:visible, body[data-page='overview']")
    if page.is_visible("#key"):
        page.fill("#key", WRITE["X-API-Key"])
        page.click("#login-form button")
    loaded(page, "overview")


def store_rows(live: LiveServer, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Rows of ``sql`` on the live server's own store (the same DuckDB connection it uses)."""
    frame = live.state.db(lambda store: store.query_df(sql, params))
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]
