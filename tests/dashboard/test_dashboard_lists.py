"""The lists a manager acts on, in real chromium against a real server: a segment's drill-down
lists exactly the members the store's profile table gives that segment (page after page) and
its CSV export has the same rows; the churn list sorted by value at risk shows the API's order,
which is the order of CLV × churn probability in ``user_predictions``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_helpers import loaded, log_in, shot, store_rows
from live_server import LiveServer

_FIRST_ROW_IS_NOT = (
    "u => document.querySelector(\"[data-testid='members'] tr[data-user]\")"
    ".getAttribute('data-user') !== u"
)


def _shown(page: Any, where: str) -> list[str]:
    rows = page.locator(f"{where} tr[data-user]")
    return [rows.nth(i).get_attribute("data-user") or "" for i in range(rows.count())]


def _download(page: Any) -> list[dict[str, str]]:
    with page.expect_download() as download:
        page.click("[data-testid='export']")
    return list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))


LATEST = "SELECT * FROM profiles WHERE as_of = (SELECT max(as_of) FROM profiles)"


@pytest.mark.parametrize("which", ["At Risk", "the largest segment (more than one page)"])
def test_a_segments_drill_down_lists_its_members_and_exports_them(
    live: LiveServer,
    api: httpx.Client,
    browser_page: tuple[Any, list[str], list[str]],
    which: str,
) -> None:
    page, _, errors = browser_page
    log_in(page, live.url)
    api.get("/v1/churn", params={"limit": 1})  # churn scored before the page asks
    segment = which
    if which != "At Risk":
        segment = store_rows(
            live, f"SELECT segment FROM ({LATEST}) WHERE segment IS NOT NULL "
            "GROUP BY segment ORDER BY count(*) DESC, segment LIMIT 1",
        )[0]["segment"]  # fmt: skip
    rows = store_rows(live, f"SELECT user_id FROM ({LATEST}) WHERE segment = $s", {"s": segment})
    members = {r["user_id"] for r in rows}
    assert members, f"the test shop has {segment} buyers"
    assert which == "At Risk" or len(members) > 50, "a segment of more than one page"
    page.click("nav a[data-page='segments']")
    loaded(page, "segments")
    page.click(f'tr[data-segment="{segment}"] a')
    page.wait_for_selector("[data-testid='members'] tr[data-user]")
    assert page.inner_text("#page h1") == f"Segment: {segment}"
    total = int(page.get_attribute("[data-testid='members-total']", "data-total") or -1)
    assert total == len(members)
    first_page = _shown(page, "[data-testid='members']")
    api_page = api.get(f"/v1/segments/{segment}/members", params={"limit": 50}).json()["users"]
    assert first_page == [u["user_id"] for u in api_page]
    if which == "At Risk":
        shot(page, "segment-members")
    # every page of the list, then the CSV: the same rows in the same order
    listed = list(first_page)
    shown = first_page
    while page.is_enabled("[data-testid='next']"):
        page.click("[data-testid='next']")
        page.wait_for_function(_FIRST_ROW_IS_NOT, arg=shown[0])
        shown = _shown(page, "[data-testid='members']")
        listed += shown
    assert len(listed) == len(members) and set(listed) == members
    exported = _download(page)
    assert [r["user_id"] for r in exported] == listed
    # sorted by spend: the biggest spender first
    page.select_option("select[name='sort']", "spend")
    page.wait_for_function(
        "u => document.querySelector(\"[data-testid='members'] tr[data-user]\")"
        ".getAttribute('data-user') === u",
        arg=api.get(f"/v1/segments/{segment}/members", params={"sort": "spend", "limit": 1}).json()[
            "users"
        ][0]["user_id"],
    )
    by_spend = _download(page)
    spends = [float(r["total_spend"]) for r in by_spend]
    assert spends == sorted(spends, reverse=True) and {r["user_id"] for r in by_spend} == members
    # and a campaign for these: the builder opens with the segment chosen
    page.click("[data-testid='campaign']")
    loaded(page, "campaign")
    assert page.eval_on_selector(
        "select[name='segments']", "s => [...s.selectedOptions].map(o => o.value)"
    ) == [segment]
    assert not errors, errors


def test_the_churn_list_sorted_by_value_at_risk_is_the_apis_order(
    live: LiveServer, api: httpx.Client, browser_page: tuple[Any, list[str], list[str]]
) -> None:
    page, _, errors = browser_page
    log_in(page, live.url)
    answer = api.get("/v1/churn", params={"sort": "value_at_risk", "limit": 50}).json()
    stored = store_rows(
        live,
        "SELECT user_id FROM user_predictions "
        "WHERE as_of = (SELECT max(as_of) FROM user_predictions) "
        "AND churn_probability IS NOT NULL "
        "ORDER BY clv * churn_probability DESC NULLS LAST, user_id LIMIT 50",
    )
    assert [u["user_id"] for u in answer["users"]] == [r["user_id"] for r in stored]
    page.click("nav a[data-page='churn']")
    loaded(page, "churn")
    page.select_option("select[name='sort']", "value_at_risk")
    first = answer["users"][0]["user_id"]
    page.wait_for_function(
        "u => document.querySelector(\"[data-testid='churn-list'] tr[data-user]\")"
        ".getAttribute('data-user') === u",
        arg=first,
    )
    assert _shown(page, "[data-testid='churn-list']") == [u["user_id"] for u in answer["users"]]
    values = [
        float(page.locator("[data-testid='churn-list'] tr[data-user]").nth(i).get_attribute(
            "data-var") or "nan")
        for i in range(5)
    ]  # fmt: skip
    assert values == sorted(values, reverse=True)
    shot(page, "churn-by-value-at-risk")
    # filtered to one segment, then exported: the API's rows for that filter
    page.select_option("select[name='segment']", "Hibernating")
    hibernating = api.get(
        "/v1/churn", params={"sort": "value_at_risk", "segment": "Hibernating", "limit": 50}
    ).json()["users"]
    page.wait_for_selector(
        f"[data-testid='churn-list'] tr[data-user='{hibernating[0]['user_id']}']:first-child"
    )
    assert _shown(page, "[data-testid='churn-list']") == [u["user_id"] for u in hibernating]
    every = api.get(
        "/v1/churn", params={"sort": "value_at_risk", "segment": "Hibernating", "limit": 10_000}
    ).json()["users"]
    exported = _download(page)
    assert [r["user_id"] for r in exported] == [u["user_id"] for u in every]
    assert {r["segment"] for r in exported} == {"Hibernating"}
    # and only those at 50 % risk or more
    risky = api.get(
        "/v1/churn",
        params={"sort": "value_at_risk", "segment": "Hibernating", "min_probability": 0.5},
    ).json()
    page.select_option("select[name='min']", "50")
    page.wait_for_function(
        "n => document.querySelectorAll(\"[data-testid='churn-list'] tr[data-user]\").length === n",
        arg=len(risky["users"]),
    )
    assert _shown(page, "[data-testid='churn-list']") == [u["user_id"] for u in risky["users"]]
    assert all(u["churn_probability"] >= 0.5 for u in risky["users"])
    assert not errors, errors
