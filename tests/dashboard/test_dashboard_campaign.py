"""The campaign builder without raw ids or exact category text, in real chromium: the category
picker is the catalogue's tree (``GET /v1/categories``), items are found by typing part of
their title, and the audience promotes exactly the chosen category's items plus the item."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from browser_helpers import loaded, log_in, store_rows
from live_server import LiveServer


def test_categories_are_the_catalogues_tree(live: LiveServer, api: httpx.Client) -> None:
    rows = store_rows(live, "SELECT category FROM items WHERE category IS NOT NULL")
    expected: dict[str, int] = {}
    for row in rows:
        parts = row["category"].split(" > ")
        for depth in range(1, len(parts) + 1):
            path = " > ".join(parts[:depth])
            expected[path] = expected.get(path, 0) + 1
    tree = api.get("/v1/categories").json()
    assert {c["category"]: c["items"] for c in tree} == expected
    assert all(c["depth"] == len(c["category"].split(" > ")) for c in tree)
    # every level comes just before what it holds
    for above, below in itertools.pairwise(tree):
        if below["depth"] > above["depth"]:
            assert below["category"].startswith(above["category"] + " > ")


def test_an_audience_from_a_picked_category_and_a_found_item(
    live: LiveServer, api: httpx.Client, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, _, errors = browser_page
    log_in(page, live.url)
    tree = {c["category"]: c["items"] for c in api.get("/v1/categories").json()}
    audio = "Electronics > Audio"
    bedding = api.get("/v1/search", params={"q": "bedding", "limit": 1}).json()["items"][0]
    assert audio in tree and not str(bedding["category"]).startswith("Electronics")
    page.click("nav a[data-page='campaign']")
    loaded(page, "campaign")
    options = page.eval_on_selector_all(
        "select[name='categories'] option", "os => os.map(o => o.value)"
    )
    assert options == list(tree)
    page.select_option("select[name='categories']", [audio])
    # part of a title, in lower case: the item's suggestion puts its id in the field
    page.click("input[name='items']")
    page.keyboard.type("bedd")
    page.click(f"[data-testid='item-suggestions'] li[data-item='{bedding['item_id']}']")
    assert page.input_value("input[name='items']") == f"{bedding['item_id']}, "
    page.fill("input[name='size']", "20")
    page.click("#campaign-form button[type='submit']")
    page.wait_for_selector("[data-testid='promoted']")
    assert int(page.get_attribute("[data-testid='promoted']", "data-raw") or -1) == tree[audio] + 1
    assert page.locator("[data-testid='audience'] tr[data-user]").count() > 0
    assert not errors, errors
