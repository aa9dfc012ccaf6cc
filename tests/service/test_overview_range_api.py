"""``GET /v1/overview?start=&end=`` on a real server: the range's revenue, orders, buyers, users
and items sold, and those of the period of as many days before it, are what the store's events
give when added up here in pandas; a bad range is a 422 naming it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import LiveServer, headers

READ = headers("read")


def _events(server: LiveServer) -> pd.DataFrame:
    return server.state.db(lambda store: store.query_df("SELECT * FROM events"))


def _figures(events: pd.DataFrame, first: date, last: date) -> dict[str, Any]:
    """The overview's figures for days ``first`` to ``last``, from the raw events."""
    day = events["timestamp"].dt.floor("D")
    inside = events[(day >= pd.Timestamp(first)) & (day <= pd.Timestamp(last))]
    bought = inside[inside["event_type"] == "purchase"]
    refunded = inside[inside["event_type"] == "refund"]
    spend = bought["quantity"] * bought["price"].fillna(0) - bought["discount"].fillna(0)
    back = refunded["quantity"].abs() * refunded["price"].fillna(0) - refunded["discount"].fillna(0)
    orders = bought["order_id"].fillna("day:" + bought["timestamp"].dt.strftime("%Y-%m-%d"))
    return {
        "revenue": float(spend.sum() - back.sum()),
        "orders": len(set(zip(bought["user_id"], orders, strict=True))),
        "buyers": bought["user_id"].nunique(),
        "users": inside["user_id"].nunique(),
        "items_sold": bought["item_id"].nunique(),
    }


@pytest.mark.parametrize(
    ("first", "last"), [("2024-04-01", "2024-04-30"), ("2024-05-10", "2024-05-10")]
)
def test_a_range_and_the_period_before_it(
    server: LiveServer, client: httpx.Client, first: str, last: str
) -> None:
    events = _events(server)
    answer = client.get("/v1/overview", params={"start": first, "end": last}, headers=READ)
    assert answer.status_code == 200, answer.text
    period = answer.json()["period"]
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    days = (end - start).days + 1
    assert (period["start"], period["end"], period["days"]) == (first, last, days)
    expected = _figures(events, start, end)
    before = _figures(events, start - timedelta(days=days), start - timedelta(days=1))
    for key, value in expected.items():
        assert period[key] == pytest.approx(value), key
        assert period["previous"][key] == pytest.approx(before[key]), key
        if before[key]:  # relative to the earlier figure's size (a day's revenue can be < 0)
            change = (value - before[key]) / abs(before[key])
            assert period["change"][key] == pytest.approx(change), key
    assert period["previous"]["end"] == (start - timedelta(days=1)).isoformat()
    # the trends keep the range's months
    months = {t["month"][:7] for t in answer.json()["trends"]}
    assert months == {first[:7], last[:7]}


def test_one_end_of_the_range_defaults_to_the_data(
    server: LiveServer, client: httpx.Client
) -> None:
    events = _events(server)
    period = client.get("/v1/overview", params={"end": "2024-01-31"}, headers=READ).json()["period"]
    assert period["start"] == events["timestamp"].min().date().isoformat()
    assert period["revenue"] == pytest.approx(
        _figures(events, events["timestamp"].min().date(), date(2024, 1, 31))["revenue"]
    )
    assert client.get("/v1/overview", headers=READ).json()["period"] is None


def test_a_bad_range_is_a_422(client: httpx.Client) -> None:
    backwards = client.get(
        "/v1/overview", params={"start": "2024-05-01", "end": "2024-04-01"}, headers=READ
    )
    assert backwards.status_code == 422
    assert backwards.json()["detail"].startswith("end:") and backwards.json()["hint"]
    for params, name in [({"start": "1012-01-01"}, "start"), ({"end": "9999-12-31"}, "end")]:
        answer = client.get("/v1/overview", params=params, headers=READ)
        assert answer.status_code == 422 and answer.json()["detail"].startswith(f"{name}:")
    for params, field in [({"start": "2024-13-01"}, "start"), ({"end": "yesterday"}, "end")]:
        answer = client.get("/v1/overview", params=params, headers=READ)
        assert answer.status_code == 422
        assert [d["field"] for d in answer.json()["detail"]] == [field]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(start=st.dates(), end=st.dates())
def test_any_range_is_answered_or_refused_by_name(
    client: httpx.Client, start: date, end: date
) -> None:
    answer = client.get(
        "/v1/overview", params={"start": start.isoformat(), "end": end.isoformat()}, headers=READ
    )
    inside = all(date(1900, 1, 1) <= d <= date(2200, 12, 31) for d in (start, end))
    if inside and start <= end:
        assert answer.status_code == 200, answer.text
        assert answer.json()["period"]["days"] == (end - start).days + 1
    else:
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"].split(":")[0] in ("start", "end")


def test_each_segments_members_in_a_range(server: LiveServer, client: httpx.Client) -> None:
    events = _events(server)
    members = server.state.db(
        lambda store: store.query_df(
            "SELECT user_id, segment FROM profiles "
            "WHERE as_of = (SELECT max(as_of) FROM profiles) AND segment IS NOT NULL"
        )
    )
    answer = client.get(
        "/v1/segments", params={"start": "2024-04-01", "end": "2024-04-30"}, headers=READ
    )
    assert answer.status_code == 200, answer.text
    checked = 0
    for row in answer.json():
        ids = set(members.loc[members["segment"] == row["segment"], "user_id"])
        theirs = events[events["user_id"].isin(ids)]
        now = _figures(theirs, date(2024, 4, 1), date(2024, 4, 30))
        before = _figures(theirs, date(2024, 3, 2), date(2024, 3, 31))
        if row["period"] is None:
            assert now["revenue"] == before["revenue"] == 0 and not now["orders"]
            continue
        for key in ("revenue", "orders", "buyers"):
            assert row["period"][key] == pytest.approx(now[key]), (row["segment"], key)
            assert row["period"]["previous"][key] == pytest.approx(before[key])
        checked += 1
    assert checked >= 3
    assert all("period" not in r for r in client.get("/v1/segments", headers=READ).json())
