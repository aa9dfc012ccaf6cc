"""User 360° shows who the user is and what they like (the profile's demographics and
preference fields, as the API gives them), and the models page lists every published version
with the one served marked (real chromium, real server)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browser_helpers import loaded, log_in, shot
from live_server import LiveServer, headers, make_store

from shopguide.profiles import build_profiles
from shopguide.store import open_store


def _field(page: Any, key: str) -> tuple[str, str | None]:
    where = f"[data-field='{key}']"
    return page.inner_text(f"{where} dd"), page.get_attribute(where, "data-raw")


def test_user_360_shows_demographics_and_preferences(
    live: LiveServer, api: httpx.Client, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, _, errors = browser_page
    log_in(page, live.url)
    # a buyer with brands and categories in their profile
    buyers = api.get("/v1/churn", params={"limit": 50}).json()["users"]
    profile = next(
        p
        for p in (api.get(f"/v1/users/{u['user_id']}/profile").json() for u in buyers)
        if p["preferences"]["top_brands"] and p["basic"]["gender"] and p["basic"]["age_band"]
    )
    basic, pref, behaviour = profile["basic"], profile["preferences"], profile["behaviour"]
    page.goto(f"{live.url}/#/user/{profile['user_id']}")
    loaded(page, "user")
    page.wait_for_selector("[data-testid='demographics']")
    gender = {"M": "male", "F": "female", "O": "other"}.get(basic["gender"], basic["gender"])
    assert _field(page, "gender")[0] == gender
    assert _field(page, "age_band")[0] == basic["age_band"]
    assert _field(page, "signup_at")[0] == (basic["signup_at"] or "–")[:10]
    assert _field(page, "tenure_days")[0] == f"{basic['tenure_days']:,} days"
    names = [e["name"] for e in behaviour["top_categories"]]
    assert _field(page, "top_categories")[1] == "|".join(names)
    for name in names:
        assert name in _field(page, "top_categories")[0]
    assert _field(page, "top_brands")[1] == "|".join(e["name"] for e in pref["top_brands"])
    assert float(_field(page, "price_sensitivity")[1] or "nan") == pref["price_sensitivity"]
    assert _field(page, "price_band")[0] == (pref["price_band"] or "–")
    assert not errors, errors


@pytest.fixture(scope="module")
def trainer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, httpx.Client]]:
    """A server of this module's own for the tests that train models: its job worker thread
    ends with it (the session's server would keep one alive for every later test)."""
    db = tmp_path_factory.mktemp("models") / "shop.duckdb"
    make_store(db)
    with (
        LiveServer(db) as server,
        httpx.Client(base_url=server.url, headers=headers("write"), timeout=60) as client,
    ):
        yield server, client


def test_the_models_page_lists_the_published_versions(
    trainer: tuple[LiveServer, httpx.Client], browser_page: tuple[Any, list[str], list[str]]
) -> None:
    live, api = trainer
    page, _, errors = browser_page
    # publish a second model (the server keeps serving the item-KNN it was started with)
    job = api.post("/v1/models/popular/train", headers=headers("admin")).json()
    deadline = time.monotonic() + 120
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = api.get(f"/v1/jobs/{job['job_id']}").json()
    assert job["status"] == "done", job
    listed = api.get("/v1/models").json()
    assert len(listed["versions"]) >= 2
    log_in(page, live.url)
    page.click("nav a[data-page='models']")
    loaded(page, "models")
    rows = page.locator("tr[data-model]")
    shown = [
        (row.get_attribute("data-model"), row.get_attribute("data-version"),
         row.get_attribute("data-current") is not None)
        for row in rows.all()
    ]  # fmt: skip
    assert shown == [(v["model"], v["version"], v["current"]) for v in listed["versions"]]
    serving = listed["serving"]
    marked = page.locator("tr[data-model]:has(.pill.serving)")
    assert marked.count() == 1
    assert (marked.get_attribute("data-model"), marked.get_attribute("data-version")) == (
        serving["model"],
        serving["version"],
    )
    assert f"answers with {serving['model']} {serving['version']}" in page.inner_text(
        "[data-testid='serving']"
    )
    shot(page, "models")
    assert not errors, errors


def test_an_admin_retrains_a_model_from_the_models_page(
    trainer: tuple[LiveServer, httpx.Client], browser: Any
) -> None:
    live, api = trainer
    before = api.get("/v1/models").json()["versions"]
    names = [v["model"] for v in before]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # the write key may look, not retrain
        log_in(page, live.url)
        page.click("nav a[data-page='models']")
        loaded(page, "models")
        page.click(f"button[data-train='{names[0]}']")
        page.wait_for_selector("[data-testid='train-error']:has-text('admin key')")
        # an admin retrains: the job's progress, then one more version of that model
        page.click("#logout")
        page.fill("#key", headers("admin")["X-API-Key"])
        page.click("#login-form button")
        page.goto(f"{live.url}/#/models")
        loaded(page, "models")
        page.click(f"button[data-train='{names[0]}']")
        page.wait_for_function(
            "n => document.querySelectorAll(`tr[data-model='${n[0]}']`).length > n[1]",
            arg=[names[0], names.count(names[0])],
            timeout=120_000,
        )
        after = api.get("/v1/models").json()["versions"]
        rows = page.locator("tr[data-model]")
        assert [
            (r.get_attribute("data-model"), r.get_attribute("data-version")) for r in rows.all()
        ] == [(v["model"], v["version"]) for v in after]
        assert len(after) == len(before) + 1
        assert not errors, errors
    finally:
        context.close()


def test_user_360_shows_the_segment_in_every_profile_version(
    tmp_path_factory: pytest.TempPathFactory, browser: Any
) -> None:
    db = tmp_path_factory.mktemp("lifecycle") / "shop.duckdb"
    make_store(db)
    with open_store(db) as store:
        build_profiles(store)  # the latest version
        build_profiles(store, "2024-03-31")  # and one from the end of March
        moved = store.query_df(
            """SELECT user_id FROM profiles GROUP BY user_id
               HAVING count(*) = 2 AND count(DISTINCT segment) = 2 ORDER BY user_id LIMIT 1"""
        )["user_id"].iloc[0]
        versions = store.query_df(
            "SELECT as_of, segment FROM profiles WHERE user_id = ? ORDER BY as_of", [moved]
        )
    with LiveServer(db, model="popular") as server:
        with httpx.Client(base_url=server.url, headers=headers("read")) as client:
            listed = client.get(f"/v1/users/{moved}/lifecycle").json()
            assert client.get("/v1/users/nobody/lifecycle").status_code == 404
        assert [(r["as_of"][:10], r["segment"]) for r in listed] == [
            (str(r.as_of)[:10], r.segment) for r in versions.itertuples()
        ]
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            log_in(page, server.url)
            page.goto(f"{server.url}/#/user/{moved}")
            loaded(page, "user")
            rows = page.locator("tr[data-as-of]").all()
            shown = [(r.get_attribute("data-as-of"), r.get_attribute("data-segment")) for r in rows]
            assert shown == [(r["as_of"][:10], r["segment"]) for r in listed]
        finally:
            context.close()
