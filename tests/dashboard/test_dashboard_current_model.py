"""The dashboard names the model the server serves: the popularity fallback, with its notice,
while the store has no current model, then the model ``compare`` published (real server, real
headless chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_server import LiveServer, make_store

from shopguide.store import open_store
from shopguide.workflows.current_model import FALLBACK_MODEL
from shopguide.workflows.modelling import compare_store

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def _model_shown(url: str) -> tuple[str, str]:
    """The header's model text and classes on the dashboard at ``url``."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(url + "/")
            page.wait_for_function("document.getElementById('model').textContent.length > 0")
            return page.inner_text("#model"), page.get_attribute("#model", "class") or ""
        finally:
            browser.close()


def test_the_dashboard_shows_the_fallback_then_the_compared_model(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: apt-get install -y chromium")
    db = tmp_path / "shop.duckdb"
    make_store(db)
    with LiveServer(db, model=None, train_if_missing=False) as server:
        text, classes = _model_shown(server.url)
    assert text == f"model {FALLBACK_MODEL}" and "warning" in classes.split()
    with open_store(db) as store:
        comparison = compare_store(store, ["popular", "item-knn"], test_days=30)
    with LiveServer(db, model=None, train_if_missing=False) as server:
        text, classes = _model_shown(server.url)
        version = server.state.holder.current.version
    assert text == f"model {comparison.chosen} {version}" and "warning" not in classes.split()
