"""``GET /v1/search`` on a real server over the synthetic shop: what it finds is what the shop's
own users and items say it should (worked out here in Python from the generated data, not from
the store's SQL), its limits are enforced with a 422 naming the field, and no text at all makes
it fail."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import headers

from shopguide.data.datasets.synthetic import SyntheticData

READ = headers("read")


def _search(client: httpx.Client, q: str, limit: int = 8) -> httpx.Response:
    return client.get("/v1/search", params={"q": q, "limit": limit}, headers=READ)


def test_users_whose_id_holds_the_text_shortest_ids_first(
    client: httpx.Client, shop: tuple[Path, SyntheticData]
) -> None:
    ids = shop[1].users["user_id"].astype(str).tolist()
    expected = sorted((i for i in ids if "0012" in i), key=lambda i: (len(i), i))[:5]
    found = _search(client, "0012", 5).json()
    assert [u["user_id"] for u in found["users"]] == expected
    assert {"location", "segment"} <= set(found["users"][0])


def test_an_id_prefix_comes_before_ids_that_only_hold_the_text(
    client: httpx.Client, shop: tuple[Path, SyntheticData]
) -> None:
    first = str(shop[1].users["user_id"].iloc[0])  # u000001
    found = [u["user_id"] for u in _search(client, first[:6].upper(), 50).json()["users"]]
    prefix = sorted(i for i in shop[1].users["user_id"].astype(str) if i.startswith(first[:6]))
    assert found[: len(prefix)] == prefix


def test_items_by_a_piece_of_their_category_in_any_case(
    client: httpx.Client, shop: tuple[Path, SyntheticData]
) -> None:
    items: pd.DataFrame = shop[1].items
    in_category = items[items["category"].str.lower().str.contains("bedding", regex=False)]
    expected = in_category.sort_values(["title", "item_id"])["item_id"].tolist()[:50]
    found = _search(client, "BEDDING", 50).json()
    assert [i["item_id"] for i in found["items"]] == expected
    assert found["segments"] == [] and found["users"] == []


def test_segments_by_name_and_users_by_location(
    client: httpx.Client, shop: tuple[Path, SyntheticData]
) -> None:
    assert _search(client, "risk").json()["segments"] == [{"segment": "At Risk"}]
    users = _search(client, "lond", 50).json()["users"]
    london = set(shop[1].users.loc[shop[1].users["location"] == "London", "user_id"].astype(str))
    assert users and {u["user_id"] for u in users} <= london
    assert all(u["location"] == "London" for u in users)


def test_bad_input_is_a_422_naming_the_field(client: httpx.Client) -> None:
    for params, field in [
        ({"q": "u0", "limit": 0}, "limit"),
        ({"q": "u0", "limit": 51}, "limit"),
        ({"q": "u0", "limit": "many"}, "limit"),
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 101}, "q"),
    ]:
        response = client.get("/v1/search", params=params, headers=READ)
        assert response.status_code == 422, params
        assert [d["field"] for d in response.json()["detail"]] == [field], params
        assert response.json()["detail"][0]["type"]


def test_search_needs_a_key(client: httpx.Client) -> None:
    assert client.get("/v1/search", params={"q": "u0"}).status_code == 401


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(q=st.text(min_size=1, max_size=12))
def test_any_text_is_answered_and_every_match_holds_it(client: httpx.Client, q: str) -> None:
    response = _search(client, q, 10)
    if not q.strip():
        assert response.status_code == 422
        return
    assert response.status_code == 200, response.text
    found = response.json()
    text = q.strip().lower()
    for u in found["users"]:
        assert (
            text in u["user_id"].lower()
            or str(u["location"] or "").lower().startswith(text)
            or str(u["segment"] or "").lower().startswith(text)
        )
    for i in found["items"]:
        assert any(text in str(i[k] or "").lower() for k in ("item_id", "title", "category"))
    assert all(text in s["segment"].lower() for s in found["segments"])
    assert max(len(found["users"]), len(found["items"]), len(found["segments"])) <= 10


def test_an_erased_user_is_no_longer_found(
    client: httpx.Client, shop: tuple[Path, SyntheticData]
) -> None:
    victim = str(shop[1].users["user_id"].iloc[-1])
    assert [u["user_id"] for u in _search(client, victim).json()["users"]] == [victim]
    erased = client.delete(f"/v1/users/{victim}", headers=headers("admin"))
    assert erased.status_code == 200, erased.text
    time.sleep(1.2)  # the index asks the store whether it changed at most once a second
    assert _search(client, victim).json()["users"] == []
