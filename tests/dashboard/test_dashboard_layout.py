"""How the dashboard looks, in real chromium: chart axes tick at round numbers (checked on the
tick function itself and on the overview's chart), and on a 375 px phone every navigation
entry, the search box and the page fit the screen's width."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from browser_helpers import WRITE, loaded, log_in, shot
from live_server import LiveServer

PHONE = {"width": 375, "height": 812}


def _round(value: float) -> bool:
    """Whether ``value`` is a multiple of 1, 2, 2.5 or 5 times a power of ten, or 0."""
    if value == 0:
        return True
    for power in range(-3, 13):
        for base in (1, 2, 2.5, 5):
            step = base * 10**power
            if abs(value / step - round(value / step)) < 1e-9 and value / step < 10:
                return True
    return False


def test_ticks_are_round_numbers(
    live: LiveServer, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, _, _ = browser_page
    log_in(page, live.url)
    # the tick function, on the values of the issue and a few others
    cases = {
        871_400: ([0, 250_000, 500_000, 750_000, 1_000_000], ["0", "250k", "500k", "750k", "1M"]),
        12_600: ([0, 5_000, 10_000, 15_000], ["0", "5k", "10k", "15k"]),
        0.87: ([0, 0.25, 0.5, 0.75, 1], ["0", "0.25", "0.5", "0.75", "1"]),
        4_000: ([0, 1_000, 2_000, 3_000, 4_000], ["0", "1k", "2k", "3k", "4k"]),
    }
    for top, (ticks, labels) in cases.items():
        got = page.evaluate("m => niceTicks(m)", top)
        assert got == ticks, top
        assert page.evaluate("t => t.map(shortNumber)", got) == labels, top
    # the overview chart: every tick round, evenly spaced, the top one above the tallest column
    page.click("nav a[data-page='overview']")
    loaded(page, "overview")
    ticks = [
        float(t)
        for t in page.eval_on_selector_all(
            "[data-testid='trend-chart'] text.tick", "ts => ts.map(t => t.dataset.tick)"
        )
    ]
    assert len(ticks) >= 3 and ticks[0] == 0
    steps = {round(b - a, 6) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1 and all(_round(t) for t in ticks), ticks


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def test_the_navigation_fits_a_phone(live: LiveServer, phone: Any) -> None:
    phone.goto(live.url + "/")
    phone.fill("#key", WRITE["X-API-Key"])
    phone.click("#login-form button")
    loaded(phone, "overview")
    for name in ("overview", "segments", "churn"):
        phone.click(f"nav a[data-page='{name}']")
        loaded(phone, name)
        for element in phone.locator("nav a, #search, #logout, .brand").all():
            box = element.bounding_box()
            assert box is not None and box["width"] > 0
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (
                name,
                element.inner_text() or element.get_attribute("id"),
                box,
            )
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (name, width)
        if name == "overview":
            shot(phone, "phone-overview")
    # every entry can be tapped and opens its page
    phone.tap("nav a[data-page='user']")
    loaded(phone, "user")
    assert phone.inner_text("#page h1") == "User 360°"
