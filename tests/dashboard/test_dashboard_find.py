"""Finding things from the header's search box, in real chromium against a real server: typing
part of an id suggests that user, a lower-case piece of a category suggests its items, and
choosing a suggestion opens the user's or item's page. The expected matches are read from the
store itself, not written into the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from browser_helpers import loaded, log_in, shot, store_rows
from live_server import LiveServer

from shopguide.data.datasets.synthetic import generate
from shopguide.data.ingest import ingest_frame
from shopguide.store import open_store


def _suggested(page: Any, kind: str) -> list[str]:
    page.wait_for_selector("#suggestions:not([hidden])")
    options = page.locator(f"#suggestions li[data-kind='{kind}']")
    return [options.nth(i).get_attribute("data-id") or "" for i in range(options.count())]


def test_typing_part_of_an_id_suggests_the_user_and_opens_user_360(
    live: LiveServer, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, _, errors = browser_page
    log_in(page, live.url)
    rows = store_rows(
        live,
        "SELECT user_id FROM profiles WHERE as_of = (SELECT max(as_of) FROM profiles) "
        "AND contains(user_id, '0012') ORDER BY length(user_id), user_id",
    )
    ids = [r["user_id"] for r in rows]
    assert ids, "the test shop has users whose id holds 0012"
    page.click("#search")
    page.keyboard.type("0012")
    page.wait_for_selector(f"#suggestions li[data-kind='user'][data-id='{ids[0]}']")
    assert _suggested(page, "user") == ids[:6]
    shot(page, "search")
    page.click(f"#suggestions li[data-id='{ids[0]}'] a")
    loaded(page, "user")
    assert page.inner_text("#page h1") == f"User {ids[0]}"
    assert page.input_value("#search") == ""
    assert not errors, errors


def test_a_lower_case_piece_of_a_category_suggests_its_items_and_opens_one(
    live: LiveServer, api: httpx.Client, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, _, errors = browser_page
    log_in(page, live.url)
    items = api.get("/v1/search", params={"q": "bedding", "limit": 50}).json()["items"]
    assert items and all("bedding" in str(i["category"]).lower() for i in items)
    page.fill("#search", "")
    page.click("#search")
    page.keyboard.type("bedding")
    page.wait_for_function(
        "document.querySelectorAll(\"#suggestions li[data-kind='item']\").length > 0"
    )
    shown = _suggested(page, "item")
    assert shown == [i["item_id"] for i in items[: len(shown)]] and len(shown) == min(6, len(items))
    # the keyboard works too: down to the first item, Enter opens it
    users = len(_suggested(page, "user"))
    for _ in range(users + 1):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    loaded(page, "item")
    assert page.inner_text("#page h1") == items[0]["title"]
    assert not errors, errors


def test_the_search_box_is_on_every_page(
    live: LiveServer, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, _, _ = browser_page
    log_in(page, live.url)
    for link in page.locator("nav a").all():
        name = link.get_attribute("data-page")
        link.click()
        loaded(page, str(name))
        assert page.is_visible("#search"), name


def test_typing_1234_suggests_customer_12347_on_a_shop_with_online_retail_ids(
    tmp_path: Path, browser: Any
) -> None:
    """The issue's own case: Online Retail's customer ids are numbers from 12346 up, and
    typing "1234" must suggest 12347 (with the other ids that hold "1234", shortest first)."""
    data = generate(n_users=80, n_items=60, n_events=4_000, seed=4)
    numbers = {u: str(12346 + i) for i, u in enumerate(sorted(data.users["user_id"]))}
    for frame in (data.users, data.events):
        frame["user_id"] = frame["user_id"].map(numbers)
    db = tmp_path / "retail.duckdb"
    with open_store(db) as store:
        for table in ("items", "users", "events"):
            ingest_frame(store, table, getattr(data, table), source=f"retail-{table}")
    with LiveServer(db) as server:
        rows = store_rows(
            server,
            "SELECT user_id FROM profiles WHERE as_of = (SELECT max(as_of) FROM profiles) "
            "AND contains(user_id, '1234') ORDER BY length(user_id), user_id",
        )
        expected = [r["user_id"] for r in rows]
        assert "12347" in expected[:6], expected
        page = browser.new_page()
        try:
            log_in(page, server.url)
            page.click("#search")
            page.keyboard.type("1234")
            page.wait_for_selector("#suggestions li[data-kind='user'][data-id='12347']")
            assert _suggested(page, "user") == expected[:6]
        finally:
            page.close()
