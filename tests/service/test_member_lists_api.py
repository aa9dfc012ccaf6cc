"""A segment's members and the churn list over HTTP on a real server: the rows are exactly
those the store's profile and prediction tables hold, in the order worked out here in Python
from those tables, pages join up into the whole list, the CSV export has the same rows, and
bad parameters get a 422 naming them."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import httpx
import pytest
from live_server import LiveServer, headers

READ = headers("read")


def _rows(server: LiveServer, sql: str) -> list[dict[str, Any]]:
    frame = server.state.db(lambda store: store.query_df(sql))
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _value(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _expected_members(server: LiveServer, segment: str) -> list[dict[str, Any]]:
    """The segment's members from the latest profiles, with the latest predictions."""
    return _rows(
        server,
        f"""SELECT p.user_id, p.total_spend, p.recency_days, u.churn_probability, u.clv
        FROM profiles p LEFT JOIN (SELECT * FROM user_predictions
                                   WHERE as_of = (SELECT max(as_of) FROM user_predictions)) u
          USING (user_id)
        WHERE p.as_of = (SELECT max(as_of) FROM profiles) AND p.segment = '{segment}'""",
    )


def _ordered(rows: list[dict[str, Any]], key: Any, descending: bool) -> list[str]:
    """User ids by ``key(row)``, nulls last, ties by user id (as the API promises)."""
    known = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    known.sort(key=lambda r: r["user_id"])
    known.sort(key=key, reverse=descending)  # stable: ties stay by id
    return [r["user_id"] for r in known] + sorted(r["user_id"] for r in missing)


def _all_pages(client: httpx.Client, path: str, size: int, **params: Any) -> list[str]:
    out: list[str] = []
    offset = 0
    while True:
        page = client.get(path, params={**params, "limit": size, "offset": offset}, headers=READ)
        assert page.status_code == 200, page.text
        users = page.json()["users"]
        out += [u["user_id"] for u in users]
        offset += size
        if offset >= page.json()["total"]:
            return out


def _var(r: dict[str, Any]) -> float | None:
    clv, p = _value(r["clv"]), _value(r["churn_probability"])
    return None if clv is None or p is None else clv * p


@pytest.mark.parametrize(
    ("sort", "key", "descending"),
    [
        ("value_at_risk", _var, True),
        ("spend", lambda r: _value(r["total_spend"]), True),
        ("recency", lambda r: _value(r["recency_days"]), False),
        ("churn", lambda r: _value(r["churn_probability"]), True),
    ],
)
def test_the_members_are_the_segment_of_the_profile_table_in_order(
    server: LiveServer, client: httpx.Client, sort: str, key: Any, descending: bool
) -> None:
    client.get("/v1/churn", params={"limit": 1}, headers=READ)  # scores churn once
    expected = _expected_members(server, "At Risk")
    assert expected, "the test shop has At Risk buyers"
    paged = _all_pages(client, "/v1/segments/at risk/members", 7, sort=sort)
    assert paged == _ordered(expected, key, descending)
    # the same rows in the CSV, in the same order
    exported = client.get("/v1/segments/At Risk/members/export", params={"sort": sort},
                          headers=READ)  # fmt: skip
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["user_id"] for r in rows] == paged
    # asc reverses the known values (nulls stay last)
    flipped = client.get("/v1/segments/At Risk/members",
                         params={"sort": sort, "order": "asc" if descending else "desc",
                                 "limit": 1000}, headers=READ).json()["users"]  # fmt: skip
    assert [u["user_id"] for u in flipped] == _ordered(expected, key, not descending)


def test_members_agree_with_the_segment_sizes(client: httpx.Client) -> None:
    sizes = {s["segment"]: s["users"] for s in client.get("/v1/segments", headers=READ).json()}
    for name, size in sizes.items():
        answer = client.get(f"/v1/segments/{name}/members", params={"limit": 1}, headers=READ)
        assert answer.json()["total"] == size, name


def test_the_churn_list_by_value_at_risk_is_the_predictions_order(
    server: LiveServer, client: httpx.Client
) -> None:
    client.get("/v1/churn", params={"limit": 1}, headers=READ)
    stored = _rows(
        server,
        """SELECT user_id, churn_probability, clv FROM user_predictions
        WHERE as_of = (SELECT max(as_of) FROM user_predictions)
          AND churn_probability IS NOT NULL""",
    )
    expected = _ordered(stored, _var, True)
    answer = client.get("/v1/churn", params={"sort": "value_at_risk", "limit": 10_000},
                        headers=READ).json()  # fmt: skip
    assert [u["user_id"] for u in answer["users"]] == expected
    assert answer["buyers"] == len(stored)
    for u in answer["users"][:20]:
        assert u["value_at_risk"] == pytest.approx(u["clv"] * u["churn_probability"])
    exported = client.get("/v1/churn/export", params={"sort": "value_at_risk"}, headers=READ)
    assert [r["user_id"] for r in csv.DictReader(io.StringIO(exported.text))] == expected


def test_the_churn_list_filtered_by_segment(server: LiveServer, client: httpx.Client) -> None:
    members = {r["user_id"] for r in _expected_members(server, "Hibernating")
               if r["churn_probability"] is not None}  # fmt: skip
    answer = client.get("/v1/churn", params={"segment": "hibernating", "limit": 10_000},
                        headers=READ).json()  # fmt: skip
    assert {u["user_id"] for u in answer["users"]} == members
    assert all(u["segment"] == "Hibernating" for u in answer["users"])
    probabilities = [u["churn_probability"] for u in answer["users"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_bad_parameters_are_422s_naming_them(client: httpx.Client) -> None:
    for path, params, field in [
        ("/v1/segments/At Risk/members", {"sort": "name"}, "sort"),
        ("/v1/segments/At Risk/members", {"limit": 0}, "limit"),
        ("/v1/segments/At Risk/members", {"limit": 1001}, "limit"),
        ("/v1/segments/At Risk/members", {"offset": -1}, "offset"),
        ("/v1/segments/At Risk/members", {"order": "up"}, "order"),
        ("/v1/churn", {"sort": "spend"}, "sort"),
        ("/v1/churn/export", {"min_probability": 2}, "min_probability"),
    ]:
        answer = client.get(path, params=params, headers=READ)
        assert answer.status_code == 422, (path, params)
        assert [d["field"] for d in answer.json()["detail"]] == [field], (path, params)
    for path in ("/v1/segments/Whales/members", "/v1/segments/Whales/members/export"):
        answer = client.get(path, headers=READ)
        assert answer.status_code == 422 and "Whales" in answer.json()["detail"]
        assert "At Risk" in answer.json()["hint"]
    unknown = client.get("/v1/churn", params={"segment": "Whales"}, headers=READ)
    assert unknown.status_code == 422 and "Whales" in unknown.json()["detail"]
