"""The dashboard in a real headless browser (Debian chromium driven by Playwright) against a
real server: every page is clicked through, the figures shown are checked against the API, no
request leaves the server's origin, and a screenshot of each page is saved under
``docs/screenshots/``.

Needs ``apt-get install -y chromium`` (at /usr/bin/chromium) and ``pip install playwright``
(never ``playwright install``: the system chromium is used).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from browser_helpers import WRITE
from browser_helpers import loaded as _loaded
from browser_helpers import shot as _shot
from live_server import LiveServer


def test_click_through_every_page(
    live: LiveServer, api: httpx.Client, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, requests, errors = browser_page

    # log in with a key; the overview's KPIs are the API's
    page.goto(live.url + "/")
    page.fill("#key", WRITE["X-API-Key"])
    page.click("#login-form button")
    _loaded(page, "overview")
    kpis = api.get("/v1/overview").json()["kpis"]
    for key in ("orders", "buyers", "users", "items_sold"):
        shown = page.get_attribute(f"[data-kpi='{key}']", "data-raw")
        assert shown is not None and int(float(shown)) == kpis[key], key
    revenue = float(page.get_attribute("[data-kpi='revenue']", "data-raw") or "nan")
    assert revenue == pytest.approx(kpis["revenue"])
    assert page.locator("[data-testid='trend-chart'] rect").count() > 10
    assert "model item-knn" in page.inner_text("#model")
    _shot(page, "overview")

    # segments: one row per segment with the API's sizes, and a bar per segment
    page.click("nav a[data-page='segments']")
    _loaded(page, "segments")
    segments = api.get("/v1/segments").json()
    rows = page.locator("tr[data-segment]")
    assert rows.count() == len(segments)
    for i, seg in enumerate(segments):
        assert rows.nth(i).get_attribute("data-segment") == seg["segment"]
        assert int(rows.nth(i).get_attribute("data-users") or -1) == seg["users"]
    assert page.locator("[data-testid='segment-users-chart'] rect").count() == len(segments)
    _shot(page, "segments")

    # churn list: highest risk first, as the API says
    page.click("nav a[data-page='churn']")
    _loaded(page, "churn")
    listed = api.get("/v1/churn?limit=50").json()
    churn = listed["users"]
    shown = page.locator("tr[data-user]")
    assert shown.count() == len(churn)
    assert [shown.nth(i).get_attribute("data-user") for i in range(5)] == [
        u["user_id"] for u in churn[:5]
    ]
    probabilities = [float(shown.nth(i).get_attribute("data-p") or "nan") for i in range(5)]
    assert probabilities == [u["churn_probability"] for u in churn[:5]]
    assert page.get_attribute("[data-testid='churn-as-of']", "data-as-of") == listed["as_of"]
    _shot(page, "churn")

    # user 360: open the riskiest user from the list
    user = churn[0]["user_id"]
    page.click(f"tr[data-user='{user}'] a")
    _loaded(page, "user")
    page.wait_for_selector("[data-testid='recommendations']")
    profile = api.get(f"/v1/users/{user}/profile").json()
    orders = page.inner_text("[data-field='orders'] .value").replace(",", "")
    assert int(orders) == profile["behaviour"]["orders"]
    assert page.inner_text("[data-field='segment'] .value") == profile["lifecycle"]["segment"]
    recs = api.get(f"/v1/users/{user}/recommendations?n=10&explain=true").json()
    items = page.locator("[data-testid='recommendations'] li")
    assert [items.nth(i).get_attribute("data-item") for i in range(items.count())] == [
        r["item_id"] for r in recs["items"]
    ]
    assert recs["items"][0]["reason"] in items.nth(0).inner_text()
    p_shown = float(page.get_attribute("[data-testid='churn']", "data-p") or "nan")
    assert p_shown == pytest.approx(churn[0]["churn_probability"])
    assert page.locator("[data-testid='clv']").count() == 1
    assert page.locator("tr[data-event]").count() == len(
        api.get(f"/v1/users/{user}/history?limit=20").json()
    )
    _shot(page, "user")

    # item page: from the first recommendation; similar and bought-together items
    item = recs["items"][0]["item_id"]
    page.click(f"[data-testid='recommendations'] li[data-item='{item}'] a")
    _loaded(page, "item")
    similar = api.get(f"/v1/items/{item}/similar?n=10").json()["items"]
    together = api.get(f"/v1/items/{item}/together?n=10").json()["items"]
    shown_similar = page.locator("[data-testid='similar'] tr[data-item]")
    assert [
        shown_similar.nth(i).get_attribute("data-item") for i in range(shown_similar.count())
    ] == [s["item_id"] for s in similar]
    assert page.locator("[data-testid='together'] tr[data-item]").count() == len(together)
    _shot(page, "item")

    # campaign builder: promote that item to 20 users, see the audience and lift, export it
    page.click("nav a[data-page='campaign']")
    _loaded(page, "campaign")
    page.fill("input[name='items']", item)
    page.fill("input[name='size']", "20")
    page.click("#campaign-form button[type='submit']")
    page.wait_for_selector("[data-testid='lift']")
    size = int(page.get_attribute("[data-testid='size']", "data-raw") or -1)
    assert 0 < size <= 20
    assert page.locator("[data-testid='audience'] tr[data-user]").count() == size
    assert float(page.get_attribute("[data-testid='lift']", "data-raw") or 0) >= 1.0
    # the summed rule-based score is not called a number of responses
    assert "responses" not in page.inner_text("[data-testid='audience'] .cards").lower()
    assert "propensity" in page.inner_text("[data-testid='propensity']").lower()
    with page.expect_download() as download:
        page.click("[data-testid='export']")
    csv = Path(download.value.path()).read_text().strip().splitlines()
    assert csv[0] == "user_id,score,rank,reasons" and len(csv) == size + 1
    first = page.locator("[data-testid='audience'] tr[data-user]").first.get_attribute("data-user")
    assert csv[1].split(",")[0] == first
    _shot(page, "campaign")

    # works offline: nothing but the server itself was asked for anything
    origins = {urlparse(u).netloc for u in requests if not u.startswith(("blob:", "data:"))}
    assert origins == {urlparse(live.url).netloc}
    assert not errors, errors


def test_a_wrong_key_shows_the_login_again(
    live: LiveServer, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, _, errors = browser_page
    # log in first: under xdist this test may run without the click-through before it
    page.goto(live.url + "/")
    page.wait_for_selector("#key:visible, body[data-page='overview']")
    if page.is_visible("#key"):  # a key the page remembers logs it in by itself
        page.fill("#key", WRITE["X-API-Key"])
        page.click("#login-form button")
    _loaded(page, "overview")
    page.click("#logout")
    page.fill("#key", "wrong-key")
    page.click("#login-form button")
    page.wait_for_selector("#login-error:has-text('401')")
    assert page.is_visible("#login")
    errors.clear()  # the refused request is logged as a console error by the browser
