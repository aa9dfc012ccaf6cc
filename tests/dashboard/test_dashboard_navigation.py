"""Moving around the dashboard in real chromium against a real server: an unknown user or item
id says so plainly, and a quick run through the navigation never leaves one page showing
another page's answer (a slow answer for a page the user has left is dropped)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_helpers import loaded, log_in, shot
from live_server import LiveServer

#: Each navigation entry's page heading.
HEADINGS = {"overview": "Overview", "segments": "RFM segments", "user": "User 360°",
            "item": "Items", "campaign": "Campaign builder", "churn": "Churn risk",
            "models": "Models"}  # fmt: skip

# Holds back the answers of the overview and segments routes for 1.5 s, as a slow network or a
# busy server would: the page's own fetch, wrapped before any of the dashboard's scripts runs.
SLOW_ANSWERS = """
const realFetch = window.fetch.bind(window);
window.fetch = (url, options) => realFetch(url, options).then(answer =>
  /\\/v1\\/(overview|segments)$/.test(String(url))
    ? new Promise(done => setTimeout(() => done(answer), 1500)) : answer);
"""


def _script_errors(errors: list[str]) -> list[str]:
    """The console errors but the browser's own note of each 404 answer (expected here)."""
    return [e for e in errors if "status of 404" not in e]


@pytest.fixture
def slow_page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(SLOW_ANSWERS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page, errors
    context.close()


def test_an_unknown_user_id_says_no_such_user(
    live: LiveServer, api: httpx.Client, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    answer = api.get("/v1/users/no-such-user/profile")
    assert answer.status_code == 404 and answer.json()["type"] == "UnknownIdError"
    page, _, errors = browser_page
    log_in(page, live.url)
    errors.clear()
    page.goto(live.url + "/#/user/no-such-user")
    loaded(page, "user")
    assert page.inner_text("#page h1") == "No such user"
    assert '"no-such-user"' in page.inner_text("[data-testid='not-found']")
    # not the popular items and "No purchases" of a user without history
    assert page.locator("[data-testid='recommendations']").count() == 0
    assert "No purchases" not in page.inner_text("#page")
    shot(page, "user-not-found")
    # the lookup form on that page still finds a real user
    real = api.get("/v1/search", params={"q": "u000", "limit": 1}).json()["users"][0]["user_id"]
    page.fill("[data-testid='lookup'] input", real)
    page.click("[data-testid='lookup'] button")
    page.wait_for_selector("[data-testid='profile']")
    assert page.inner_text("#page h1") == f"User {real}"
    assert _script_errors(errors) == []


def test_an_unknown_item_id_says_no_such_item(
    live: LiveServer, api: httpx.Client, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    answer = api.get("/v1/items/no-such-item")
    assert answer.status_code == 404 and answer.json()["type"] == "UnknownIdError"
    page, _, errors = browser_page
    log_in(page, live.url)
    errors.clear()
    page.goto(live.url + "/#/item/no-such-item")
    loaded(page, "item")
    assert page.inner_text("#page h1") == "No such item"
    assert '"no-such-item"' in page.inner_text("[data-testid='not-found']")
    assert "Something went wrong" not in page.inner_text("#page")
    assert _script_errors(errors) == []


@pytest.mark.parametrize("last", ["churn", "user", "item"])
def test_a_quick_run_through_the_navigation_shows_the_last_page_only(
    live: LiveServer, slow_page: tuple[Any, list[str]], last: str
) -> None:
    page, errors = slow_page
    log_in(page, live.url)
    order = [name for name in HEADINGS if name != last] + [last]
    for name in order:  # overview and segments answer 1.5 s late, after the user has moved on
        page.click(f"nav a[data-page='{name}']")
    loaded(page, last)
    page.wait_for_timeout(2_500)  # every held-back answer has arrived by now
    assert page.get_attribute("body", "data-page") == last
    assert page.inner_text("#page h1") == HEADINGS[last]
    assert page.locator("#page h1").count() == 1
    assert page.get_attribute("nav a.active", "data-page") == last
    assert not errors, errors
