"""The overview for a date range, in real chromium: the cards show the API's figures for the
range with their change against the period before it, and "All time" goes back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from browser_helpers import loaded, log_in, shot
from live_server import LiveServer


def test_the_overview_for_a_range_compares_with_the_period_before(
    live: LiveServer, api: httpx.Client, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, _, errors = browser_page
    log_in(page, live.url)
    page.fill("[data-testid='range'] input[name='start']", "2024-04-01")
    page.fill("[data-testid='range'] input[name='end']", "2024-04-30")
    page.click("[data-testid='range'] button[type='submit']")
    page.wait_for_selector("[data-testid='showing']:has-text('2024-04-01 to 2024-04-30')")
    loaded(page, "overview")
    period = api.get("/v1/overview", params={"start": "2024-04-01", "end": "2024-04-30"}).json()[
        "period"
    ]
    for key in ("revenue", "orders", "buyers", "users", "items_sold"):
        card = f"[data-kpi='{key}']"
        assert float(page.get_attribute(card, "data-raw") or "nan") == pytest.approx(period[key])
        shown = page.get_attribute(f"{card} .change", "data-change")
        assert float(shown or "nan") == pytest.approx(period["change"][key]), key
    assert "2024-03-02 to 2024-03-31" in page.inner_text("[data-testid='showing']")
    assert page.evaluate("location.hash") == "#/overview/2024-04-01..2024-04-30"
    shot(page, "overview-range")
    page.click("[data-testid='all-time']")
    page.wait_for_selector("[data-testid='showing']:has-text('Events from')")
    kpis = api.get("/v1/overview").json()["kpis"]
    assert int(page.get_attribute("[data-kpi='orders']", "data-raw") or -1) == kpis["orders"]
    assert page.locator(".change").count() == 0
    assert not errors, errors


def test_the_segments_page_for_a_range(
    live: LiveServer, api: httpx.Client, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, _, errors = browser_page
    log_in(page, live.url)
    page.click("nav a[data-page='segments']")
    loaded(page, "segments")
    page.fill("[data-testid='range'] input[name='start']", "2024-04-01")
    page.fill("[data-testid='range'] input[name='end']", "2024-04-30")
    page.click("[data-testid='range'] button[type='submit']")
    page.wait_for_selector("[data-testid='showing']")
    loaded(page, "segments")
    assert page.evaluate("location.hash") == "#/segments?start=2024-04-01&end=2024-04-30"
    rows = api.get("/v1/segments", params={"start": "2024-04-01", "end": "2024-04-30"}).json()
    for row in rows:
        shown = page.get_attribute(f'tr[data-segment="{row["segment"]}"]', "data-period-revenue")
        if row["period"] is None:
            assert shown is None
        else:
            assert float(shown or "nan") == pytest.approx(row["period"]["revenue"])
    shot(page, "segments-range")
    # back to all time
    page.click("[data-testid='all-time']")
    page.wait_for_function("!document.querySelector(\"[data-testid='showing']\")")
    assert page.evaluate("location.hash") == "#/segments"
    assert not errors, errors
