"""The dashboard names the model the server serves: the popularity fallback, with its notice,
while the store has no current model, then the model ``compare`` published (real server, real
headless chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from browser_helpers import loaded, log_in, shot
from live_server import LiveServer, make_store

from shopguide.store import open_store
from shopguide.workflows.current_model import FALLBACK_MODEL
from shopguide.workflows.modelling import compare_store


def _model_shown(browser: Any, url: str) -> tuple[str, str]:
    """The header's model text and classes on the dashboard at ``url``."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url + "/")
        page.wait_for_function("document.getElementById('model').textContent.length > 0")
        return page.inner_text("#model"), page.get_attribute("#model", "class") or ""
    finally:
        context.close()


def test_the_dashboard_shows_the_fallback_then_the_compared_model(
    tmp_path: Path, browser: Any
) -> None:
    db = tmp_path / "shop.duckdb"
    make_store(db)
    with LiveServer(db, model=None, train_if_missing=False) as server:
        text, classes = _model_shown(browser, server.url)
    assert text == f"model {FALLBACK_MODEL}" and "warning" in classes.split()
    with open_store(db) as store:
        comparison = compare_store(store, ["popular", "item-knn"], test_days=30)
    with LiveServer(db, model=None, train_if_missing=False) as server:
        text, classes = _model_shown(browser, server.url)
        version = server.state.holder.current.version
    assert text == f"model {comparison.chosen} {version}" and "warning" not in classes.split()


def test_the_models_page_shows_why_compare_chose_its_model(tmp_path: Path, browser: Any) -> None:
    db = tmp_path / "shop.duckdb"
    make_store(db)
    with open_store(db) as store:
        comparison = compare_store(store, ["popular", "item-knn"], test_days=30)
    evidence = comparison.evidence()
    with LiveServer(db, model=None, train_if_missing=False) as server:
        version = server.state.holder.current.version
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            log_in(page, server.url)
            page.click("nav a[data-page='models']")
            loaded(page, "models")
            box = f"[data-testid='evidence'][data-model='{comparison.chosen}']"
            page.wait_for_selector(box)
            assert page.get_attribute(box, "data-version") == version
            assert evidence["verdict"] in page.inner_text(box)
            rows = page.locator(f"{box} tr[data-row]")
            shown = [r.get_attribute("data-row") for r in rows.all()]
            assert shown == [str(r.get("model")) for r in evidence["table"]]
            assert set(shown) == {"popular", "item-knn"}
            shot(page, "models-evidence")
        finally:
            context.close()
