"""The REST service against a real uvicorn server and a real DuckDB store.

Covers: keys and roles (401/403), idempotent batch ingestion with per-event rejections, the
online profile and recommendation update after ingestion, hot swap of the model under
concurrent requests with no failure, and erasure with suppression of later events.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from live_server import KEYS, LiveServer, headers

from shopguide.data.datasets.synthetic import SyntheticData
from shopguide.recommend import RecommenderStore
from shopguide.service.schemas import RecommendationsResponse

READ, WRITE, ADMIN = headers("read"), headers("write"), headers("admin")


def _buyer(data: SyntheticData, rank: int = 0) -> str:
    """A user with many purchases (the ``rank``-th most active buyer)."""
    buys = data.events[data.events["event_type"] == "purchase"]
    return str(buys["user_id"].value_counts().index[rank])


def _wait_job(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=READ).json()
        if job["status"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise TimeoutError(job_id)


# --------------------------------------------------------------------------- security


def test_health_needs_no_key_and_names_the_model(client: httpx.Client) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["model"] == "item-knn" and body["version"].startswith("v")


PROTECTED = [
    ("GET", "/v1/users/u000001/profile", None),
    ("GET", "/v1/users/u000001/recommendations", None),
    ("GET", "/v1/items/i00001/similar", None),
    ("GET", "/v1/segments", None),
    ("GET", "/v1/models", None),
    ("GET", "/v1/metrics", None),
    ("POST", "/v1/events", {"events": [{"user_id": "x"}]}),
    ("POST", "/v1/models/item-knn/train", None),
    ("DELETE", "/v1/users/nobody", None),
    ("GET", "/v1/users/nobody/export", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_every_route_but_health_needs_a_key(
    client: httpx.Client, method: str, path: str, body: Any
) -> None:
    missing = client.request(method, path, json=body)
    assert missing.status_code == 401
    assert "X-API-Key" in missing.json()["detail"]
    wrong = client.request(method, path, json=body, headers={"X-API-Key": "not-a-key"})
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "needs"),
    [
        ("POST", "/v1/events", {"events": [{"user_id": "x"}]}, "write"),
        ("POST", "/v1/audiences", {"items": ["i00001"]}, "write"),
        ("POST", "/v1/models/item-knn/train", None, "admin"),
        ("DELETE", "/v1/users/nobody", None, "admin"),
        ("GET", "/v1/users/nobody/export", None, "admin"),
    ],
)
def test_a_lower_role_gets_403(
    client: httpx.Client, method: str, path: str, body: Any, needs: str
) -> None:
    lower = ["read"] if needs == "write" else ["read", "write"]
    for role in lower:
        answer = client.request(method, path, json=body, headers=headers(role))
        assert answer.status_code == 403, (role, answer.text)
        assert needs in answer.json()["detail"]


def test_read_key_reads(client: httpx.Client, shop: tuple[Path, SyntheticData]) -> None:
    user = _buyer(shop[1])
    assert client.get(f"/v1/users/{user}/profile", headers=READ).status_code == 200
    assert client.get("/v1/segments", headers=READ).status_code == 200


def test_logs_hold_no_user_ids(
    client: httpx.Client, shop: tuple[Path, SyntheticData], caplog: pytest.LogCaptureFixture
) -> None:
    user = _buyer(shop[1], 5)
    with caplog.at_level("INFO", logger="shopguide.service.access"):
        client.get(f"/v1/users/{user}/recommendations", headers=READ)
        client.get(f"/v1/users/{user}/profile", headers=READ)
    lines = [r.getMessage() for r in caplog.records if r.name == "shopguide.service.access"]
    assert any("GET /v1/users/{user_id}/recommendations 200" in line for line in lines)
    assert not any(user in line or KEYS["read"] in line for line in lines)


# --------------------------------------------------------------------------- ingestion


def _event(user: str, item: str, kind: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {"user_id": user, "item_id": item, "event_type": kind, "timestamp": ts, **extra}


def test_ingest_is_idempotent_and_rejects_bad_events_one_by_one(client: httpx.Client) -> None:
    batch = [
        _event("api-u1", "i00001", "view", "2024-06-29T10:00:00", event_id="api-e1"),
        _event("api-u1", "i00002", "cart", "2024-06-29T10:01:00"),  # no id: content hash
        _event("api-u1", "i00002", "teleport", "2024-06-29T10:02:00"),
        _event("api-u2", "i00003", "purchase", "yesterday-ish", price=3.5, quantity=1),
        _event("api-u2", "i00003", "purchase", "2024-06-29T11:00:00", price=-2, quantity=1),
    ]
    first = client.post("/v1/events", json={"events": batch}, headers=WRITE)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["received"], body["accepted"], body["rejected"], body["duplicates"]) == (
        5,
        2,
        3,
        0,
    )
    reasons = {r["index"]: r for r in body["rejections"]}
    assert set(reasons) == {2, 3, 4}
    assert reasons[2]["field"] == "event_type" and "teleport" in reasons[2]["reason"]
    assert reasons[3]["field"] == "timestamp"
    assert reasons[4]["field"] == "price"

    again = client.post("/v1/events", json={"events": batch}, headers=WRITE).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 3)
    history = client.get("/v1/users/api-u1/history", headers=READ).json()
    assert sorted(e["event_type"] for e in history) == ["cart", "view"]


def test_batch_level_errors_are_4xx_naming_the_field(client: httpx.Client) -> None:
    cases = [
        ({"events": []}, "events"),
        ({"events": "nope"}, "events"),
        ({"evnts": []}, "evnts"),
        ({"events": [{"user_id": "a", "colour": "red"}]}, "colour"),
        ({"events": [{"user_id": "a", "quantity": float("nan")}]}, "quantity"),
    ]
    for body, field in cases:
        answer = client.post(
            "/v1/events",
            content=httpx.Request("POST", "/", json=body).content
            if "nan" not in str(body)
            else b'{"events": [{"user_id": "a", "quantity": NaN}]}',
            headers={**WRITE, "Content-Type": "application/json"},
        )
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.text
    bad_query = client.get("/v1/users/u1/recommendations?n=0", headers=READ)
    assert bad_query.status_code == 422 and '"n"' in bad_query.text
    inverted = client.get("/v1/users/u1/recommendations?min_price=10&max_price=1", headers=READ)
    assert inverted.status_code == 422 and "min_price" in inverted.text
    assert client.get("/v1/users/no-such-user/profile", headers=READ).status_code == 404
    assert client.get("/v1/items/no-such-item/similar", headers=READ).status_code == 404


def test_online_profile_update_is_visible_in_the_next_read(
    client: httpx.Client, shop: tuple[Path, SyntheticData]
) -> None:
    data = shop[1]
    user = _buyer(data, 3)
    before = client.get(f"/v1/users/{user}/profile", headers=READ).json()
    recs = client.get(f"/v1/users/{user}/recommendations?n=5", headers=READ).json()
    item = recs["items"][0]["item_id"]
    later = (pd.Timestamp(data.events["timestamp"].max()) + pd.Timedelta(hours=1)).isoformat()
    answer = client.post(
        "/v1/events",
        json={"events": [_event(user, item, "purchase", later, quantity=2, price=10.0,
                                order_id="api-order-1", event_id="api-online-1")]},
        headers=WRITE,
    ).json()  # fmt: skip
    assert answer["accepted"] == 1 and answer["profiles_recomputed"] >= 1
    after = client.get(f"/v1/users/{user}/profile", headers=READ).json()
    assert after["behaviour"]["orders"] == before["behaviour"]["orders"] + 1
    assert after["behaviour"]["items_bought"] == before["behaviour"]["items_bought"] + 2
    assert after["as_of"] >= later  # the version moved forward to include the event
    # the item just bought is no longer recommended: the model's input row was updated too
    fresh = client.get(f"/v1/users/{user}/recommendations?n=5", headers=READ).json()
    assert item not in [i["item_id"] for i in fresh["items"]]


def test_new_user_gets_popular_items_then_personal_ones(client: httpx.Client) -> None:
    cold = client.get("/v1/users/brand-new/recommendations?n=3&explain=true", headers=READ)
    assert cold.status_code == 200
    assert cold.json()["strategy"] == "popular"
    assert cold.json()["items"][0]["reason"] == "popular with all shoppers"
    client.post(
        "/v1/events",
        json={"events": [_event("brand-new", "i00010", "purchase", "2024-06-29T12:00:00")]},
        headers=WRITE,
    )
    warm = client.get("/v1/users/brand-new/recommendations?n=3&explain=true", headers=READ).json()
    assert warm["strategy"] == "model"  # item-KNN scores from the user's own items
    assert "i00010" not in [i["item_id"] for i in warm["items"]]


def test_filters_and_explanations(client: httpx.Client, shop: tuple[Path, SyntheticData]) -> None:
    user = _buyer(shop[1], 1)
    recs = client.get(
        f"/v1/users/{user}/recommendations",
        params={"n": 8, "include_category": "Home", "max_price": 40, "explain": True},
        headers=READ,
    ).json()
    assert recs["items"]
    for item in recs["items"]:
        assert item["category"].startswith("Home") and item["price"] <= 40
        assert item["reason"]
    excluded = client.get(
        f"/v1/users/{user}/recommendations",
        params={"n": 20, "exclude_category": ["Home", "Fashion"]},
        headers=READ,
    ).json()
    assert not any(i["category"].split(" > ")[0] in ("Home", "Fashion") for i in excluded["items"])


def test_recommendation_query_rules_and_docs(
    client: httpx.Client, shop: tuple[Path, SyntheticData]
) -> None:
    """The route validates its own query string: same rules as declared parameters, 422 naming
    the field, and the parameters documented in the OpenAPI description."""
    user = _buyer(shop[1], 2)
    url = f"/v1/users/{user}/recommendations"
    for query, field in [("n=abc", "n"), ("n=101", "n"), ("min_price=-1", "min_price"),
                         ("max_price=inf", "max_price"), ("explain=maybe", "explain"),
                         ("max_price=", "max_price")]:  # fmt: skip
        answer = client.get(f"{url}?{query}", headers=READ)
        assert answer.status_code == 422, (query, answer.text)
        detail = answer.json()["detail"]
        assert detail[0]["field"] == field and detail[0]["loc"] == ["query", field]
    too_many = "&".join(f"include_category=c{k}" for k in range(21))
    answer = client.get(f"{url}?{too_many}", headers=READ)
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "include_category"
    # a repeated scalar takes its last value; unknown parameters are ignored
    last = client.get(f"{url}?n=2&n=4&colour=red", headers=READ).json()
    assert len(last["items"]) == 4
    both = client.get(
        url, params={"n": 30, "include_category": ["Home", "Books"]}, headers=READ
    ).json()
    tops = {i["category"].split(" > ")[0] for i in both["items"]}
    assert tops == {"Home", "Books"}
    body = RecommendationsResponse.model_validate_json(
        client.get(f"{url}?explain=1", headers=READ).content
    )
    assert body.user_id == user and len(body.items) == 10 and all(i.reason for i in body.items)
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/users/{user_id}/recommendations"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"user_id", "n", "include_category", "exclude_category",
                           "min_price", "max_price", "explain"}  # fmt: skip
    assert params["n"]["in"] == "query" and params["n"]["schema"]["maximum"] == 100
    assert "RecommendationsResponse" in str(operation["responses"]["200"])


# --------------------------------------------------------------------------- hot swap


def test_hot_swap_under_concurrent_requests(
    client: httpx.Client, server: LiveServer, shop: tuple[Path, SyntheticData]
) -> None:
    data = shop[1]
    users = [_buyer(data, r) for r in range(20)]
    start_version = client.get("/health").json()["version"]
    stop = threading.Event()
    seen: Counter[str] = Counter()
    failures: list[str] = []

    def hammer(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            k = 0
            while not stop.is_set():
                user = users[(worker * 7 + k) % len(users)]
                k += 1
                answer = http.get(f"/v1/users/{user}/recommendations?n=10", headers=READ)
                if answer.status_code != 200 or len(answer.json()["items"]) != 10:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")
                else:
                    seen[answer.json()["version"]] += 1

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(hammer, w) for w in range(6)]
        try:
            time.sleep(1.0)
            # publish through the API (a background job) ...
            job = client.post(
                "/v1/models/item-knn/train", json={"params": {"k": 20}}, headers=ADMIN
            ).json()
            done = _wait_job(client, job["job_id"])
            assert done["status"] == "done", done
            assert done["result"]["serving"] is True
            # ... and from outside the service, straight into the registry (another process's way)
            time.sleep(1.0)
            registry = RecommenderStore.for_store(shop[0])
            loaded = registry.load("item-knn", start_version)
            outside = registry.publish("item-knn", loaded.model, loaded.users, loaded.items,
                                       dict(loaded.meta))  # fmt: skip
            deadline = time.monotonic() + 30
            while client.get("/health").json()["version"] != outside:
                assert time.monotonic() < deadline, "the service did not pick up the new version"
                time.sleep(0.1)
            time.sleep(0.5)
        finally:
            stop.set()
        for f in futures:
            f.result()
    assert not failures, failures[:5]
    assert seen[start_version] > 0 and seen[done["result"]["version"]] > 0 and seen[outside] > 0
    assert sum(seen.values()) > 100
    versions = client.get("/v1/models", headers=READ).json()
    assert {v["version"] for v in versions["versions"]} >= {start_version, outside}
    assert versions["serving"]["version"] == outside


def test_bad_training_parameters_are_422(client: httpx.Client) -> None:
    answer = client.post("/v1/models/item-knn/train", json={"params": {"colour": 3}}, headers=ADMIN)
    assert answer.status_code == 422 and "colour" in answer.text
    assert client.post("/v1/models/gpt/train", headers=ADMIN).status_code == 422


# --------------------------------------------------------------------------- privacy


def test_erase_deletes_everything_and_suppresses_later_events(
    client: httpx.Client, shop: tuple[Path, SyntheticData]
) -> None:
    user = _buyer(shop[1], 10)
    audience = client.post(
        "/v1/audiences", json={"items": ["i00001", "i00002"], "size": 300},
        headers=WRITE,
    ).json()  # fmt: skip
    exported = client.get(f"/v1/users/{user}/export", headers=ADMIN)
    assert exported.status_code == 200
    mine = exported.json()
    assert mine["events"] and mine["profiles"] and mine["users"]
    n_events = len(mine["events"])

    erased = client.delete(f"/v1/users/{user}", headers=ADMIN)
    assert erased.status_code == 200
    deleted = erased.json()["deleted"]
    assert deleted["events"] == n_events and deleted["users"] == 1 and deleted["profiles"] >= 1
    in_audience = user in {u["user_id"] for u in audience["users"]}
    assert deleted["audiences"] == int(in_audience)

    assert client.get(f"/v1/users/{user}/profile", headers=READ).status_code == 404
    assert client.get(f"/v1/users/{user}/recommendations", headers=READ).status_code == 404
    assert client.get(f"/v1/users/{user}/export", headers=ADMIN).status_code == 404
    assert client.get(f"/v1/users/{user}/history", headers=READ).json() == []

    later = client.post(
        "/v1/events",
        json={"events": [_event(user, "i00001", "view", "2024-06-30T00:00:00"),
                         _event("someone-else", "i00001", "view", "2024-06-30T00:00:00")]},
        headers=WRITE,
    ).json()  # fmt: skip
    assert later["accepted"] == 1 and later["rejected"] == 1
    assert later["rejections"] == [
        {"index": 0, "field": "user_id", "value": None, "reason": "user erased"}
    ]
    assert client.get(f"/v1/users/{user}/history", headers=READ).json() == []
    # erasing again is harmless
    assert client.delete(f"/v1/users/{user}", headers=ADMIN).status_code == 200


def test_audience_export_and_metrics(client: httpx.Client) -> None:
    created = client.post(
        "/v1/audiences",
        json={"items": ["i00005"], "categories": ["Toys"], "size": 10, "name": "spring",
              "segments": ["Champions", "Loyal", "At risk"], "exclude_bought_days": 30},
        headers=WRITE,
    )  # fmt: skip
    assert created.status_code == 200, created.text
    body = created.json()
    assert 0 < body["size"] <= 10 and body["expected_lift"] >= 1.0
    assert body["expected_responses"] >= body["random_expected_responses"]
    scores = [u["score"] for u in body["users"]]
    assert scores == sorted(scores, reverse=True)
    assert all(u["reasons"] for u in body["users"])
    segments = {
        u["user_id"]: client.get(f"/v1/users/{u['user_id']}/profile", headers=READ).json()
        for u in body["users"][:3]
    }
    for profile in segments.values():
        assert profile["lifecycle"]["segment"] in ("Champions", "Loyal", "At risk")
    nothing = client.post("/v1/audiences", json={"name": "x"}, headers=WRITE)
    assert nothing.status_code == 422 and "items" in nothing.text
    csv = client.get(f"/v1/audiences/{body['audience_id']}/export", headers=READ)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == "user_id,score,rank,reasons" and len(lines) == body["size"] + 1
    metrics = client.get("/v1/metrics", headers=READ).json()
    route = metrics["routes"]["POST /v1/audiences"]
    assert route["requests"] >= 1 and route["server_errors"] == 0
